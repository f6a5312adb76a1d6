/* test_build.c: a first build that cannot go wrong. scripts/build-config.sh,
 * which every object of the Makefile depends on, stops a build without a
 * compiler, without OpenBLAS's cblas.h, or with another library's cblas.h
 * (whose missing openblas_* declarations would compile to calls through a
 * truncated int), with one line naming what to install; where everything is
 * there it writes the configuration, and rewrites it (rebuilding every
 * object) only when the compiler, flags, libraries or header change. The
 * Makefile's warning flags make an implicit declaration an error. The archive
 * that is installed, libcharrnn.a, defines only public charrnn_* symbols: a
 * program with its own json_parse, model_forward or utf8_decode links with it,
 * and the library still calls its own. */
#include "test.h"
#include "charrnn.h"

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

/* The line "KEY: VALUE" of the build's config.txt, malloc'd (NULL if none). */
static char *config_line(const char *text, const char *key) {
    char *k = t_fmt("\n%s: ", key), *all = t_fmt("\n%s", text), *p = strstr(all, k);
    char *v = NULL;
    if (p) {
        p += strlen(k);
        v = t_fmt("%.*s", (int)strcspn(p, "\n"), p);
    }
    free(k);
    free(all);
    return v;
}

static void test_build_archive_only_public(void) {
    const char *build = getenv("CHARRNN_BUILD");
    if (!build) build = "build/release";
    char *cmd = t_fmt("nm -g --defined-only '%s/libcharrnn.a'", build), *out = NULL, *err = NULL;
    int rc = t_run(cmd, &out, &err), pub = 0;
    free(cmd);
    if (!CHECKF(rc == 0, "nm %s/libcharrnn.a (make test builds it): %s", build, err)) goto out;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char addr[64], type[8], name[256];
        if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3) continue;
        if (!strncmp(name, "charrnn_", 8)) pub++;
        else CHECKF(0, "libcharrnn.a defines the global %s (%s): only charrnn_* may be", name, type);
    }
    CHECKF(pub > 100, "libcharrnn.a defines only %d charrnn_* symbols", pub);
    free(out);
    free(err);
    out = err = NULL;
    /* a program of its own with the library's internal names, linked as the build links */
    char *conf_path = t_fmt("%s/config.txt", build), *conf = t_read_file(conf_path, NULL);
    free(conf_path);
    char *cc = conf ? config_line(conf, "cc") : NULL, *flags = conf ? config_line(conf, "flags") : NULL,
         *libs = conf ? config_line(conf, "libs") : NULL;
    if (CHECKF(cc && flags && libs, "%s/config.txt lacks cc, flags or libs", build)) {
        const char *prog = "#include \"charrnn.h\"\n#include <stdio.h>\n#include <string.h>\n"
                           "int json_parse(void) { return 1; }\nint model_forward(void) { return 2; }\n"
                           "int utf8_decode(void) { return 3; }\nint st_open(void) { return 4; }\n"
                           "int main(void) {\n    uint32_t cp = 0; char buf[CHARRNN_NUM_LEN];\n"
                           "    int n = charrnn_utf8_decode(\"\\xc3\\xa9\", 2, &cp);\n"
                           "    printf(\"%s %d %x %s\\n\", charrnn_version(), n, (unsigned)cp, charrnn_num(0.5, buf));\n"
                           "    return json_parse() + model_forward() + utf8_decode() + st_open() != 10;\n}\n";
        t_write_file(t_path("own_names.c"), prog, strlen(prog));
        cmd = t_fmt("%s %s '%s' '%s/libcharrnn.a' %s -o '%s' && '%s'", cc, flags, t_path("own_names.c"), build, libs,
                    t_path("own_names"), t_path("own_names"));
        rc = t_run(cmd, &out, &err);
        free(cmd);
        char *want = t_fmt("%s 2 e9 0.5\n", charrnn_version());
        CHECKF(rc == 0 && !strcmp(out, want), "a program with the library's internal names: exit %d, '%s' (want '%s'): %s",
               rc, out, want, err);
        free(want);
    }
    free(cc);
    free(flags);
    free(libs);
    free(conf);
out:
    free(out);
    free(err);
}

void register_build_tests(void) {
    t_register("build_archive_only_public", test_build_archive_only_public);
    t_register("build_config_refuses", test_build_config_refuses);
    t_register("build_config_changes", test_build_config_changes);
    t_register("build_implicit_declaration", test_build_implicit_declaration);
    t_register("build_config_same_for_every_object", test_build_config_same_for_every_object);
}
