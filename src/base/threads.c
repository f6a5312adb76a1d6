/* threads.c: thread counts. OpenMP's count (nthreads-var) belongs to the calling
 * thread, and OpenBLAS's OpenMP build follows it at every call, so a per-handle
 * count set on entry and restored on exit touches nobody else. OpenBLAS's
 * pthreads build keeps one process-wide count: it is set and restored too, but
 * a BLAS call made by another thread during ours sees our count (documented). */
#include "threads.h"
#include "charrnn.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS's own API (cblas.h declares it): 0 sequential, 1 pthreads, 2 OpenMP. */
static int blas_is_openmp(void) { return openblas_get_parallel() == 2; }

void charrnn_set_threads(int n) {
    if (n <= 0) return;
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int charrnn_get_threads(void) {
#ifdef _OPENMP
    if (blas_is_openmp()) return omp_get_max_threads();
#endif
    return openblas_get_num_threads();
}

void threads_enter(thread_scope *s, int n) {
    s->active = n > 0;
    if (!s->active) return;
#ifdef _OPENMP
    s->omp = omp_get_max_threads();
    omp_set_num_threads(n);
#endif
    s->blas = openblas_get_num_threads();
    if (!blas_is_openmp()) openblas_set_num_threads(n);
}

void threads_leave(const thread_scope *s) {
    if (!s->active) return;
#ifdef _OPENMP
    omp_set_num_threads(s->omp);
#endif
    if (!blas_is_openmp()) openblas_set_num_threads(s->blas);
}

/* Debian 12's OpenBLAS (0.3.21) takes processors newer than it (Intel's Emerald
 * Rapids, model 207, for one) for a Pentium 4 ("Prescott") and runs SSE3
 * kernels: float32 products 3x slower. The core it should use, for the caller
 * to set OPENBLAS_CORETYPE before OpenBLAS loads; NULL when there is nothing
 * to fix (or OPENBLAS_CORETYPE is already set). */
const char *charrnn_blas_core_hint(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott")) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}
