/* test_bf16.c: the bfloat16 products and mixed-precision training.
 * - bf16_gemm equals the product of the bf16-rounded operands summed in double,
 *   to float32 accumulation error, for every transpose, odd shapes that cut the
 *   8 x 32 tiles and the 256-long k blocks, beta 0 / 1 / 0.5, and 1 or 2 threads
 *   (bit-identical results);
 * - against the float32 product it is within bf16's rounding (2^-8 relative per
 *   operand, growing as sqrt(K) for random signs);
 * - a model trained with bf16 products follows the float32 loss trajectory, and
 *   its forward loss and gradients are within bf16 rounding of float32's;
 * - where the processor has no AVX512-BF16 (or CHARRNN_NO_BF16=1), --precision
 *   bf16 is a one-line error and auto says once that it uses float32;
 * - auto times the run's own work in both precisions and picks what its times
 *   say, once per process and shape; CHARRNN_AUTO_PRECISION decides it instead. */
#include "test.h"

#include "bf16.h"
#include "model.h"
#include "precision.h"
#include "rng.h"
#include "charrnn.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* t_run of a printf-formatted command */
static int sh(char **out, char **err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd = t_vfmt(fmt, ap);
    va_end(ap);
    int rc = t_run(cmd, out, err);
    free(cmd);
    return rc;
}

static int skip_unsupported(void) {
    if (bf16_supported()) return 0;
    t_skip("this processor has no AVX512-BF16");
    return 1;
}

static void fill(float *x, size_t n, unsigned seed) {
    unsigned s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 2.0f;
    }
}

/* One product checked against the double sum of rounded operands and float32. */
static int check_product(int M, int N, int K, int ta, int tb, float beta, int threads) {
    const int lda = ta ? M : K, ldb = tb ? K : N;
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
    float *C = malloc(sizeof(float) * (size_t)M * N), *C0 = malloc(sizeof(float) * (size_t)M * N);
    float *C32 = malloc(sizeof(float) * (size_t)M * N);
    fill(A, (size_t)M * K, (unsigned)(M * 7 + K));
    fill(B, (size_t)K * N, (unsigned)(N * 13 + K));
    fill(C0, (size_t)M * N, 99);
    memcpy(C, C0, sizeof(float) * (size_t)M * N);
    memcpy(C32, C0, sizeof(float) * (size_t)M * N);
    bf16_mat P = {0};
    int ok = bf16_pack(&P, B, ldb, tb, K, N) == 0;
#ifdef _OPENMP
    int was = omp_get_max_threads();
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    bf16_gemm(M, N, K, A, lda, ta, &P, beta, C, N);
#ifdef _OPENMP
    omp_set_num_threads(was);
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B,
                ldb, beta, C32, N);
    double worst_exact = 0, worst_f32 = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double a = bf16_round(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
                double b = bf16_round(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                s += a * b;
                mag += fabs(a * b);
            }
            s += beta * C0[(size_t)i * N + j];
            mag += fabs(beta * C0[(size_t)i * N + j]) + 1e-30;
            double c = C[(size_t)i * N + j];
            double e = fabs(c - s) / mag, f = fabs(c - C32[(size_t)i * N + j]) / (mag + 1e-30);
            if (e > worst_exact) worst_exact = e;
            if (f > worst_f32) worst_f32 = f;
        }
    /* float32 accumulation: about K ulps of the magnitude at worst; bf16: 2^-8 per operand */
    ok &= CHECKF(worst_exact < 2e-7 * (K + 8), "%dx%dx%d ta=%d tb=%d beta=%g threads %d: %.3g from the exact sum of the "
                 "rounded operands", M, N, K, ta, tb, beta, threads, worst_exact);
    ok &= CHECKF(worst_f32 < 1.6e-2, "%dx%dx%d ta=%d tb=%d: %.3g from float32, beyond bf16 rounding", M, N, K, ta, tb,
                 worst_f32);
    bf16_mat_free(&P);
    free(A);
    free(B);
    free(C);
    free(C0);
    free(C32);
    return ok;
}

static void test_gemm_shapes(void) {
    if (skip_unsupported()) return;
    static const int shapes[][3] = {{1, 1, 1},    {1, 32, 2},    {3, 17, 5},    {8, 32, 256}, {9, 33, 257},
                                    {1, 512, 128}, {50, 512, 128}, {65, 70, 513}, {130, 40, 31}, {7, 100, 600}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const float beta = (s % 3 == 0) ? 0.0f : (s % 3 == 1) ? 1.0f : 0.5f;
                if (!check_product(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, beta, 1)) return;
            }
}

/* the same bits with 1 and 2 threads (the product splits across threads) */
static void test_gemm_threads(void) {
    if (skip_unsupported()) return;
    const int M = 300, N = 200, K = 700;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = calloc((size_t)M * N, sizeof(float)), *C2 = calloc((size_t)M * N, sizeof(float));
    fill(A, (size_t)M * K, 1);
    fill(B, (size_t)K * N, 2);
    bf16_mat P = {0};
    CHECK(bf16_pack(&P, B, N, 0, K, N) == 0);
#ifdef _OPENMP
    int was = omp_get_max_threads();
    omp_set_num_threads(1);
    bf16_gemm(M, N, K, A, K, 0, &P, 0.0f, C1, N);
    omp_set_num_threads(2);
    bf16_gemm(M, N, K, A, K, 0, &P, 0.0f, C2, N);
    omp_set_num_threads(was);
#else
    bf16_gemm(M, N, K, A, K, 0, &P, 0.0f, C1, N);
    bf16_gemm(M, N, K, A, K, 0, &P, 0.0f, C2, N);
#endif
    CHECKF(!memcmp(C1, C2, sizeof(float) * M * N), "1 and 2 threads give different bits");
    CHECK(check_product(M, N, K, 0, 0, 0.0f, 2));
    bf16_mat_free(&P);
    free(A);
    free(B);
    free(C1);
    free(C2);
}

static void test_rounding(void) {
    CHECK(bf16_round(1.0f) == 1.0f);
    CHECK(bf16_round(1.0f + 1.0f / 256) == 1.0f);                   /* a tie rounds to even */
    CHECK(bf16_round(1.0f + 3.0f / 256) == 1.0f + 4.0f / 256);       /* a tie rounds to even (up) */
    CHECK(bf16_round(1.0f + 1.0f / 256 + 1.0f / 65536) == 1.0f + 2.0f / 256);
    CHECK(isnan(bf16_round(NAN)));
    CHECK(isinf(bf16_round(INFINITY)));
    CHECK(bf16_round(-2.5f) == -2.5f);
}

/* A model's loss and every gradient under bf16 products against float32's. */
static void test_model_gradients(void) {
    if (skip_unsupported()) return;
    static const charrnn_cell cells[] = {CHARRNN_LSTM, CHARRNN_GRU, CHARRNN_RNN};
    for (int ci = 0; ci < 3; ci++) {
        charrnn_model_config cfg = {cells[ci], 2, 48, 0.0f};
        model a, b;
        charrnn_error err = {0};
        const int B = 12, T = 20, V = 23;
        CHECK(model_init(&a, &cfg, V, &err) == 0 && model_init(&b, &cfg, V, &err) == 0);
        CHECK(model_alloc(&a, B, T, 1, &err) == 0 && model_alloc(&b, B, T, 1, &err) == 0);
        rng r;
        rng_seed(&r, 5, 0);
        model_init_weights(&a, &r);
        memcpy(model_params(&b), model_params(&a), sizeof(float) * a.num_params);
        model_weights_changed(&b);
        CHECK(model_set_bf16(&b, 1, &err) == 0);
        int32_t x[12 * 20], y[12 * 20];
        for (int i = 0; i < B * T; i++) x[i] = (i * 7 + i / 5) % V, y[i] = (i * 11 + 3) % V;
        double la = model_forward(&a, x, y, B, T, 1, &r), lb = model_forward(&b, x, y, B, T, 1, &r);
        model_zero_grad(&a);
        model_zero_grad(&b);
        model_backward(&a, x, y, B, T);
        model_backward(&b, x, y, B, T);
        CHECKF(fabs(la - lb) < 2e-3 * la, "%s: loss %.6f in bf16, %.6f in float32", charrnn_cell_name(cells[ci]), lb, la);
        double dot = 0, na = 0, nb = 0;
        const float *ga = model_grads(&a), *gb = model_grads(&b);
        for (size_t i = 0; i < a.num_params; i++) {
            dot += (double)ga[i] * gb[i];
            na += (double)ga[i] * ga[i];
            nb += (double)gb[i] * gb[i];
        }
        double cosine = dot / sqrt(na * nb), ratio = sqrt(nb / na);
        CHECKF(cosine > 0.999 && fabs(ratio - 1) < 0.01, "%s: the bf16 gradient is at cosine %.6f, norm ratio %.5f of "
               "float32's", charrnn_cell_name(cells[ci]), cosine, ratio);
        model_free(&a);
        model_free(&b);
    }
}

/* 150 steps of training on generated text: bf16 converges like float32. */
static void test_training_converges(void) {
    if (skip_unsupported()) return;
    const char *path = t_path("bf16.txt");
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 3000; i++) fprintf(f, "%s %d; ", (i % 3) ? "the cat sat on the mat" : "a dog ran", i % 17);
    fclose(f);
    char *o32 = NULL, *o16 = NULL, *e = NULL, *e32 = NULL;
    const char *common = "--rnn-size 64 --batch-size 16 --seq-length 32 --max-iters 150 --eval-val-every 150 "
                         "--print-every 50 --threads 1 --seed 3";
    int r1 = t_cli(&o32, &e32, "train '%s' %s --precision fp32 --checkpoint-dir '%s'", path, common, t_path("cv32"));
    int r2 = t_cli(&o16, &e, "train '%s' %s --precision bf16 --checkpoint-dir '%s'", path, common, t_path("cv16"));
    CHECKF(r1 == 0 && r2 == 0, "training failed: %s %s", e32, e);
    CHECKF(strstr(e, "precision: bf16") != NULL, "the bf16 run does not say so: %s", e);
    const char *p32 = strstr(e32, "validation at 150: val_loss = "), *p16 = strstr(e, "validation at 150: val_loss = ");
    double v32 = p32 ? atof(p32 + 30) : 0, v16 = p16 ? atof(p16 + 30) : 0;
    CHECKF(p32 && p16 && v32 < 1.5 && fabs(v16 / v32 - 1) < 0.03,
           "validation after 150 steps: bf16 %.4f, float32 %.4f (within 3%%, both learned)", v16, v32);
    free(o32);
    free(o16);
    free(e);
    free(e32);
    /* a bf16 checkpoint resumes in float32 */
    char *o = NULL;
    int rc = t_cli(&o, &e, "train '%s' --resume '%s/latest.safetensors' --max-iters 160 --precision fp32 --checkpoint-dir "
                   "'%s' --print-every 5", path, t_path("cv16"), t_path("cv16"));
    CHECKF(rc == 0 && strstr(e, "160/"), "resuming a bf16 run in float32: %s %s", o, e);
    free(o);
    free(e);
}

/* 300 short lines, written once */
static const char *small_corpus(void) {
    const char *path = t_path("bf16_small.txt");
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return path;
    }
    f = fopen(path, "w");
    for (int i = 0; i < 300; i++) fprintf(f, "abc def %d\n", i % 10);
    fclose(f);
    return path;
}

static void test_unsupported_refused(void) {
    const char *path = small_corpus();
    char *o = NULL, *e = NULL;
    int rc = sh(&o, &e, "CHARRNN_NO_BF16=1 %s train '%s' --max-iters 1 --precision bf16 --checkpoint-dir '%s'",
                         t_bin(), path, t_path("cvno"));
    CHECKF(rc == 2 && strstr(e, "--precision bf16") && strstr(e, "AVX512-BF16") && !strchr(strchr(e, '\n') ? strchr(e, '\n') + 1 : "", '\n'),
           "without AVX512-BF16, --precision bf16: rc %d, %s", rc, e);
    free(o);
    free(e);
    rc = sh(&o, &e, "CHARRNN_NO_BF16=1 %s train '%s' --max-iters 2 --checkpoint-dir '%s' --print-every 1", t_bin(), path,
                     t_path("cvauto"));
    CHECKF(rc == 0 && strstr(e, "precision: fp32") && strstr(e, "no AVX512-BF16"), "auto without bf16: %s %s", o, e);
    free(o);
    free(e);
    rc = sh(&o, &e, "%s train '%s' --max-iters 1 --precision half --checkpoint-dir '%s'", t_bin(), path, t_path("cvx"));
    CHECKF(rc != 0 && strstr(e, "--precision"), "an unknown precision: rc %d %s", rc, e);
    free(o);
    free(e);
}

/* Reads the measured note "X (auto: a KIND pass of B x T steps timed here at T16 ms in bf16, T32 ms in fp32" out of
 * a command's standard error; 1 if it is there. */
static int measured_note(const char *e, char *pick, char *kind, int *b, int *t, double *t16, double *t32) {
    const char *p = strstr(e, "precision: ");
    return p && sscanf(p, "precision: %4s (auto: a %15s pass of %d x %d steps timed here at %lf ms in bf16, %lf ms in fp32",
                       pick, kind, b, t, t16, t32) == 6;
}

/* Checks a measured note: the work is the run's (kind, b x t), and the pick agrees with the times it gives
 * (bf16 exactly when it takes at most 0.9x fp32's), whichever way the times fall on this machine. */
static void check_measured(const char *e, const char *kind, int b, int t, const char *what) {
    char pick[8] = "", k[16] = "";
    int nb = 0, nt = 0;
    double t16 = 0, t32 = 0;
    if (!CHECKF(measured_note(e, pick, k, &nb, &nt, &t16, &t32), "%s: no measured precision note in: %s", what, e)) return;
    CHECKF(!strcmp(k, kind) && nb == b && nt == t, "%s: timed a %s pass of %d x %d steps, not the run's %s %d x %d",
           what, k, nb, nt, kind, b, t);
    CHECKF(t16 > 0 && t32 > 0 && isfinite(t16) && isfinite(t32), "%s: times %g %g", what, t16, t32);
    const double ratio = t16 / t32; /* the printed times are rounded: near the margin, either pick is right */
    if (fabs(ratio - 0.9) > 0.01)
        CHECKF(!strcmp(pick, ratio <= 0.9 ? "bf16" : "fp32"), "%s: picked %s at %g vs %g ms", what, pick, t16, t32);
}

/* auto: CHARRNN_AUTO_PRECISION decides it either way without timing; otherwise the run's own work is timed
 * (the trainer's batch x seq_length, forward and backward; sampling's samples x 1 step; evaluation's
 * streams), the pick follows the times, and the decision is said once on standard error. */
static void test_auto_choice(void) {
    if (skip_unsupported()) return;
    const char *path = small_corpus();
    const char *noenv = "env -u CHARRNN_AUTO_PRECISION";
    char *o = NULL, *e = NULL;
    int rc = sh(&o, &e, "CHARRNN_AUTO_PRECISION=bf16 %s train '%s' --max-iters 2 --checkpoint-dir '%s' --print-every 1",
                t_bin(), path, t_path("cva2"));
    CHECKF(rc == 0 && strstr(e, "precision: bf16 (auto: CHARRNN_AUTO_PRECISION=bf16)"), "auto forced to bf16: %s", e);
    free(o);
    free(e);
    rc = sh(&o, &e, "CHARRNN_AUTO_PRECISION=fp32 %s train '%s' --max-iters 2 --checkpoint-dir '%s' --print-every 1",
            t_bin(), path, t_path("cva05"));
    CHECKF(rc == 0 && strstr(e, "precision: fp32 (auto: CHARRNN_AUTO_PRECISION=fp32)"), "auto forced to fp32: %s", e);
    free(o);
    free(e);
    rc = sh(&o, &e, "%s %s train '%s' --max-iters 1 --batch-size 7 --seq-length 13 --checkpoint-dir '%s' --print-every 1",
            noenv, t_bin(), path, t_path("cvam"));
    CHECK(rc == 0);
    check_measured(e, "training", 7, 13, "train");
    CHECKF(strstr(e, "processor: ") && strstr(e, "AVX512-BF16 yes") && strstr(e, "AMX "), "train names the processor: %s", e);
    const char *once = strstr(e, "precision: ");
    CHECKF(once && !strstr(once + 1, "precision: "), "the decision is said once: %s", e);
    free(o);
    free(e);
    rc = sh(&o, &e, "%s %s sample '%s/latest.safetensors' --length 20 --num-samples 3", noenv, t_bin(), t_path("cvam"));
    CHECK(rc == 0);
    check_measured(e, "forward", 3, 1, "sample");
    free(o);
    free(e);
    rc = sh(&o, &e, "%s %s eval '%s/latest.safetensors' '%s' --streams 5", noenv, t_bin(), t_path("cvam"), path);
    CHECK(rc == 0);
    check_measured(e, "forward", 5, 640, "eval");
    free(o);
    free(e);
}

/* The library's decision: measured once per process for a shape, work and thread count (the same
 * times the second time), and fp32 with the reason where the processor has no bf16. */
static void test_auto_cached(void) {
    if (skip_unsupported()) return;
    const char *force = getenv("CHARRNN_AUTO_PRECISION");
    char *saved = force ? strdup(force) : NULL;
    unsetenv("CHARRNN_AUTO_PRECISION");
    const charrnn_model_config cfg = {CHARRNN_GRU, 2, 40, 0.25f};
    precision_choice a, b, c;
    precision_choose(&cfg, 31, 6, 30, 1, 1, &a);
    precision_choose(&cfg, 31, 6, 30, 1, 1, &b);
    precision_choose(&cfg, 31, 6, 30, 0, 1, &c);
    CHECKF(a.measured && a.steps == 30 && a.t16 > 0 && a.t32 > 0, "measured: %s", a.note);
    CHECKF(b.t16 == a.t16 && b.t32 == a.t32 && !strcmp(a.note, b.note), "measured once: %s / %s", a.note, b.note);
    CHECKF(c.measured && strstr(c.note, "forward pass of 6 x 30"), "forward-only work is its own decision: %s", c.note);
    CHECKF(a.bf16 == (a.t16 <= PRECISION_BF16_MARGIN * a.t32), "the pick follows the times: %s", a.note);
    setenv("CHARRNN_NO_BF16", "1", 1);
    precision_choose(&cfg, 31, 6, 30, 1, 1, &c);
    CHECKF(!c.bf16 && !c.measured && strstr(c.note, "no AVX512-BF16"), "without bf16: %s", c.note);
    CHECKF(strstr(charrnn_processor_info(), "AVX512-BF16 no"), "processor info without bf16: %s", charrnn_processor_info());
    unsetenv("CHARRNN_NO_BF16");
    CHECKF(strstr(charrnn_processor_info(), "AVX512-BF16 yes"), "processor info: %s", charrnn_processor_info());
    if (saved) setenv("CHARRNN_AUTO_PRECISION", saved, 1);
    free(saved);
}

void register_bf16_tests(void) {
    t_register("bf16_auto_choice", test_auto_choice);
    t_register("bf16_auto_cached", test_auto_cached);
    t_register("bf16_rounding", test_rounding);
    t_register("bf16_gemm_shapes", test_gemm_shapes);
    t_register("bf16_gemm_threads", test_gemm_threads);
    t_register("bf16_model_gradients", test_model_gradients);
    t_register("bf16_training_converges", test_training_converges);
    t_register("bf16_unsupported_refused", test_unsupported_refused);
}
