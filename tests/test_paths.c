/* test_paths.c: what a path names, for every file charrnn writes or reads
 * (issue 17, findings 1, 2 and 5). Every writing command is run, from one
 * table, with its output at a FIFO that a process reads, at a character device
 * (a private one made with mknod when running as root, so that a regression can
 * never replace the system's /dev/null; /dev/null itself otherwise, which only
 * root could replace), at a symbolic link to standard output, at a directory, a
 * socket and a block device (refused), and at each of its inputs, as given,
 * through a symbolic link and through a hard link (refused, the input unchanged
 * byte for byte). Every reading command is run with a FIFO that nobody writes
 * as its model, checkpoint or text, under `timeout` so that a regression fails
 * instead of hanging; so is training into a run directory whose files are FIFOs. */
#include "test.h"
#include "charrnn.h"
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------ */

#define TINY "--rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --threads 1 --precision fp32"

static mode_t kind_of(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0;
}

/* cmd with each {X} replaced by the quoted path of X (see paths[]). */
typedef struct { char key; const char *path; } named;
static named paths[16];
static int npaths;

static void name_path(char key, const char *path) {
    for (int i = 0; i < npaths; i++)
        if (paths[i].key == key) { paths[i].path = path; return; }
    if (npaths < (int)(sizeof paths / sizeof paths[0])) paths[npaths++] = (named){key, path};
}

static char *expand(const char *cmd) {
    size_t cap = strlen(cmd) + 1;
    for (const char *p = cmd; *p; p++) cap += 4200;
    char *out = malloc(cap), *o = out;
    for (const char *p = cmd; *p; p++) {
        const char *path = NULL;
        if (p[0] == '{' && p[1] && p[2] == '}')
            for (int i = 0; i < npaths; i++)
                if (paths[i].key == p[1]) path = paths[i].path;
        if (path) {
            o += sprintf(o, "'%s'", path);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return out;
}

/* Runs "charrnn ARGS" (ARGS expanded) with extra shell text around it, under
 * timeout: SIGTERM after 30 s, SIGKILL 5 s later (a hang fails, even one that
 * swallows SIGTERM). */
static int run(char **out, char **err, const char *before, const char *args, const char *after) {
    char *a = expand(args);
    char *cmd = t_fmt("%s timeout -k 5 30 %s %s %s", before, t_bin(), a, after);
    int rc = t_run(cmd, out, err);
    free(cmd);
    free(a);
    return rc;
}

/* ---- the fixtures: a corpus, a run directory, a model, an n-gram model, a compressed file ---- */

static void fixtures(void) {
    static int made;
    if (made++) return;
    const char *c = t_path("paths.txt"), *r = t_path("paths_run");
    FILE *f = fopen(c, "w");
    for (int i = 0; i < 150; i++) fprintf(f, "the %s sat on the %s.\n", i % 3 ? "cat" : "dog", i % 5 ? "mat" : "log");
    fclose(f);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' " TINY " --max-iters 10 --eval-val-every 10 --checkpoint-dir '%s'", c, r);
    CHECKF(rc == 0, "training the test model: %s", err);
    free(err);
    name_path('C', c);
    name_path('R', r);
    name_path('M', t_fmt("%s/latest.safetensors", r));
    name_path('B', t_fmt("%s/best.safetensors", r));
    name_path('L', t_fmt("%s/train.jsonl", r));
    name_path('N', t_path("paths.ngram"));
    name_path('Z', t_path("paths.z"));
    char *a = expand("ngram {C} --order 3 --save {N}");
    rc = t_cli(NULL, &err, "%s", a);
    CHECKF(rc == 0, "the n-gram model: %s", err);
    free(a);
    free(err);
    a = expand("compress {M} {C} -o {Z}");
    rc = t_cli(NULL, &err, "%s", a);
    CHECKF(rc == 0, "the compressed file: %s", err);
    free(a);
    free(err);
}

/* ---- writers ---------------------------------------------------------------------------- */

/* Every command that writes a file: {O} is its output; inputs: the keys of what it reads. */
static const struct { const char *args; const char *inputs; } WRITERS[] = {
    {"compress {M} {C} -o {O}", "MC"},
    {"compress --adapt --rnn-size 8 {C} -o {O}", "C"},
    {"decompress {M} {Z} -o {O}", "MZ"},
    {"ngram {C} --order 3 --save {O}", "C"},
    {"viz {M} {C} --length 100 -o {O}", "MC"},
    {"cells {M} {C} --length 200 --top 3 -o {O}", "MC"},
    {"play {M} -o {O}", "M"},
    {"report {R} -o {O}", "LBM"},
    {"report {R} --format svg -o {O}", "L"},
};
#define NUM_WRITERS (int)(sizeof WRITERS / sizeof WRITERS[0])

static const char *path_of(char key) {
    for (int i = 0; i < npaths; i++)
        if (paths[i].key == key) return paths[i].path;
    return NULL;
}

/* The bytes a writer makes in a regular file (the reference for the other targets). */
static char *regular_output(int w, size_t *len) {
    name_path('O', t_path("paths_regular.out"));
    unlink(path_of('O'));
    char *err;
    int rc = run(NULL, &err, "", WRITERS[w].args, "");
    CHECKF(rc == 0, "%s into a regular file: %s", WRITERS[w].args, err);
    free(err);
    return t_read_file(path_of('O'), len);
}

/* A FIFO that another process reads, a character device, a link to standard output: written into. */
static void test_writers_stream(void) {
    fixtures();
    const char *fifo = t_path("paths.fifo"), *got = t_path("paths_fifo.got"), *link = t_path("paths_stdout");
    const char *redirected = t_path("paths_stdout.got");
    /* root could replace a device node: a private one, so a regression can never touch /dev/null */
    const char *dev = geteuid() == 0 ? t_path("paths_null") : "/dev/null";
    for (int w = 0; w < NUM_WRITERS; w++) {
        /* made again for each writer: a regression replaces them */
        unlink(fifo);
        unlink(link);
        unlink(got);
        unlink(redirected);
        CHECK(mkfifo(fifo, 0600) == 0);
        CHECK(symlink("/proc/self/fd/1", link) == 0);
        if (geteuid() == 0 && dev) {
            unlink(dev);
            if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) != 0) {
                fprintf(stderr, "(no character device: mknod: %s) ", strerror(errno));
                dev = NULL;
            }
        }
        size_t rlen = 0;
        char *ref = regular_output(w, &rlen);
        if (!ref) continue;
        CHECKF(rlen > 0, "%s wrote nothing", WRITERS[w].args);
        /* a FIFO: a reader gets every byte, the FIFO stays */
        name_path('O', fifo);
        char *before = t_fmt("timeout -k 5 30 cat '%s' > '%s' & ", fifo, got);
        char *err;
        int rc = run(NULL, &err, before, WRITERS[w].args, "; rc=$?; wait; exit $rc");
        size_t glen = 0;
        char *g = t_read_file(got, &glen);
        /* the pages (viz, cells, play, report) hold no time: the same bytes everywhere */
        CHECKF(rc == 0 && g && glen == rlen && !memcmp(g, ref, rlen), "%s into a FIFO: exit %d, %zu of %zu bytes: %s",
               WRITERS[w].args, rc, glen, rlen, err);
        CHECKF(kind_of(fifo) == S_IFIFO, "%s replaced the FIFO", WRITERS[w].args);
        free(g); free(err); free(before);
        /* a character device */
        if (dev) {
            name_path('O', dev);
            rc = run(NULL, &err, "", WRITERS[w].args, "");
            CHECKF(rc == 0, "%s into %s: exit %d: %s", WRITERS[w].args, dev, rc, err);
            CHECKF(kind_of(dev) == S_IFCHR, "%s replaced the character device %s", WRITERS[w].args, dev);
            free(err);
        }
        /* a link to standard output, which is a regular file: the file gets the output, the link stays */
        name_path('O', link);
        char *after = t_fmt("> '%s'", redirected);
        rc = run(NULL, &err, "", WRITERS[w].args, after);
        g = t_read_file(redirected, &glen);
        CHECKF(rc == 0 && g && glen == rlen && !memcmp(g, ref, rlen), "%s into a link to standard output: exit %d, "
               "%zu of %zu bytes: %s", WRITERS[w].args, rc, glen, rlen, err);
        CHECKF(kind_of(link) == S_IFLNK, "%s replaced the link to standard output", WRITERS[w].args);
        free(g); free(err); free(after); free(ref);
    }
    struct stat st;
    CHECKF(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is no longer a character device");
}

/* A directory, a socket, a block device: refused, left as they are. */
static void test_writers_refuse_other_kinds(void) {
    fixtures();
    const char *dir = t_path("paths_dir"), *sock = t_path("paths.sock"), *blk = t_path("paths_blk");
    CHECK(mkdir(dir, 0755) == 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int have_sock = s >= 0 && strlen(sock) < sizeof a.sun_path;
    if (have_sock) {
        snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
        have_sock = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    }
    if (!have_sock) fprintf(stderr, "(no socket: %s) ", strerror(errno));
    /* a block device node (root only); it is never opened */
    int have_blk = geteuid() == 0 && mknod(blk, S_IFBLK | 0600, makedev(7, 0)) == 0;
    const struct { const char *path; const char *needle; mode_t kind; int have; } targets[] = {
        {dir, "it is a directory", S_IFDIR, 1},
        {sock, "it is a socket", S_IFSOCK, have_sock},
        {blk, "it is a block device", S_IFBLK, have_blk},
    };
    for (int w = 0; w < NUM_WRITERS; w++)
        for (int k = 0; k < 3; k++) {
            if (!targets[k].have || kind_of(targets[k].path) != targets[k].kind) continue; /* (replaced: failed already) */
            name_path('O', targets[k].path);
            char *err;
            int rc = run(NULL, &err, "", WRITERS[w].args, "");
            char *what = t_fmt("%s into %s", WRITERS[w].args, targets[k].path);
            EXPECT_FAIL(what, rc, err, targets[k].needle);
            CHECKF(kind_of(targets[k].path) == targets[k].kind, "%s: the target was replaced", what);
            free(what);
            free(err);
        }
    if (s >= 0) close(s);
}

/* An output that is an input, as given, through a symbolic link, through a hard link: refused, the input intact. */
static void test_writers_refuse_inputs(void) {
    fixtures();
    for (int w = 0; w < NUM_WRITERS; w++)
        for (const char *k = WRITERS[w].inputs; *k; k++) {
            const char *in = path_of(*k);
            size_t len;
            char *orig = t_read_file(in, &len);
            if (!CHECKF(orig, "cannot read %s", in)) continue;
            const char *sym = t_path("paths_sym"), *hard = t_path("paths_hard");
            unlink(sym);
            unlink(hard);
            char *abs = realpath(in, NULL);
            CHECK(abs && symlink(abs, sym) == 0);
            CHECK(link(abs, hard) == 0);
            const char *outs[] = {in, sym, hard};
            for (int f = 0; f < 3; f++) {
                name_path('O', outs[f]);
                char *err;
                int rc = run(NULL, &err, "", WRITERS[w].args, "");
                char *what = t_fmt("%s with -o %s (%s)", WRITERS[w].args, outs[f], in);
                EXPECT_FAIL(what, rc, err, "which this command reads");
                size_t now_len;
                char *now = t_read_file(in, &now_len);
                CHECKF(now && now_len == len && !memcmp(now, orig, len), "%s: the input changed", what);
                if (!now || now_len != len || memcmp(now, orig, len)) t_write_file(in, orig, len); /* for the next */
                free(now); free(what); free(err);
            }
            CHECKF(kind_of(sym) == S_IFLNK, "%s: the link to the input was replaced", WRITERS[w].args);
            unlink(sym);
            unlink(hard);
            free(abs);
            free(orig);
        }
    /* standard input is an input too */
    const char *copy = t_path("paths_stdin.txt");
    size_t len;
    char *orig = t_read_file(path_of('C'), &len);
    t_write_file(copy, orig, len);
    name_path('O', copy);
    char *err, *after = t_fmt("< '%s'", copy);
    int rc = run(NULL, &err, "", "compress --adapt --rnn-size 8 - -o {O}", after);
    EXPECT_FAIL("compress - -o FILE < FILE", rc, err, "standard input");
    size_t now_len;
    char *now = t_read_file(copy, &now_len);
    CHECKF(now && now_len == len && !memcmp(now, orig, len), "compress - -o FILE < FILE changed FILE");
    free(now); free(orig); free(err); free(after);
}

/* ---- readers ---------------------------------------------------------------------------- */

/* A FIFO nobody writes, where a model, a checkpoint or a text belongs: refused at once, never waited on. */
static void test_readers_refuse_fifo(void) {
    fixtures();
    const char *fifo = t_path("paths_in.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    name_path('F', fifo);
    name_path('T', t_path("paths_reader.out"));
    name_path('D', t_path("paths_reader_run"));
    static const char *const READERS[] = {
        /* as the model or checkpoint */
        "info {F}", "sample {F} --length 5", "eval {F} {C}", "train {C} " TINY " --resume {F} --checkpoint-dir {D}",
        "train {C} " TINY " --init-from {F} --max-iters 1 --checkpoint-dir {D}", "viz {F} {C} -o {T}", "cells {F} {C}",
        "play {F} -o {T}", "compress {F} {C} -o {T}", "decompress {F} {Z} -o {T}",
        /* as the text, the compressed file, the corpus */
        "eval {M} {F}", "eval {N} {F}", "viz {M} {F} -o {T}", "cells {M} {F}", "decompress {M} {F} -o {T}",
        "compress {M} {F} -o {T}", "compress --adapt {F} -o {T}", "ngram {F}", "train {F} " TINY " --checkpoint-dir {D}",
        "novelty {F} {C}", "novelty {C} {F}", "sample {M} --prime-file {F} --length 5",
    };
    for (size_t i = 0; i < sizeof READERS / sizeof READERS[0]; i++) {
        char *err;
        int rc = run(NULL, &err, "", READERS[i], "");
        EXPECT_FAIL(READERS[i], rc, err, "FIFO");
        CHECKF(kind_of(fifo) == S_IFIFO, "%s replaced the FIFO", READERS[i]);
        free(err);
    }
}

/* The files a run writes in its directory are regular files: a FIFO there is refused before any work. */
static void test_run_directory_fifos(void) {
    fixtures();
    static const char *const FILES[] = {"latest.safetensors", "train.jsonl", ".charrnn.lock", "token cache"};
    for (int i = 0; i < 4; i++) {
        char *dir = t_fmt("%s/paths_cv%d", t_tmpdir(), i), *err;
        name_path('D', dir);
        char *fifo = NULL;
        if (i == 3) { /* the token cache's name comes from the corpus: train once, then plant a FIFO there */
            int rc = run(NULL, &err, "", "train {C} " TINY " --max-iters 1 --checkpoint-dir {D}", "");
            CHECKF(rc == 0, "%s", err);
            free(err);
            char *out, *ls = t_fmt("ls '%s'/corpus-*", dir);
            t_run(ls, &out, NULL);
            free(ls);
            out[strcspn(out, "\n")] = 0;
            fifo = out;
            unlink(fifo);
        } else {
            mkdir(dir, 0755);
            fifo = t_fmt("%s/%s", dir, FILES[i]);
        }
        CHECK(mkfifo(fifo, 0600) == 0);
        int rc = run(NULL, &err, "", "train {C} " TINY " --max-iters 2 --force --checkpoint-dir {D}", "");
        char *what = t_fmt("train with a FIFO as %s", FILES[i]);
        EXPECT_FAIL(what, rc, err, "FIFO");
        CHECKF(kind_of(fifo) == S_IFIFO, "%s: the FIFO was replaced", what);
        free(what); free(err); free(fifo); free(dir);
    }
    /* and the corpus is none of them */
    const char *dir = t_path("paths_cv_corpus");
    mkdir(dir, 0755);
    char *log = t_fmt("%s/train.jsonl", dir);
    size_t len;
    char *orig = t_read_file(path_of('C'), &len);
    t_write_file(log, orig, len);
    name_path('D', dir);
    name_path('O', log);
    char *err;
    int rc = run(NULL, &err, "", "train {O} " TINY " --max-iters 2 --checkpoint-dir {D}", "");
    EXPECT_FAIL("train DIR/train.jsonl --checkpoint-dir DIR", rc, err, "which this command reads");
    size_t now_len;
    char *now = t_read_file(log, &now_len);
    CHECKF(now && now_len == len && !memcmp(now, orig, len), "the corpus train.jsonl changed");
    free(now); free(orig); free(err); free(log);
}

/* ---- the library's view ------------------------------------------------------------------- */

static void test_files_kinds(void) {
    const char *fifo = t_path("files.fifo"), *reg = t_path("files.reg"), *dir = t_path("files_dir");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(t_write_file(reg, "x", 1) == 0);
    CHECK(mkdir(dir, 0755) == 0);
    struct stat st;
    /* a FIFO without a writer: refused at once (-2), not waited on */
    CHECK(file_open_read(fifo, &st) == -2 && S_ISFIFO(st.st_mode));
    CHECK(file_open_read(dir, &st) == -2 && S_ISDIR(st.st_mode));
    int fd = file_open_read(reg, &st);
    CHECK(fd >= 0 && S_ISREG(st.st_mode) && !(fcntl(fd, F_GETFL) & O_NONBLOCK));
    if (fd >= 0) close(fd);
    errno = 0;
    CHECK(file_open_read(t_path("files.none"), &st) == -1 && errno == ENOENT);
    char err[600];
    CHECK(file_out_check(reg, 0, err, sizeof err) == FILE_OUT_REPLACE);
    CHECK(file_out_check(t_path("files.new"), 0, err, sizeof err) == FILE_OUT_REPLACE);
    CHECK(file_out_check(fifo, 0, err, sizeof err) == FILE_OUT_STREAM);
    CHECK(file_out_check("/dev/null", 0, err, sizeof err) == FILE_OUT_STREAM);
    CHECK(file_out_check(fifo, FILE_OUT_REGULAR, err, sizeof err) == -1 && strstr(err, "FIFO"));
    CHECK(file_out_check("/dev/null", FILE_OUT_REGULAR, err, sizeof err) == -1 && strstr(err, "character device"));
    CHECK(file_out_check(dir, 0, err, sizeof err) == -1 && strstr(err, "it is a directory"));
    CHECK(file_out_check("", 0, err, sizeof err) == -1 && strstr(err, "empty path"));
    /* a checkpoint (a trainer's save) is a regular file: a FIFO at its path is refused, not written into */
    static char text[3000];
    for (size_t i = 0; i + 1 < sizeof text; i++) text[i] = "abc de\n"[i % 7];
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.num_layers = 1;
    mc.rnn_size = 8;
    o.batch_size = 4;
    o.seq_length = 8;
    charrnn_trainer *t = NULL;
    charrnn_error e;
    if (!CHECKF(charrnn_trainer_open(&t, NULL, text, strlen(text), &mc, &o, &e) == 0, "%s", e.msg)) return;
    CHECK(charrnn_trainer_save(t, fifo, &e) != 0 && strstr(e.msg, "FIFO"));
    CHECK(kind_of(fifo) == S_IFIFO);
    charrnn_trainer_close(t);
}

void register_path_tests(void) {
    t_register("paths_files_kinds", test_files_kinds);
    t_register("paths_writers_stream", test_writers_stream);
    t_register("paths_writers_refuse_other_kinds", test_writers_refuse_other_kinds);
    t_register("paths_writers_refuse_inputs", test_writers_refuse_inputs);
    t_register("paths_readers_refuse_fifo", test_readers_refuse_fifo);
    t_register("paths_run_directory_fifos", test_run_directory_fifos);
}
