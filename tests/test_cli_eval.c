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
    t_register("cli_info_params", test_info_params);
}
