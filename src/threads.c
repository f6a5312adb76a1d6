/* threads.c: thread counts. OpenMP's count (nthreads-var) belongs to the calling
 * thread, and OpenBLAS's OpenMP build follows it at every call, so a per-handle
 * count set on entry and restored on exit touches nobody else. OpenBLAS's
 * pthreads build keeps one process-wide count: it is set and restored too, but
 * a BLAS call made by another thread during ours sees our count (documented). */
#include "threads.h"
#include "charrnn.h"

#include <cblas.h>
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
