/* test_python.c: the Python binding (python/charrnn.py) against the library of this build: runs
 * tests/python_binding.py with CHARRNN_LIBRARY set to the build's libcharrnn.so.0 and the command under
 * test. A sanitized library is loaded into python3 with its ASan runtime preloaded (python3 is not built
 * with ASan, and the runtime must come first); leak checking is off there, since the interpreter keeps
 * memory to its exit by design. Skipped, named, where python3 is not installed. */
#include "test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_python_binding(void) {
    char *out = NULL, *err = NULL;
    int rc = t_run("command -v python3", &out, &err);
    free(out);
    free(err);
    if (rc != 0) { t_skip("python3 not installed: the Python binding's tests did not run"); return; }
    const char *build = getenv("CHARRNN_BUILD");
    char lib[PATH_MAX], bin[PATH_MAX];
    char *rel = t_fmt("%s/libcharrnn.so.0", build ? build : "build/release");
    int found = realpath(rel, lib) != NULL;
    CHECKF(found, "%s is not there (make test builds it)", rel);
    free(rel);
    if (!found) return;
    if (!realpath(t_bin(), bin)) snprintf(bin, sizeof bin, "%s", t_bin());
    char *cmd = t_fmt("pre=$(ldd '%s' | awk '/libasan/ {print $3}'); "
                      "if [ -n \"$pre\" ]; then export LD_PRELOAD=\"$pre\" ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\"; fi; "
                      "CHARRNN_LIBRARY='%s' python3 tests/python_binding.py '%s' 2>&1",
                      lib, lib, bin);
    rc = t_run(cmd, &out, &err);
    free(cmd);
    const char *tail = out ? strstr(out, " passed, ") : NULL;
    int ok = rc == 0 && tail && strstr(tail, " 0 failed");
    /* what went wrong: the failed checks, one line each, else the end of the output (a traceback) */
    char *fails = t_fmt("%s", "");
    size_t n = out ? strlen(out) : 0;
    const char *end = out && n > 2000 ? out + n - 2000 : out ? out : "";
    for (const char *line = out; !ok && line && *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        if (!strncmp(line, "FAIL", 4)) {
            char *more = t_fmt("%s\n    %.*s", fails, len, line);
            free(fails);
            fails = more;
        }
        line = nl ? nl + 1 : NULL;
    }
    CHECKF(ok, "tests/python_binding.py: exit %d%s%s", rc, *fails ? fails : "\n", *fails ? "" : end);
    free(fails);
    free(out);
    free(err);
}

void register_python_tests(void) { t_register("python_binding", test_python_binding); }
