/* test_build.c: a first build that cannot go wrong. scripts/build-config.sh,
 * which every object of the Makefile depends on, stops a build without a
 * compiler, without OpenBLAS's cblas.h, or with another library's cblas.h
 * (whose missing openblas_* declarations would compile to calls through a
 * truncated int), with one line naming what to install; where everything is
 * there it writes the configuration, and rewrites it (rebuilding every
 * object) only when the compiler, flags, libraries or header change. The
 * Makefile's warning flags make an implicit declaration an error. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LIBS "-lopenblas"

/* Runs the script with CC and CPPFLAGS into OUT; the exit status, stderr in *err. */
static int config(const char *cc, const char *cppflags, const char *flags, const char *out, char **err) {
    char *cmd = t_fmt("CC='%s' CPPFLAGS='%s' FLAGS='%s' LIBS='%s' sh scripts/build-config.sh '%s'", cc, cppflags, flags,
                      LIBS, out);
    int rc = t_run(cmd, NULL, err);
    free(cmd);
    return rc;
}

static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_build_config_refuses(void) {
    const char *fake = t_path("fakeblas");
    mkdir(fake, 0755);
    char *hdr = t_fmt("%s/cblas.h", fake);
    CHECK(t_write_file(hdr, "void cblas_sgemm(void);\n", 24) == 0);
    const char *out = t_path("build-config.txt");
    struct { const char *cc, *cppflags, *says; } bad[] = {
        {"no-such-compiler-cc", "-Iinclude", "compiler 'no-such-compiler-cc' is not installed"},
        {"cc -nostdinc", "-Iinclude", "cblas.h is missing"},
        {"cc", NULL, "is not OpenBLAS's cblas.h"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *cpp = bad[i].cppflags ? strdup(bad[i].cppflags) : t_fmt("-I%s", fake);
        char *e = NULL;
        remove(out);
        int rc = config(bad[i].cc, cpp, "-O2", out, &e);
        struct stat st;
        CHECKF(rc == 1 && strstr(e, bad[i].says) && strstr(e, "scripts/install-deps.sh") && lines(e) == 1 &&
               !strncmp(e, "charrnn: cannot build: ", 23), "%s: rc %d: %s", bad[i].says, rc, e);
        CHECKF(stat(out, &st) != 0, "%s: the configuration was written", bad[i].says);
        free(e);
        free(cpp);
    }
    free(hdr);
}

static void test_build_config_changes(void) {
    const char *out = t_path("build-config2.txt");
    char *e = NULL;
    remove(out);
    CHECKF(config("cc", "-Iinclude", "-O2", out, &e) == 0, "a working configuration: %s", e);
    free(e);
    char *first = t_read_file(out, NULL);
    CHECKF(first && strstr(first, "cblas.h: /") && strstr(first, "-O2"), "the configuration names the header: %s", first);
    struct stat a, b;
    CHECK(stat(out, &a) == 0);
    /* the same configuration leaves the file as it was (its time too): nothing is rebuilt */
    char *cmd = t_fmt("touch -d '2001-01-01' '%s'", out);
    CHECK(t_run(cmd, NULL, NULL) == 0);
    free(cmd);
    CHECK(stat(out, &a) == 0);
    CHECK(config("cc", "-Iinclude", "-O2", out, &e) == 0);
    free(e);
    CHECK(stat(out, &b) == 0);
    CHECKF(a.st_mtime == b.st_mtime, "an unchanged configuration was rewritten");
    /* other flags: rewritten, so every object is rebuilt */
    CHECK(config("cc", "-Iinclude", "-O1 -g", out, &e) == 0);
    free(e);
    CHECK(stat(out, &b) == 0);
    char *second = t_read_file(out, NULL);
    CHECKF(b.st_mtime != a.st_mtime && second && strstr(second, "-O1 -g"), "changed flags: %s", second);
    free(first);
    free(second);
}

/* The flags every C object of the Makefile is compiled with make an implicit declaration an error. */
static void test_build_implicit_declaration(void) {
    char *o = NULL;
    int rc = t_run("make -s -p -n -f Makefile charrnn 2>/dev/null | grep '^WFLAGS'", &o, NULL);
    CHECKF(rc == 0 && strstr(o, "-Werror=implicit-function-declaration"), "WFLAGS: %s", o);
    free(o);
}

/* The configuration is the same whichever object asks for it first (a flag set for one object, such
 * as compress.o's, must not reach it): `make OBJECT` for any one object neither rewrites it, rebuilding
 * everything, nor breaks the header check with that object's flags. */
static void test_build_config_same_for_every_object(void) {
    char *o = NULL;
    int rc = t_run("objs=$(make -s -p -n -f Makefile charrnn 2>/dev/null | sed -n 's/^\\(LIB\\|CLI\\|TEST\\)_OBJ := //p'); "
                   "[ -n \"$objs\" ] || exit 1; for obj in $objs; do make -s -n -f Makefile \"$obj\" 2>/dev/null | "
                   "grep -B1 build-config.sh; done | sort -u", &o, NULL);
    CHECKF(rc == 0 && lines(o) == 2, "the configuration's recipe differs between objects: %s", o);
    free(o);
}

void register_build_tests(void) {
    t_register("build_config_refuses", test_build_config_refuses);
    t_register("build_config_changes", test_build_config_changes);
    t_register("build_implicit_declaration", test_build_implicit_declaration);
    t_register("build_config_same_for_every_object", test_build_config_same_for_every_object);
}
