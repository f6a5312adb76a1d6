/* test_threads.c: the default thread count, the cores the process may use:
 * the cgroup quota's text read (v2's cpu.max, v1's CFS files), `charrnn info`
 * saying the count and where it came from, taskset respected, OMP_NUM_THREADS
 * keeping its say and --threads beating it, as before. */
#include "test.h"
#include "threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_cgroup_quota_text(void) {
    static const struct { const char *text; int cap; } v2[] = {
        {"max 100000", 0}, {"max 100000\n", 0}, {"150000 100000", 2}, {"150000 100000\n", 2}, {"50000 100000", 1},
        {"100000 100000", 1}, {"400000 100000\n", 4}, {"100001 100000", 2}, {"", 0}, {"garbage", 0}, {"150000", 0},
        {"150000 0", 0}, {"0 100000", 0}, {"-1 100000", 0}, {"150000 100000 7", 0}, {"1.5 1", 0},
        {"99999999999999999999999 1", 0},
    };
    for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++)
        CHECKF(threads_cpu_max_cap(v2[i].text) == v2[i].cap, "cpu.max \"%s\": %d, expected %d", v2[i].text,
               threads_cpu_max_cap(v2[i].text), v2[i].cap);
    CHECK(threads_cpu_max_cap(NULL) == 0);
    static const struct { const char *quota, *period; int cap; } v1[] = {
        {"-1\n", "100000\n", 0}, {"150000\n", "100000\n", 2}, {"50000", "100000", 1}, {"x", "100000", 0},
        {"200000", "", 0}, {"", "", 0},
    };
    for (size_t i = 0; i < sizeof v1 / sizeof v1[0]; i++)
        CHECKF(threads_cfs_cap(v1[i].quota, v1[i].period) == v1[i].cap, "cfs quota \"%s\" period \"%s\"", v1[i].quota,
               v1[i].period);
    int affinity, quota;
    int n = threads_usable(&affinity, &quota);
    CHECK(affinity >= 1 && quota >= 0 && n >= 1 && n <= affinity && (quota == 0 || n <= quota));
}

/* `charrnn info`'s processor line: the count and where it came from. */
static char *processor_line(const char *env, const char *args) {
    char *out = NULL, *err = NULL;
    char *cmd = t_fmt("env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS %s '%s' info %s", env, t_bin(), args);
    int rc = t_run(cmd, &out, &err);
    CHECKF(rc == 0, "%s: exit %d: %s", cmd, rc, err);
    free(cmd);
    free(err);
    char *line = out ? strstr(out, "processor:") : NULL;
    char *r = line ? t_fmt("%.*s", (int)strcspn(line, "\n"), line) : t_fmt("%s", "");
    free(out);
    return r;
}

static void test_default_threads(void) {
    int affinity, quota;
    threads_usable(&affinity, &quota); /* this test process's, as the command's */
    char *want = quota > 0 ? t_fmt("(affinity %d, cgroup quota %d)", affinity, quota)
                           : t_fmt("(affinity %d, cgroup quota none)", affinity);
    int n = quota > 0 && quota < affinity ? quota : affinity;
    char *count = t_fmt("; %d thread%s %s", n, n == 1 ? "" : "s", want);
    char *line = processor_line("", "");
    CHECKF(strstr(line, count), "the default: expected \"%s\" in %s", count, line);
    free(line);
    /* OMP_NUM_THREADS keeps its say when --threads is not given, and --threads beats it, as before */
    line = processor_line("OMP_NUM_THREADS=1", "");
    CHECKF(strstr(line, "; 1 thread (OMP_NUM_THREADS; usable: affinity"), "%s", line);
    free(line);
    line = processor_line("OMP_NUM_THREADS=1", "--threads 2");
    CHECKF(strstr(line, "; 2 threads (as asked; usable: affinity"), "%s", line);
    free(line);
    free(want);
    free(count);
}

/* taskset: one CPU, one thread */
static void test_default_threads_taskset(void) {
    if (system("taskset -c 0 true >/dev/null 2>&1") != 0) {
        t_skip("taskset is not installed (or cannot pin to CPU 0)");
        return;
    }
    char *line = processor_line("taskset -c 0", "");
    CHECKF(strstr(line, "; 1 thread (affinity 1, cgroup quota "), "under taskset -c 0: %s", line);
    free(line);
}

void register_threads_tests(void) {
    t_register("threads_cgroup_quota_text", test_cgroup_quota_text);
    t_register("threads_default", test_default_threads);
    t_register("threads_default_taskset", test_default_threads_taskset);
}
