/* test_cli_eval.c: `charrnn eval` reports nats, bpc and unknown characters; `charrnn info`'s parameter
 * count matches the formula. */
#include "test.h"
#include "test_cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- 6. eval ------------------------------------------------------------------------------------ */

static void test_eval(void) {
    const char *m = small_model();
    if (!m) return;
    const char *corpus = cat_corpus();
    char *out, *err;
    int rc = t_cli(&out, &err, "eval '%s' '%s'", m, corpus);
    CHECKF(rc == 0, "eval: exit %d: %s", rc, err);
    double nats = NAN, bpc = NAN;
    long pred = -1, unk = -1;
    const char *p = strstr(out, ": ");
    int got = p ? sscanf(p, ": %lf nats, %lf bpc over %ld predicted characters (%ld unknown skipped;", &nats, &bpc,
                         &pred, &unk)
                : 0;
    CHECKF(got == 4, "eval's line should read 'FILE: X nats, Y bpc over N predicted characters (U unknown skipped)': %s",
           out);
    /* both printed to 4 decimals: |bpc - nats / ln 2| <= 5e-5 + 5e-5 / ln 2 */
    CHECK_CLOSE(bpc, nats / log(2.0), 1.3e-4, 0);
    CHECKF(nats > 0.2 && nats < log(cat_vocab), "nats %.4f should be between the entropy and chance", nats);
    CHECKF(pred == (long)cat_len - 1 && unk == 0, "predicted %ld (expected %zu), unknown %ld", pred, cat_len - 1, unk);
    CHECKF(!strstr(err, "warning"), "no warning expected: %s", err);
    free(out);
    free(err);

    /* characters outside the vocabulary are counted, listed and skipped */
    const char *mix = t_path("mixed.txt");
    write_str(mix, "the cat sat on the mat.\nthe QUIZ dog ran 2 the 床.\n");
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, mix);
    CHECKF(rc == 0, "eval with unknown characters: exit %d: %s", rc, err);
    got = (p = strstr(out, ": ")) ? sscanf(p, ": %lf nats, %lf bpc over %ld predicted characters (%ld unknown skipped;",
                                           &nats, &bpc, &pred, &unk)
                                  : 0;
    /* Q U I Z 2 床 are unknown; 50 code points - 6 = 44 known, 43 predictions */
    CHECKF(got == 4 && unk == 6 && pred == 43, "expected 43 predicted, 6 unknown: %s", out);
    CHECKF(strstr(err, "warning") && strstr(err, "'Q' (U+0051)") && strstr(err, "'床' (U+5E8A)") &&
               strstr(err, "'2' (U+0032)"),
           "the warning should list the unknown characters: %s", err);
    CHECKF(isfinite(nats) && isfinite(bpc), "non-finite loss: %s", out);
    free(out);
    free(err);

    /* nothing known: a clear error */
    const char *none = t_path("unknown_only.txt");
    write_str(none, "QQQZZZ床前明月光");
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, none);
    EXPECT_ERROR("eval of text with no known character", rc, err, "at least 2");
    free(out);
    free(err);
    /* an empty file, a missing one, a directory */
    const char *empty = t_path("eval_empty.txt");
    t_write_file(empty, "", 0);
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, empty);
    EXPECT_ERROR("eval of an empty file", rc, err, "at least 2");
    free(out);
    free(err);
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, t_path("eval_missing.txt"));
    EXPECT_ERROR("eval of a missing file", rc, err, "eval_missing.txt", "No such file");
    free(out);
    free(err);
    rc = t_cli(&out, &err, "eval '%s'", m);
    EXPECT_ERROR("eval without a text file", rc, err, "eval needs");
    free(out);
    free(err);
    /* invalid UTF-8: the message names the file (not a placeholder) and the offset */
    const char *bad = t_path("eval_bad.txt");
    t_write_file(bad, "the cat\xff sat", 12);
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, bad);
    EXPECT_ERROR("eval of invalid UTF-8", rc, err, "byte offset 7", "0xFF", "eval_bad.txt");
    free(out);
    free(err);
}

/* ---- 6b. eval --split: one block, cut as training cut its corpus ---------------------------------- */

/* The "nats" and "predicted" of eval's line for the block (or the whole text: block NULL); rc of the run. */
static int eval_block(const char *ckpt, const char *file, const char *block, double *nats, long *pred) {
    char *out, *err;
    int rc = t_cli(&out, &err, "eval '%s' '%s' %s%s --precision fp32 --threads 1", ckpt, file, block ? "--split " : "",
                   block ? block : "");
    *nats = NAN;
    *pred = -1;
    int named = block && strcmp(block, "all"); /* a block's line names it; all's is eval's plain line */
    const char *p = strstr(out, named ? "): " : ": ");
    if (!p || sscanf(strchr(p, ':'), ": %lf nats, %*f bpc over %ld predicted", nats, pred) != 2)
        CHECKF(0, "eval %s: exit %d, no result line: %s %s", block ? block : "", rc, out, err);
    if (named) {
        char want[64];
        snprintf(want, sizeof want, " (%s block): ", block);
        CHECKF(strstr(out, want), "eval --split %s should name the block (\"%s\"): %s", block, want, out);
    }
    free(out);
    free(err);
    return rc;
}

static void test_eval_split(void) {
    /* 6000 ASCII characters (so characters are bytes): train 5400, val 300, test 300 with 0.9 / 0.05 */
    cat_corpus();
    const size_t N = 6000, TRAIN = 5400, VAL = 300;
    const char *corpus = t_path("split.txt"), *val = t_path("split_val.txt"), *test = t_path("split_test.txt");
    CHECK(t_write_file(corpus, cat_text, N) == 0 && t_write_file(val, cat_text + TRAIN, VAL) == 0 &&
          t_write_file(test, cat_text + TRAIN + VAL, N - TRAIN - VAL) == 0);
    /* batch 16 x seq 20: validation reads the 299 predictions of the val block in 14 streams, as eval's
     * default does (one per seq-length, at most the batch there, at most 50 here) */
    const char *dir = t_path("cv_split");
    char *out, *err;
    int rc = t_cli(&out, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 16 --seq-length 20 --max-iters 30 "
                   "--eval-val-every 1000 --train-frac 0.9 --val-frac 0.05 --threads 1 --precision fp32 "
                   "--checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "train: exit %d: %s", rc, err);
    double logged = last_number_after(err, "validation at 30: val_loss =");
    const char *split = strstr(err, "corpus: ");
    char train_split[200] = "";
    if (split) snprintf(train_split, sizeof train_split, "%.*s", (int)strcspn(split, "\n"), split);
    CHECKF(strstr(train_split, "train 5400, val 300, test 300"), "train's split: %s", train_split);
    free(out);
    free(err);
    char *ck = t_fmt("%s/latest.safetensors", dir);

    /* val: the loss training logged for this checkpoint; every block is its characters read as their own text */
    double v, t, tr, all, v_file, t_file;
    long pv, pt, ptr, pall, pv_file, pt_file;
    CHECK(eval_block(ck, corpus, "val", &v, &pv) == 0);
    CHECKF(fabs(v - logged) <= 1.5e-4, "eval --split val: %.4f nats, training logged %.4f for the same checkpoint", v,
           logged);
    CHECK(eval_block(ck, corpus, "test", &t, &pt) == 0 && eval_block(ck, corpus, "train", &tr, &ptr) == 0);
    CHECK(eval_block(ck, val, NULL, &v_file, &pv_file) == 0 && eval_block(ck, test, NULL, &t_file, &pt_file) == 0);
    CHECKF(v == v_file && pv == pv_file && t == t_file && pt == pt_file,
           "the val and test blocks should read as the text's characters [5400, 5700) and [5700, 6000): "
           "val %.4f (%ld) vs %.4f (%ld), test %.4f (%ld) vs %.4f (%ld)", v, pv, v_file, pv_file, t, pt, t_file, pt_file);
    CHECKF(fabs(t - v) > 1e-4, "the test block's loss %.4f should not be the val block's %.4f", t, v);
    CHECKF(ptr + 1 + pv + 1 + pt + 1 == (long)N, "the blocks should cover the text: %ld + %ld + %ld predictions", ptr,
           pv, pt);
    /* all: the plain eval */
    CHECK(eval_block(ck, corpus, "all", &all, &pall) == 0);
    CHECKF(pall == (long)N - 1, "--split all: %ld predictions, expected %zu", pall, N - 1);
    rc = t_cli(&out, &err, "eval '%s' '%s' --precision fp32 --threads 1", ck, corpus);
    CHECKF(rc == 0 && strstr(out, ": ") && fabs(last_number_after(out, ": ") - all) < 1e-9 && !strstr(out, "block"),
           "--split all should print eval's plain line: %s", out);
    free(out);
    free(err);

    /* the 10-gram counts the same split (its corpus line is train's), and its saved model's test block read
     * by eval --split is the one ngram measured */
    const char *g = t_path("split.ngram");
    rc = t_cli(&out, &err, "ngram '%s' --order 3 --train-frac 0.9 --val-frac 0.05 --save '%s'", corpus, g);
    CHECKF(rc == 0, "ngram: exit %d: %s", rc, err);
    split = strstr(err, "corpus: ");
    CHECKF(split && strstr(split, "train 5400, val 300, test 300"), "ngram's split should be train's: %s", err);
    const char *line = strstr(out, "test: ");
    double kn = line ? last_number_after(line, "test:") : NAN;
    free(out);
    free(err);
    double kt;
    long pkt;
    CHECK(eval_block(g, corpus, "test", &kt, &pkt) == 0);
    CHECKF(fabs(kt - kn) < 1e-9 && pkt == pt, "eval --split test of the saved n-gram: %.4f nats over %ld; ngram's test "
           "line: %.4f", kt, pkt, kn);

    /* errors: a bad value, a block too small (0.9 + 0.1 leave no test block), --dynamic with a block */
    rc = t_cli(&out, &err, "eval '%s' '%s' --split tests", ck, corpus);
    EXPECT_ERROR("eval --split tests", rc, err, "--split must be one of all|train|val|test", "'tests'");
    free(out);
    free(err);
    const char *m = small_model(); /* trained with --train-frac 0.9 --val-frac 0.1 */
    if (m) {
        rc = t_cli(&out, &err, "eval '%s' '%s' --split test", m, cat_corpus());
        EXPECT_ERROR("eval --split test of a run without a test block", rc, err, "the test block of", "at least 2",
                     "train-frac 0.9 and val-frac 0.1");
        free(out);
        free(err);
    }
    rc = t_cli(&out, &err, "eval '%s' '%s' --split val --dynamic", ck, corpus);
    EXPECT_ERROR("eval --split with --dynamic", rc, err, "--split and --dynamic");
    free(out);
    free(err);
    free(ck);
}

/* ---- 7. info's parameter count ----------------------------------------------------------------- */

static void test_info_params(void) {
    const char *corpus = cat_corpus();
    const int V = cat_vocab, H = 16;
    static const struct { const char *cell; int layers, gates; } cases[] = {
        {"lstm", 1, 4}, {"gru", 1, 3}, {"rnn", 1, 1}, {"lstm", 2, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* PyTorch's layout: per layer G*H x (in + H) weights and two G*H biases; the decoder V x (H + 1) */
        long g = cases[i].gates, want = g * H * (V + H + 2) + (long)V * (H + 1);
        for (int l = 1; l < cases[i].layers; l++) want += g * H * (H + H + 2);
        char name[64];
        snprintf(name, sizeof name, "cv_info_%s%d", cases[i].cell, cases[i].layers);
        const char *dir = t_path(name);
        char *out, *err;
        int rc = t_cli(NULL, &err, "train '%s' --model %s --num-layers %d --rnn-size %d --batch-size 4 --seq-length 8 "
                     "--max-iters 1 --checkpoint-dir '%s'", corpus, cases[i].cell, cases[i].layers, H, dir);
        CHECKF(rc == 0, "%s: exit %d: %s", name, rc, err);
        char w[128];
        snprintf(w, sizeof w, "%ld parameters", want);
        CHECKF(strstr(err, w), "%s: train should report \"%s\": %s", name, w, err);
        free(err);
        rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
        long got = (long)last_number_after(out, "parameters:");
        CHECKF(rc == 0 && got == want, "%s (V = %d): info says %ld parameters, expected %ld: %s %s", name, V, got, want,
               out, err);
        snprintf(w, sizeof w, "vocabulary:     %d code points", V);
        CHECKF(strstr(out, w), "%s: expected \"%s\": %s", name, w, out);
        snprintf(w, sizeof w, "%s, %d layers x %d", cases[i].cell, cases[i].layers, H);
        CHECKF(strstr(out, w), "%s: expected \"%s\": %s", name, w, out);
        CHECKF(last_number_after(out, "trained:") == 1, "%s: should be trained 1 iteration: %s", name, out);
        free(out);
        free(err);
    }
}

void register_cli_eval_tests(void) {
    t_register("cli_eval", test_eval);
    t_register("cli_eval_split", test_eval_split);
    t_register("cli_info_params", test_info_params);
}
