/* gemm_rate.c: the hardware limit for one training iteration. Runs exactly the
 * cblas_sgemm calls (same shapes, same counts) that one charrnn iteration of an
 * LSTM/GRU/RNN with the given sizes makes, and reports their rate in GFLOP/s, so
 * charrnn's achieved rate can be stated as a fraction of what BLAS alone reaches.
 *
 *   bench/gemm_rate CELL L H B T V THREADS [bf16]   e.g. bench/gemm_rate lstm 2 512 100 100 65 2
 *
 * With bf16, the same products through charrnn's bf16 kernel (src/backend/bf16.c) as
 * the model makes them: the weights packed once, activations packed per call.
 *
 * Prints one JSON line: flops per iteration, best and median seconds, GFLOP/s. */
#include "bf16.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double flops;
static int use_bf16;
static bf16_mat act; /* bf16: an activation operand, packed per call */

/* C (M x N) (+)= op(A) op(B): counts 2*M*N*K. pb: op(B) already packed for bf16
 * (a weight matrix, packed once as the model does), or NULL (packed here). */
static void gemm(int ta, int tb, int M, int N, int K, const float *A, const float *B, const bf16_mat *pb, float beta,
                 float *C) {
    if (use_bf16) {
        if (!pb) bf16_pack(&act, B, tb ? K : N, tb, K, N), pb = &act;
        bf16_gemm(M, N, K, A, ta ? M : K, ta, pb, beta, C, N);
    } else {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                    ta ? M : K, B, tb ? K : N, beta, C, N);
    }
    flops += 2.0 * M * N * K;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: gemm_rate lstm|gru|rnn L H B T V THREADS [bf16]\n");
        return 2;
    }
    use_bf16 = argc == 9 && !strcmp(argv[8], "bf16");
    if (use_bf16 && !bf16_supported()) {
        fprintf(stderr, "gemm_rate: this processor has no AVX512-BF16\n");
        return 1;
    }
    int G = !strcmp(argv[1], "lstm") ? 4 : !strcmp(argv[1], "gru") ? 3 : 1;
    int L = atoi(argv[2]), H = atoi(argv[3]), B = atoi(argv[4]), T = atoi(argv[5]), V = atoi(argv[6]);
    int threads = atoi(argv[7]);
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
    const int GH = G * H, TB = T * B;
    size_t big = (size_t)TB * GH;
    float *gates = calloc(big, 4), *dgates = calloc(big, 4), *hs = calloc((size_t)(TB + B) * H, 4);
    float *x = calloc((size_t)TB * H, 4), *dx = calloc((size_t)TB * H, 4), *logits = calloc((size_t)TB * V, 4);
    float *w = calloc((size_t)GH * H, 4), *dw = calloc((size_t)GH * H, 4), *dec = calloc((size_t)V * H, 4);
    float *ddec = calloc((size_t)V * H, 4), *dh = calloc((size_t)B * H, 4);
    if (!gates || !dgates || !hs || !x || !dx || !logits || !w || !dw || !dec || !ddec || !dh) return 1;
    for (size_t i = 0; i < big; i++) { gates[i] = 1e-3f * (float)(i % 7); dgates[i] = gates[i]; }
    for (size_t i = 0; i < (size_t)GH * H; i++) w[i] = 1e-3f * (float)(i % 5);
    bf16_mat w_t = {0}, w_n = {0}, dec_t = {0}, dec_n = {0}; /* op W^T and op W of both weight matrices */
    if (use_bf16 && (bf16_pack(&w_t, w, H, 1, H, GH) || bf16_pack(&w_n, w, H, 0, GH, H) ||
                     bf16_pack(&dec_t, dec, H, 1, H, V) || bf16_pack(&dec_n, dec, H, 0, V, H)))
        return 1;
    enum { REPS = 7 };
    double times[REPS], per_iter_flops = 0;
    for (int rep = -1; rep < REPS; rep++) { /* rep -1: warm-up */
        flops = 0;
        double t0 = now();
        /* forward: hoisted input projection (layers > 0), one product per step, decoder */
        for (int l = 0; l < L; l++) {
            if (l > 0) gemm(0, 1, TB, GH, H, x, w, &w_t, 0.0f, gates);
            for (int s = 0; s < T; s++) gemm(0, 1, B, GH, H, hs + (size_t)s * B * H, w, &w_t, 1.0f, gates + (size_t)s * B * GH);
        }
        gemm(0, 1, TB, V, H, x, dec, &dec_t, 1.0f, logits);
        /* backward: decoder, then per layer dh(t-1) per step and the large weight products */
        gemm(1, 0, V, H, TB, logits, x, NULL, 1.0f, ddec);
        gemm(0, 0, TB, H, V, logits, dec, &dec_n, 0.0f, dx);
        for (int l = L - 1; l >= 0; l--) {
            for (int s = T - 1; s > 0; s--) gemm(0, 0, B, H, GH, dgates + (size_t)s * B * GH, w, &w_n, 0.0f, dh);
            gemm(1, 0, GH, H, TB, dgates, hs, NULL, 1.0f, dw);
            if (l > 0) {
                gemm(1, 0, GH, H, TB, dgates, x, NULL, 1.0f, dw);
                gemm(0, 0, TB, H, GH, dgates, w, &w_n, 0.0f, dx);
            }
        }
        if (rep >= 0) times[rep] = now() - t0;
        per_iter_flops = flops;
    }
    qsort(times, REPS, sizeof times[0], cmp);
    printf("{\"precision\":\"%s\",\"cell\":\"%s\",\"layers\":%d,\"hidden\":%d,\"batch\":%d,\"seq\":%d,\"vocab\":%d,\"threads\":%d,"
           "\"flops_per_iter\":%.0f,\"best_s\":%.6f,\"median_s\":%.6f,\"gflops_best\":%.2f,\"gflops_median\":%.2f}\n",
           use_bf16 ? "bf16" : "fp32", argv[1], L, H, B, T, V, threads, per_iter_flops, times[0], times[REPS / 2], per_iter_flops / times[0] / 1e9,
           per_iter_flops / times[REPS / 2] / 1e9);
    return 0;
}
