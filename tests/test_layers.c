/* test_layers.c: the house stays one-way. Every source file has a layer (the
 * table below, from the helpers at the bottom to the command at the top); a
 * file may include the headers of, and call the functions of, files in lower
 * layers only (files of one module, such as the viz pages, may use each other).
 * Two checks: the #include "..." lines of every file, and the symbols every
 * compiled object file uses (nm), which also catches a call made upward through
 * the public header charrnn.h, which everything may include for its types.
 * And the wall at charrnn.h: the command (cli/) calls only the public charrnn_*
 * functions and the small base layer it links by name (libcharrnn_base.a), and
 * it runs linked against the shared library, which exports nothing else. */
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *file; int layer; const char *module; } LAYERS[] = {
    /* src/base: the bottom helpers, then errors and allocation on strict UTF-8, then files and the coder, then formats */
    {"src/base/threads", 0, NULL}, {"src/base/rng", 0, NULL}, {"src/base/utf8", 0, NULL}, {"src/base/dist", 0, NULL},
    {"src/base/common", 1, NULL},
    {"src/base/files", 2, NULL}, {"src/base/arith", 2, NULL},
    {"src/base/json", 3, NULL}, {"src/base/cpu", 3, NULL},
    {"src/base/safetensors", 4, NULL},
    {"src/base/sealed", 5, NULL},
    /* src/data: the table of mapped corpora; the corpus and its vocabulary; its token cache; the loss frame; the suffix automaton */
    {"src/data/mapped", 2, NULL},
    {"src/data/data", 3, NULL}, {"src/data/sam", 3, NULL},
    {"src/data/tokcache", 4, NULL}, {"src/data/score", 4, NULL},
    /* src/backend: the CPU's kernels (products, the cells' elementwise math) */
    {"src/backend/half", 0, NULL}, {"src/backend/bf16", 0, NULL},
    /* the dropout masks' generator (Philox4x32-10), shared by the CPU and the GPU */
    {"src/backend/philox", 1, NULL},
    {"src/backend/cells", 0, "cells"}, {"src/backend/cells_dispatch", 0, "cells"},
    /* src/nn: the limits and the optimizers, which the backends' table names */
    {"src/nn/optim_rules", 0, NULL}, {"src/nn/optim", 4, NULL}, {"src/nn/defaults", 4, NULL},
    /* src/backend: the seam (the network as backends see it, the table of operations), then the CPU backend */
    {"src/backend/backend", 5, NULL},
    {"src/backend/cpu_backend", 6, "cpu"}, {"src/backend/cpu_passes", 6, "cpu"},
    /* src/backend/cuda (make CUDA=1): the CUDA backend, its kernels (C++ through nvcc) and its table in C */
    {"src/backend/cuda/cuda_backend", 6, "cuda"}, {"src/backend/cuda/cuda_table", 6, "cuda"},
    {"src/backend/cuda/cuda_info", 6, "cuda"},
    /* src/nn: the network (its description and its face), then what runs it over a corpus */
    {"src/nn/model", 7, NULL},
    {"src/nn/loss", 8, NULL}, {"src/nn/adapt", 8, NULL}, {"src/nn/precision", 8, NULL},
    /* src/baseline: the n-gram baseline: counts, no network */
    {"src/baseline/ngram", 6, "ngram"}, {"src/baseline/ngram_prob", 6, "ngram"}, {"src/baseline/ngram_file", 6, "ngram"},
    /* src/run: the model handle, files, runs */
    {"src/run/handle", 9, NULL},
    {"src/run/checkpoint", 10, NULL},
    {"src/run/train", 11, NULL}, {"src/run/sample", 11, NULL}, {"src/run/evaluate", 11, NULL}, {"src/run/compress", 11, NULL},
    /* the public face: declarations only, included everywhere for its types */
    {"include/charrnn", 12, NULL},
    /* the command */
    {"cli/options", 13, NULL}, {"cli/progress", 13, NULL}, {"cli/signals", 13, NULL},
    {"cli/cli", 14, NULL},
    {"cli/rundir", 15, NULL}, {"cli/runlog", 15, NULL},
    {"cli/default_corpus", 16, NULL}, {"cli/viz", 16, "viz"}, {"cli/viz_props", 16, "viz"}, {"cli/viz_html", 16, "viz"},
    {"cli/viz_play", 16, "viz"},
    /* train.jsonl's writer and reader: its sample lines are JSON in pure ASCII, as the pages write it (viz_html) */
    {"cli/viz_report", 16, "viz"},
    /* `charrnn serve`: request bodies and the batch scheduler, then the HTTP face (which writes viz pages) and the command */
    {"cli/serve", 16, "serve"}, {"cli/serve_request", 16, "serve"}, {"cli/serve_sched", 16, "serve"}, {"cli/serve_http", 17, "serve"},
    {"cli/cmd_serve", 17, "serve"},
    {"cli/cmd_train", 17, NULL}, {"cli/cmd_sample", 17, NULL}, {"cli/cmd_eval", 17, NULL}, {"cli/cmd_compress", 17, NULL},
    {"cli/cmd_ngram", 17, NULL}, {"cli/novelty", 17, NULL},
    {"cli/main", 18, NULL},
};
/* The floors of src/, bottom first; each folder's README.md says what lives there and what it may call. */
static const char *FLOORS[] = {"src/base", "src/data", "src/backend", "src/nn", "src/baseline", "src/run"};
#define NUM_FLOORS (int)(sizeof FLOORS / sizeof FLOORS[0])
/* a floor's own folders (on the include path of the builds that compile them) */
static const char *SUBFOLDERS[] = {"src/backend/cuda"};
#define NUM_SUB (int)(sizeof SUBFOLDERS / sizeof SUBFOLDERS[0])
#define NUM_LAYERS (int)(sizeof LAYERS / sizeof LAYERS[0])

static int find(const char *key) {
    for (int i = 0; i < NUM_LAYERS; i++)
        if (!strcmp(LAYERS[i].file, key)) return i;
    return -1;
}

/* May file a use file b? Lower layers, itself, its own module; everyone may use
 * the public header's declarations (calls are checked by the symbol test). */
static int allowed(int a, int b) {
    if (a == b || !strcmp(LAYERS[b].file, "include/charrnn")) return 1;
    if (LAYERS[a].module && LAYERS[b].module && !strcmp(LAYERS[a].module, LAYERS[b].module)) return 1;
    return LAYERS[b].layer < LAYERS[a].layer;
}

/* "src/x.c" -> "src/x" */
static void key_of(const char *dir, const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s/%.*s", dir, (int)(strrchr(name, '.') - name), name);
}

/* The file a quoted include names, as seen from dir: the same directory first,
 * then include/ and the floors of src/ (the compiler's -I order). */
static int resolve_include(const char *dir, const char *hdr, char *out, size_t cap) {
    const char *dirs[2 + NUM_FLOORS + NUM_SUB] = {dir, "include"};
    for (int i = 0; i < NUM_FLOORS; i++) dirs[2 + i] = FLOORS[i];
    for (int i = 0; i < NUM_SUB; i++) dirs[2 + NUM_FLOORS + i] = SUBFOLDERS[i];
    for (int i = 0; i < 2 + NUM_FLOORS + NUM_SUB; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dirs[i], hdr);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            key_of(dirs[i], hdr, out, cap);
            return 0;
        }
    }
    return -1;
}

static void test_includes_point_down(void) {
    const char *dirs[2 + NUM_FLOORS + NUM_SUB] = {"cli", "include"};
    for (int i = 0; i < NUM_FLOORS; i++) dirs[2 + i] = FLOORS[i];
    for (int i = 0; i < NUM_SUB; i++) dirs[2 + NUM_FLOORS + i] = SUBFOLDERS[i];
    int files = 0;
    for (int d = 0; d < 2 + NUM_FLOORS + NUM_SUB; d++) {
        DIR *dp = opendir(dirs[d]);
        if (!CHECKF(dp, "cannot list %s (run from the repository root)", dirs[d])) return;
        struct dirent *e;
        while ((e = readdir(dp))) {
            size_t n = strlen(e->d_name);
            if (n < 3 || (strcmp(e->d_name + n - 2, ".c") && strcmp(e->d_name + n - 2, ".h") &&
                          strcmp(e->d_name + n - 3, ".cu")))
                continue;
            char key[256], path[512];
            key_of(dirs[d], e->d_name, key, sizeof key);
            int me = find(key);
            CHECKF(me >= 0, "%s/%s has no layer in tests/test_layers.c: give it one", dirs[d], e->d_name);
            if (me < 0) continue;
            files++;
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            char *text = t_read_file(path, NULL);
            for (char *p = text; p && (p = strstr(p, "#include \"")); p++) {
                char hdr[128];
                if (sscanf(p, "#include \"%127[^\"]\"", hdr) != 1) continue;
                char target[256];
                if (resolve_include(dirs[d], hdr, target, sizeof target)) continue;
                int t = find(target);
                CHECKF(t >= 0 && allowed(me, t), "%s includes \"%s\" (%s, layer %d) from layer %d: an include pointing up",
                       path, hdr, target, t >= 0 ? LAYERS[t].layer : -1, LAYERS[me].layer);
            }
            free(text);
        }
        closedir(dp);
    }
    CHECKF(files > 30, "only %d files checked", files);
}

/* Symbols: name -> the object file that defines it. */
typedef struct { char name[128]; int owner; } sym;

static int read_syms(const char *cmd, sym **out, int *n, int *cap, int owner) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        /* "ADDRESS TYPE NAME" or "TYPE NAME": the name is the last word */
        char *name = NULL;
        for (char *t = strtok(line, " \t\n"); t; t = strtok(NULL, " \t\n")) name = t;
        if (!name) continue;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 1024;
            *out = realloc(*out, sizeof **out * (size_t)*cap);
        }
        snprintf((*out)[*n].name, sizeof (*out)[*n].name, "%s", name);
        (*out)[*n].owner = owner;
        (*n)++;
    }
    return pclose(p);
}

static void test_calls_point_down(void) {
    const char *build = getenv("CHARRNN_BUILD");
    if (!build) build = "build/release";
    sym *defs = NULL;
    int ndef = 0, capdef = 0, objects = 0;
    /* every object's defined global symbols */
    for (int i = 0; i < NUM_LAYERS; i++) {
        if (!strncmp(LAYERS[i].file, "include/", 8)) continue;
        char obj[512], cmd[700];
        snprintf(obj, sizeof obj, "%s/%s.o", build, LAYERS[i].file);
        FILE *f = fopen(obj, "r");
        if (!f) continue; /* a header-only module, or a file this build leaves out */
        fclose(f);
        objects++;
        snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s' 2>/dev/null", obj);
        read_syms(cmd, &defs, &ndef, &capdef, i);
    }
    if (!CHECKF(objects > 20, "only %d object files found under %s (set CHARRNN_BUILD)", objects, build)) {
        free(defs);
        return;
    }
    /* every object's undefined symbols that one of ours defines must be lower */
    int checked = 0;
    for (int i = 0; i < NUM_LAYERS; i++) {
        char obj[512], cmd[700];
        snprintf(obj, sizeof obj, "%s/%s.o", build, LAYERS[i].file);
        FILE *f = fopen(obj, "r");
        if (!f) continue;
        fclose(f);
        sym *und = NULL;
        int nund = 0, capund = 0;
        snprintf(cmd, sizeof cmd, "nm -u '%s' 2>/dev/null", obj);
        read_syms(cmd, &und, &nund, &capund, i);
        for (int u = 0; u < nund; u++)
            for (int k = 0; k < ndef; k++) {
                if (strcmp(defs[k].name, und[u].name)) continue;
                checked++;
                int def = defs[k].owner;
                /* the public functions are declared by the face but defined below it: the definer's layer counts */
                CHECKF(allowed(i, def) || LAYERS[def].layer < LAYERS[i].layer,
                       "%s (layer %d) calls %s, defined in %s (layer %d): a call pointing up", LAYERS[i].file,
                       LAYERS[i].layer, und[u].name, LAYERS[def].file, LAYERS[def].layer);
            }
        free(und);
    }
    CHECKF(checked > 100, "only %d cross-file references checked: is nm installed?", checked);
    free(defs);
}

/* The wall: every symbol a cli/ object takes from the library is public (charrnn_*)
 * or defined in the base layer, whose members are all helpers of src/base. */
static void test_cli_uses_only_public(void) {
    const char *build = getenv("CHARRNN_BUILD");
    if (!build) build = "build/release";
    sym *lib = NULL, *base = NULL;
    int nlib = 0, caplib = 0, nbase = 0, capbase = 0, nmembers = 0, capmembers = 0, checked = 0;
    for (int i = 0; i < NUM_LAYERS; i++) {
        if (strncmp(LAYERS[i].file, "src/", 4)) continue;
        char cmd[700];
        snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s/%s.o' 2>/dev/null", build, LAYERS[i].file);
        read_syms(cmd, &lib, &nlib, &caplib, i);
    }
    char *cmd = t_fmt("nm -g --defined-only '%s/libcharrnn_base.a' 2>/dev/null | grep -v ':$'", build);
    read_syms(cmd, &base, &nbase, &capbase, 0);
    free(cmd);
    sym *members = NULL;
    cmd = t_fmt("ar t '%s/libcharrnn_base.a' 2>/dev/null", build);
    read_syms(cmd, &members, &nmembers, &capmembers, 0);
    free(cmd);
    if (!CHECKF(nlib > 100 && nbase > 10 && nmembers > 0, "no library objects or base layer under %s (run make test)", build))
        goto out;
    for (int m = 0; m < nmembers; m++) {
        char src[300];
        snprintf(src, sizeof src, "src/base/%.*s.c", (int)strlen(members[m].name) - 2, members[m].name);
        FILE *f = fopen(src, "r");
        CHECKF(f != NULL, "the base layer holds %s, which is not a helper of src/base", members[m].name);
        if (f) fclose(f);
    }
    for (int i = 0; i < NUM_LAYERS; i++) {
        if (strncmp(LAYERS[i].file, "cli/", 4)) continue;
        sym *und = NULL;
        int nund = 0, capund = 0;
        cmd = t_fmt("nm -u '%s/%s.o' 2>/dev/null", build, LAYERS[i].file);
        read_syms(cmd, &und, &nund, &capund, i);
        free(cmd);
        for (int u = 0; u < nund; u++) {
            int ours = 0, in_base = 0;
            for (int k = 0; k < nlib && !ours; k++) ours = !strcmp(lib[k].name, und[u].name);
            for (int k = 0; k < nbase && !in_base; k++) in_base = !strcmp(base[k].name, und[u].name);
            if (!ours) continue;
            checked++;
            CHECKF(!strncmp(und[u].name, "charrnn_", 8) || in_base,
                   "%s calls %s, which is neither public (charrnn.h) nor in the base layer: add it to the public "
                   "face, or use what charrnn.h offers", LAYERS[i].file, und[u].name);
        }
        free(und);
    }
    CHECKF(checked > 50, "only %d calls from cli/ into the library checked", checked);
out:
    free(lib);
    free(base);
    free(members);
}

/* The command linked against the shared library (make test builds it) runs: the
 * wall holds at link time, where the .so exports only charrnn_*. */
static void test_cli_links_shared(void) {
    const char *build = getenv("CHARRNN_BUILD");
    if (!build) build = "build/release";
    char *bin = t_fmt("%s/charrnn-shared", build), *out = NULL, *err = NULL, *want = NULL;
    char *cmd = t_fmt("readelf -d '%s'", bin);
    int rc = t_run(cmd, &out, &err);
    free(cmd);
    if (CHECKF(rc == 0, "%s is not there (make test builds it): %s", bin, err ? err : ""))
        CHECKF(strstr(out, "libcharrnn.so.0") != NULL, "%s does not link libcharrnn.so.0", bin);
    free(out);
    free(err);
    cmd = t_fmt("'%s' --version", bin);
    rc = t_run(cmd, &out, &err);
    free(cmd);
    t_cli(&want, NULL, "--version");
    CHECKF(rc == 0 && want && !strcmp(out, want), "%s --version: exit %d, '%s' (want '%s'): %s", bin, rc, out, want, err);
    free(out);
    free(err);
    /* novelty runs through the public novelty index, the base layer's output helpers */
    t_write_file(t_path("shared-sample.txt"), "the cat\n", 8);
    t_write_file(t_path("shared-train.txt"), "the cat sat on the mat\n", 23);
    cmd = t_fmt("'%s' novelty '%s' '%s'", bin, t_path("shared-sample.txt"), t_path("shared-train.txt"));
    rc = t_run(cmd, &out, &err);
    free(cmd);
    CHECKF(rc == 0 && strstr(out, "longest copied span: 7 characters"), "%s novelty: exit %d: %s%s", bin, rc, out, err);
    free(out);
    free(err);
    free(want);
    free(bin);
}

/* src/ holds only the floors, each with a README.md that opens it. */
static void test_floors_have_readmes(void) {
    DIR *dp = opendir("src");
    if (!CHECKF(dp, "cannot list src (run from the repository root)")) return;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char dir[300];
        snprintf(dir, sizeof dir, "src/%s", e->d_name);
        int known = 0;
        for (int i = 0; i < NUM_FLOORS; i++) known |= !strcmp(FLOORS[i], dir);
        CHECKF(known, "%s is not a floor: src/ holds only the folders of tests/test_layers.c's FLOORS", dir);
        found += known;
        char readme[320];
        snprintf(readme, sizeof readme, "%s/README.md", dir);
        char *text = t_read_file(readme, NULL);
        CHECKF(text && strlen(text) > 80, "%s has no README.md saying what lives there and what it may call", dir);
        free(text);
    }
    closedir(dp);
    CHECKF(found == NUM_FLOORS, "src/ has %d of the %d floors", found, NUM_FLOORS);
}

void register_layer_tests(void) {
    t_register("layers_floors_have_readmes", test_floors_have_readmes);
    t_register("layers_includes_point_down", test_includes_point_down);
    t_register("layers_calls_point_down", test_calls_point_down);
    t_register("layers_cli_uses_only_public", test_cli_uses_only_public);
    t_register("layers_cli_links_shared", test_cli_links_shared);
}
