/* test_recipes.c: the recipes (the scripts in recipes/, table.sh among them) with the charrnn under test: runs
 * tests/recipes.sh, which makes its own tiny corpus, runs one recipe end to end on the CPU in a few
 * seconds, checks its table row, the errors of a bad RECIPE_DEVICE and of a run kept from another split,
 * and the model sizes and devices of every recipe's dry run with a stand-in charrnn that has a GPU and
 * one that has none. Needs no corpus from recipes/data and no GPU. */
#include "test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_recipes(void) {
    char bin[PATH_MAX];
    if (!realpath(t_bin(), bin)) snprintf(bin, sizeof bin, "%s", t_bin());
    char *out = NULL, *err = NULL;
    char *cmd = t_fmt("sh tests/recipes.sh '%s' 2>&1", bin);
    int rc = t_run(cmd, &out, &err);
    free(cmd);
    const char *tail = out ? strstr(out, " passed, ") : NULL;
    int ok = rc == 0 && tail && strstr(tail, " 0 failed");
    /* what went wrong: the failed checks, else the end of the output */
    char *fails = t_fmt("%s", "");
    for (const char *line = out; !ok && line && *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        if (!strncmp(line, "FAIL", 4)) {
            char *more = t_fmt("%s\n    %.*s", fails, len > 3000 ? 3000 : len, line);
            free(fails);
            fails = more;
        }
        line = nl ? nl + 1 : NULL;
    }
    size_t n = out ? strlen(out) : 0;
    const char *end = out && n > 2000 ? out + n - 2000 : out ? out : "";
    CHECKF(ok, "tests/recipes.sh: exit %d%s%s", rc, *fails ? fails : "\n", *fails ? "" : end);
    free(fails);
    free(out);
    free(err);
}

void register_recipes_tests(void) { t_register("recipes", test_recipes); }
