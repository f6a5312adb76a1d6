/* threads.h: how many threads the library's work uses. A process-wide default
 * (charrnn_set_threads), and a per-handle count applied only for the duration
 * of a library call and then restored, so a program that uses OpenMP or
 * OpenBLAS itself keeps its own settings. */
#ifndef CHARRNN_THREADS_H
#define CHARRNN_THREADS_H

typedef struct thread_scope { int omp, blas, active; } thread_scope;

/* Applies n threads (n <= 0: leave everything as it is) until threads_leave. */
void threads_enter(thread_scope *s, int n);
void threads_leave(const thread_scope *s);

#endif
