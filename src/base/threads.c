/* threads.c: thread counts. The default, decided here once: the cores this
 * process may use (its CPU affinity, capped by its cgroup's CPU quota), unless
 * OMP_NUM_THREADS or OPENBLAS_NUM_THREADS chose. OpenMP's count (nthreads-var)
 * belongs to the calling thread, and OpenBLAS's OpenMP build follows it at
 * every call, so a per-handle count set on entry and restored on exit touches
 * nobody else. OpenBLAS's pthreads build keeps one process-wide count: it is
 * set and restored too, but a BLAS call made by another thread during ours sees
 * our count (documented). */
#include "threads.h"
#include "charrnn.h"

#include <cblas.h>
#include <ctype.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS's own API (cblas.h declares it): 0 sequential, 1 pthreads, 2 OpenMP. */
static int blas_is_openmp(void) { return openblas_get_parallel() == 2; }

/* ---- the cores this process may use --------------------------------------------- */

/* A whole number of decimal digits at *s (moved past it), at most 18 of them; -1 if none. */
static long long digits(const char **s) {
    long long v = 0;
    int n = 0;
    for (; isdigit((unsigned char)**s); (*s)++)
        if (++n > 18) return -1;
        else v = 10 * v + (**s - '0');
    return n ? v : -1;
}

static int only_space(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    return !*s;
}

/* ceil(quota / period), 0 (no cap) where either is not positive */
static int cap_of(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return 0;
    long long n = quota / period + (quota % period != 0);
    return n > 1000000 ? 1000000 : (int)n;
}

int threads_cpu_max_cap(const char *text) {
    if (!text) return 0;
    long long q = digits(&text);
    if (q < 0 || *text++ != ' ') return 0; /* "max PERIOD": no quota; anything else: not understood */
    long long p = digits(&text);
    return p > 0 && only_space(text) ? cap_of(q, p) : 0;
}

int threads_cfs_cap(const char *quota, const char *period) {
    if (!quota || !period) return 0;
    while (isspace((unsigned char)*quota)) quota++;
    while (isspace((unsigned char)*period)) period++;
    long long q = digits(&quota), p = digits(&period); /* "-1": no quota */
    return q > 0 && p > 0 && only_space(quota) && only_space(period) ? cap_of(q, p) : 0;
}

/* A small file's text into buf ("" where it cannot be read). */
static const char *slurp(const char *dir, const char *name, char *buf, size_t cap) {
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf[0] = 0;
    FILE *f = fopen(path, "re");
    if (!f) return buf;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* The smallest cap of the group at root + path and every group above it up to
 * root (a parent's quota limits its children too); 0: none. */
static int walk_up(const char *root, const char *path, int v2) {
    char dir[4200], a[128], b[128];
    const size_t rootlen = strlen(root);
    snprintf(dir, sizeof dir, "%s%s", root, strcmp(path, "/") ? path : "");
    int best = 0;
    for (;;) {
        int c = v2 ? threads_cpu_max_cap(slurp(dir, "cpu.max", a, sizeof a))
                   : threads_cfs_cap(slurp(dir, "cpu.cfs_quota_us", a, sizeof a), slurp(dir, "cpu.cfs_period_us", b, sizeof b));
        if (c > 0 && (best == 0 || c < best)) best = c;
        char *slash = strrchr(dir + rootlen, '/');
        if (!slash) break;
        *slash = 0;
    }
    return best;
}

/* The cap the process's cgroups put on it: v2's cpu.max, or v1's CFS quota, in
 * the group /proc/self/cgroup names and those above it; 0: none. */
static int cgroup_cap(void) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return 0;
    char line[4096];
    int best = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/') continue;
        *c2 = 0; /* line: the hierarchy's number, c1 + 1: its controllers, c2 + 1: the group */
        int cap = 0;
        if (!strcmp(line, "0") && !c1[1]) {
            cap = walk_up("/sys/fs/cgroup", c2 + 1, 1);
        } else {
            int cpu = 0; /* the v1 hierarchy with the cpu controller, mounted under one of its usual names */
            char *save = NULL;
            for (char *tok = strtok_r(c1 + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) cpu |= !strcmp(tok, "cpu");
            const char *mounts[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct,cpu"};
            for (int i = 0; cpu && i < 3 && !cap; i++) cap = walk_up(mounts[i], c2 + 1, 0);
        }
        if (cap > 0 && (best == 0 || cap < best)) best = cap;
    }
    fclose(f);
    return best;
}

static int usable_affinity, usable_quota;
static pthread_once_t usable_once = PTHREAD_ONCE_INIT;

static void decide_usable(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    usable_affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (usable_affinity < 1) { /* more CPUs than a cpu_set_t holds, or no answer */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        usable_affinity = n > 0 ? (int)n : 1;
    }
    usable_quota = cgroup_cap();
}

int threads_usable(int *affinity, int *quota) {
    pthread_once(&usable_once, decide_usable);
    if (affinity) *affinity = usable_affinity;
    if (quota) *quota = usable_quota;
    int n = usable_quota > 0 && usable_quota < usable_affinity ? usable_quota : usable_affinity;
    return n < 1 ? 1 : n;
}

/* Where the process's count came from: not yet decided here, charrnn_set_threads(n > 0),
 * the usable cores, or an environment variable that OpenMP and OpenBLAS read. */
enum { FROM_LIBRARIES, FROM_CALLER, FROM_CORES, FROM_OMP_ENV, FROM_BLAS_ENV };
static atomic_int threads_from = FROM_LIBRARIES;

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

int charrnn_default_threads(void) {
    if (env_set("OMP_NUM_THREADS") || env_set("OPENBLAS_NUM_THREADS")) return charrnn_get_threads();
    return threads_usable(NULL, NULL);
}

void charrnn_set_threads(int n) {
    if (n < 0) return;
    if (n == 0) { /* the default: the environment's choice stays, else the usable cores */
        if (env_set("OMP_NUM_THREADS") || env_set("OPENBLAS_NUM_THREADS")) {
            atomic_store(&threads_from, env_set("OMP_NUM_THREADS") ? FROM_OMP_ENV : FROM_BLAS_ENV);
            return;
        }
        n = threads_usable(NULL, NULL);
        atomic_store(&threads_from, FROM_CORES);
    } else {
        atomic_store(&threads_from, FROM_CALLER);
    }
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

const char *threads_origin(char *out, size_t cap) {
    int affinity, quota;
    threads_usable(&affinity, &quota);
    char q[32] = "none";
    if (quota > 0) snprintf(q, sizeof q, "%d", quota);
    static const char *const how[] = {"OpenMP's own count; usable: ", "as asked; usable: ", "", "OMP_NUM_THREADS; usable: ",
                                      "OPENBLAS_NUM_THREADS; usable: "};
    snprintf(out, cap, "%saffinity %d, cgroup quota %s", how[atomic_load(&threads_from)], affinity, q);
    return out;
}

int charrnn_get_threads(void) {
#ifdef _OPENMP
    if (blas_is_openmp()) return omp_get_max_threads();
#endif
    return openblas_get_num_threads();
}

void threads_enter(thread_scope *s, int n) {
    s->active = n > 0;
    if (!s->active) return;
#ifdef _OPENMP
    s->omp = omp_get_max_threads();
    omp_set_num_threads(n);
#endif
    s->blas = openblas_get_num_threads();
    if (!blas_is_openmp()) openblas_set_num_threads(n);
}

void threads_leave(const thread_scope *s) {
    if (!s->active) return;
#ifdef _OPENMP
    omp_set_num_threads(s->omp);
#endif
    if (!blas_is_openmp()) openblas_set_num_threads(s->blas);
}

/* Debian 12's OpenBLAS (0.3.21) takes processors newer than it (Intel's Emerald
 * Rapids, model 207, for one) for a Pentium 4 ("Prescott") and runs SSE3
 * kernels: float32 products 3x slower. The core it should use, for the caller
 * to set OPENBLAS_CORETYPE before OpenBLAS loads; NULL when there is nothing
 * to fix (or OPENBLAS_CORETYPE is already set). */
const char *charrnn_blas_core_hint(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott")) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}
