/* threads.h: how many threads the library's work uses. A process-wide default
 * (charrnn_set_threads; 0: the cores the process may use), and a per-handle count applied only for the duration
 * of a library call and then restored, so a program that uses OpenMP or
 * OpenBLAS itself keeps its own settings. */
#ifndef CHARRNN_THREADS_H
#define CHARRNN_THREADS_H

#include <stddef.h>

typedef struct thread_scope { int omp, blas, active; } thread_scope;

/* Applies n threads (n <= 0: leave everything as it is) until threads_leave. */
void threads_enter(thread_scope *s, int n);
void threads_leave(const thread_scope *s);

/* The cores this process may use: the CPUs of its affinity mask (taskset),
 * capped by its cgroup's CPU quota, at least 1; decided once. affinity and
 * quota (may be NULL) get the two (quota 0: no cap). */
int threads_usable(int *affinity, int *quota);
/* A cgroup v2 cpu.max ("QUOTA PERIOD", "max PERIOD"): the cores its quota
 * allows, ceil(QUOTA / PERIOD); 0 for no cap or text it does not understand. */
int threads_cpu_max_cap(const char *text);
/* The same from cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us ("-1": no cap). */
int threads_cfs_cap(const char *quota, const char *period);
/* Where the process's thread count came from, in words, into out: "affinity 2,
 * cgroup quota none" for the default, "OMP_NUM_THREADS; usable: ...", ... */
const char *threads_origin(char *out, size_t cap);

#endif
