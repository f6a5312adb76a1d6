/* test_bigdata.c: corpora larger than memory. Code-point mode encodes a file
 * once into a token cache beside the checkpoints and reuses it while the file
 * is unchanged (rebuilt when it changes); the cached corpus trains exactly as
 * one read into memory; byte mode trains from the mapped file itself, and a
 * file (or cache) truncated under it saves the run and ends it with a message,
 * not "Bus error";
 * validation reads a bounded, stated sample of the validation block. */
#include "test.h"
#include "charrnn.h"
#include "tokcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *bcorpus(void) {
    const char *p = t_path("big_corpus.txt");
    struct stat st;
    if (stat(p, &st) != 0) {
        FILE *f = fopen(p, "w");
        for (int i = 0; i < 30000; i++) fprintf(f, "%d: the café sat on the mat, 猫 sat on the %s.\n", i % 97, i % 3 ? "hat" : "rug");
        fclose(f);
    }
    return p;
}

static void test_cache_reused_and_rebuilt(void) {
    const char *dir = t_path("big_cv");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 3 "
                   "--threads 1 --checkpoint-dir '%s'", bcorpus(), dir);
    CHECKF(rc == 0 && !strstr(err, "reusing the token cache"), "first run: %s", err);
    free(err);
    char *cmd = t_fmt("ls '%s' | grep -c '^corpus-.*\\.ids$'", dir), *out;
    t_run(cmd, &out, NULL);
    CHECKF(atoi(out) == 1, "one token cache expected in %s, found %s", dir, out);
    free(out);
    /* unchanged: reused (and the run resumes from the cached corpus: same checksum) */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s/latest.safetensors' --max-iters 6 --threads 1", bcorpus(), dir);
    CHECKF(rc == 0 && strstr(err, "reusing the token cache") && strstr(err, "resuming"), "second run: %s", err);
    free(err);
    /* changed (one byte, same size): rebuilt, and the resume refuses the other corpus */
    FILE *f = fopen(bcorpus(), "r+");
    fseek(f, 3, SEEK_SET); /* "the" becomes "Xhe": still UTF-8 */
    fputc('X', f);
    fclose(f);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s/latest.safetensors' --max-iters 9 --threads 1", bcorpus(), dir);
    CHECKF(rc != 0 && !strstr(err, "reusing the token cache") && strstr(err, "different corpus"), "changed file: %s", err);
    free(err);
    t_run(cmd, &out, NULL);
    CHECKF(atoi(out) == 2, "a rebuilt cache expected beside the old one, found %s", out);
    free(out);
    free(cmd);
}

/* The mapped cache and the in-memory corpus give the same ids, vocabulary and checksum. */
static void test_cache_equals_memory(void) {
    corpus a, b;
    charrnn_error err = {0};
    int reused = -1;
    const char *dir = t_path("cache_eq");
    mkdir(dir, 0755);
    for (int unit = 0; unit < 2; unit++) {
        CHECK(corpus_load(&a, bcorpus(), (charrnn_unit)unit, &err) == 0);
        CHECK(corpus_open(&b, bcorpus(), (charrnn_unit)unit, dir, NULL, NULL, &reused, &err) == 0 && reused == 0);
        corpus c;
        CHECK(corpus_open(&c, bcorpus(), (charrnn_unit)unit, dir, NULL, NULL, &reused, &err) == 0 && reused == 1);
        CHECK(a.n == b.n && a.n == c.n && a.vocab_size == b.vocab_size && a.checksum == b.checksum && a.checksum == c.checksum);
        CHECK(!memcmp(a.vocab, b.vocab, sizeof(uint32_t) * (size_t)a.vocab_size));
        size_t diff = 0;
        for (size_t i = 0; i < a.n; i++) diff += corpus_id(&a, i) != corpus_id(&b, i) || corpus_id(&a, i) != corpus_id(&c, i);
        CHECKF(diff == 0, "unit %d: %zu ids differ between the cache and memory", unit, diff);
        CHECK(unit == 0 ? b.map && !b.lut : b.map && b.lut); /* byte mode: the file itself through a lookup table */
        corpus_release_pages(&b);
        CHECK(corpus_id(&b, a.n - 1) == corpus_id(&a, a.n - 1)); /* pages come back after being let go */
        corpus_free(&a);
        corpus_free(&b);
        corpus_free(&c);
    }
}

/* A corpus truncated under training, before its first checkpoint: in byte mode
 * the mapped file itself, in code-point mode the token cache. The run saves
 * what it trained (as a stop signal would), says so and how to resume, exits
 * 1, and never claims a checkpoint that is not there; restored, it resumes. */
static void test_truncated_while_training(void) {
    for (int unit = 0; unit < 2; unit++) {
        const char *name = unit ? "big_bytes.txt" : "big_cps.txt";
        char p[600], dir[600];
        snprintf(p, sizeof p, "%s", t_path(name));
        snprintf(dir, sizeof dir, "%s", t_path(unit ? "big_bytes_cv" : "big_cps_cv"));
        char *cmd = t_fmt("cp '%s' '%s'", bcorpus(), p);
        t_run(cmd, NULL, NULL);
        free(cmd);
        char *victim = unit ? t_fmt("'%s'", p) : t_fmt("'%s'/corpus-*.ids", dir);
        /* the log is removed first: the background run's redirection empties it only once that process
         * starts, and the wait below must not find the previous unit's "5/" line in it */
        cmd = t_fmt("rm -f '%s/trunc.err'; %s train '%s' --unit %s --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --precision fp32 "
                    "--max-iters 100000000 --print-every 1 --eval-val-every 1000000 --threads 1 --checkpoint-dir '%s' "
                    "2>'%s/trunc.err' & p=$!; i=0; while ! grep -q '^5/' '%s/trunc.err' 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; "
                    "for f in %s; do : > \"$f\"; done; wait $p; echo \"rc=$?\"", t_tmpdir(), t_bin(), p, unit ? "byte" : "codepoint", dir,
                    t_tmpdir(), t_tmpdir(), victim);
        char *out;
        t_run(cmd, &out, NULL);
        char *err = t_read_file(t_path("trunc.err"), NULL), *latest = t_fmt("%s/latest.safetensors", dir);
        if (!err) err = strdup("");
        CHECKF(strstr(out, "rc=1") && strstr(err, "changed while training read it") && strstr(err, "saved the run at iteration") &&
               strstr(err, "resume with:") && strstr(err, latest) && !strstr(err, "intact") && !strstr(err, "Bus error"),
               "unit %d: a corpus truncated under training: %s / %s", unit, out, err);
        charrnn_model *m = NULL;
        charrnn_error e = {0};
        charrnn_model_info info = {0};
        if (CHECKF(charrnn_model_load(&m, latest, &e) == 0, "unit %d: no checkpoint saved: %s", unit, e.msg)) {
            charrnn_model_get_info(m, &info);
            CHECKF(info.iteration >= 5, "unit %d: the checkpoint holds iteration %ld", unit, info.iteration);
            charrnn_model_close(m);
        }
        free(out); free(err); free(cmd); free(victim);
        /* put back (a token cache is made again by itself), the run resumes where it was */
        if (unit) {
            cmd = t_fmt("cp '%s' '%s'", bcorpus(), p);
            t_run(cmd, NULL, NULL);
            free(cmd);
        }
        int rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters %ld --threads 1", p, latest, info.iteration + 2);
        CHECKF(rc == 0 && strstr(err, "resuming"), "unit %d: resuming after the file was put back: %s", unit, err);
        free(err);
        free(latest);
    }
}

static void test_val_max_chars(void) {
    const char *dir = t_path("val_max_cv");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 2 "
                   "--val-max-chars 1000 --threads 1 --checkpoint-dir '%s'", bcorpus(), dir);
    CHECKF(rc == 0 && strstr(err, "validation: the first 1000 of the validation block's"), "--val-max-chars: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --val-max-chars -1 --checkpoint-dir '%s'", bcorpus(), t_path("vmc2"));
    CHECKF(rc == 2 && strstr(err, "--val-max-chars"), "%s", err);
    free(err);
}

void register_bigdata_tests(void) {
    t_register("bigdata_cache_reused_and_rebuilt", test_cache_reused_and_rebuilt);
    t_register("bigdata_cache_equals_memory", test_cache_equals_memory);
    t_register("bigdata_truncated_while_training", test_truncated_while_training);
    t_register("bigdata_val_max_chars", test_val_max_chars);
}
