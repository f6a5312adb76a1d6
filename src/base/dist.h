/* dist.h: data-parallel training over MPI ranks (make MPI=1), and the same
 * calls as no-ops in a build without MPI (one rank). The trainer divides the
 * global batch among the ranks and sums the gradients with one in-place
 * allreduce; these are the collective operations it needs. */
#ifndef CHARRNN_DIST_H
#define CHARRNN_DIST_H

#include <stddef.h>
#include <stdint.h>

int dist_rank(void);
int dist_size(void);
/* In place, over all ranks. */
void dist_sum_floats(float *x, size_t n);
void dist_sum_doubles(double *x, size_t n);
int dist_or_int(int v);
uint64_t dist_min_u64(uint64_t v);
uint64_t dist_max_u64(uint64_t v);
/* Rank r's count floats at part go, in rank order, into all on rank 0
 * (all: the sum of the counts); counts may differ between ranks. */
void dist_gather_floats(const float *part, int count, float *all);

#endif
