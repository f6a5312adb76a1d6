/* step_rate.c: the library's batched sampling step alone, with no server around
 * it: what `charrnn serve`'s continuous batching can at best buy on this machine.
 * For each batch size, precision and thread count it times charrnn_sampler_step
 * with every stream active (primed with "The ") and prints microseconds per
 * step, characters per second and the gain over batch 1 in the same run.
 *
 *   build/release/step_rate CHECKPOINT [BATCH,...] [fp32,bf16] [THREADS,...]
 *   (defaults: 1,8,64  fp32,bf16  1,2) */
#include "charrnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int list(const char *s, int *out, int max) {
    int n = 0;
    for (char *end; *s && n < max; s = *end ? end + 1 : end) out[n++] = (int)strtol(s, &end, 10);
    return n;
}

/* Seconds per step at batch b: at least 0.3 s of steps after 50 untimed ones. */
static double step_time(charrnn_model *m, int b) {
    charrnn_error e = {0};
    charrnn_sampler *s;
    if (charrnn_sampler_open(&s, m, b, 1, &e)) { fprintf(stderr, "step_rate: %s\n", e.msg); exit(1); }
    unsigned char *act = malloc((size_t)b);
    uint32_t *out = malloc((size_t)b * sizeof *out);
    for (int j = 0; j < b; j++) {
        act[j] = 1;
        if (charrnn_sampler_stream_reset(s, j, (uint64_t)j + 1, NULL, &e) ||
            charrnn_sampler_stream_prime(s, j, "The ", 4, NULL, NULL, 0, NULL, &e)) { fprintf(stderr, "step_rate: %s\n", e.msg); exit(1); }
    }
    for (int i = 0; i < 50; i++) charrnn_sampler_step(s, act, out, &e);
    long n = 0;
    double t0 = now(), t;
    while ((t = now() - t0) < 0.3)
        for (int i = 0; i < 20; i++, n++) charrnn_sampler_step(s, act, out, &e);
    charrnn_sampler_close(s);
    free(act);
    free(out);
    return t / (double)n;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: step_rate CHECKPOINT [BATCH,...] [fp32,bf16] [THREADS,...]\n"); return 2; }
    int batch[16], threads[16];
    int nb = list(argc > 2 ? argv[2] : "1,8,64", batch, 16), nt = list(argc > 4 ? argv[4] : "1,2", threads, 16);
    const char *precs = argc > 3 ? argv[3] : "fp32,bf16";
    charrnn_error e = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, argv[1], &e)) { fprintf(stderr, "step_rate: %s\n", e.msg); return 1; }
    printf("%s\n", charrnn_processor_info());
    printf("%-9s %7s %5s %10s %12s %14s\n", "precision", "threads", "batch", "us/step", "chars/s", "vs batch 1");
    for (int bf = 0; bf < 2; bf++) {
        if (!strstr(precs, bf ? "bf16" : "fp32")) continue;
        for (int ti = 0; ti < nt; ti++) {
            charrnn_model_set_threads(m, threads[ti]);
            if (charrnn_model_set_precision(m, bf ? CHARRNN_PRECISION_BF16 : CHARRNN_PRECISION_FP32, &e)) {
                printf("%-9s %s\n", bf ? "bf16" : "fp32", e.msg);
                break;
            }
            double one = 0;
            for (int bi = 0; bi < nb; bi++) {
                double t = step_time(m, batch[bi]);
                if (batch[bi] == 1) one = t;
                printf("%-9s %7d %5d %10.1f %12.0f", bf ? "bf16" : "fp32", threads[ti], batch[bi], t * 1e6, batch[bi] / t);
                if (one > 0) printf(" %13.1fx", batch[bi] * one / t);
                printf("\n");
            }
        }
    }
    charrnn_model_close(m);
    return 0;
}
