/* dist.c: the collective operations of data-parallel training (see dist.h).
 * With CHARRNN_MPI they are MPI's; without, there is one rank and they do
 * nothing (or copy). MPI_Init is the program's business (charrnn_mpi_init). */
#include "dist.h"
#include "charrnn.h"

#include <string.h>
#ifdef CHARRNN_MPI
#include <mpi.h>
#include <stdlib.h>

static int initialised(void) {
    int f = 0;
    MPI_Initialized(&f);
    if (!f) return 0;
    int done = 0;
    MPI_Finalized(&done);
    return !done;
}

int dist_rank(void) {
    int r = 0;
    if (initialised()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int dist_size(void) {
    int n = 1;
    if (initialised()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void dist_sum_floats(float *x, size_t n) {
    /* one call for buffers up to 2^31 floats; larger ones in slices */
    while (dist_size() > 1 && n) {
        int k = n > 1073741824u ? 1073741824 : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, x, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        x += k;
        n -= (size_t)k;
    }
}

void dist_sum_doubles(double *x, size_t n) {
    if (dist_size() > 1) MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int dist_or_int(int v) {
    if (dist_size() > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_BOR, MPI_COMM_WORLD);
    return v;
}

uint64_t dist_min_u64(uint64_t v) {
    if (dist_size() > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    return v;
}

uint64_t dist_max_u64(uint64_t v) {
    if (dist_size() > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

void dist_gather_floats(const float *part, int count, float *all) {
    const int P = dist_size();
    if (P == 1) { memcpy(all, part, sizeof(float) * (size_t)count); return; }
    int *counts = NULL, *displs = NULL;
    if (dist_rank() == 0) {
        counts = malloc(sizeof(int) * (size_t)P);
        displs = malloc(sizeof(int) * (size_t)P);
    }
    MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (dist_rank() == 0)
        for (int r = 0, off = 0; r < P; r++) { displs[r] = off; off += counts[r]; }
    MPI_Gatherv(part, count, MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
    free(counts);
    free(displs);
}

int charrnn_mpi_init(int *argc, char ***argv) {
    int provided;
    if (initialised()) return CHARRNN_OK;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return CHARRNN_EIO;
    return CHARRNN_OK;
}

void charrnn_mpi_finalize(void) {
    if (initialised()) MPI_Finalize();
}

void charrnn_mpi_abort(int code) {
    if (initialised() && dist_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
}
#else
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
void dist_sum_floats(float *x, size_t n) { (void)x; (void)n; }
void dist_sum_doubles(double *x, size_t n) { (void)x; (void)n; }
int dist_or_int(int v) { return v; }
uint64_t dist_min_u64(uint64_t v) { return v; }
uint64_t dist_max_u64(uint64_t v) { return v; }
void dist_gather_floats(const float *part, int count, float *all) { memcpy(all, part, sizeof(float) * (size_t)count); }
int charrnn_mpi_init(int *argc, char ***argv) { (void)argc; (void)argv; return CHARRNN_OK; }
void charrnn_mpi_finalize(void) {}
void charrnn_mpi_abort(int code) { (void)code; }
#endif

int charrnn_rank(void) { return dist_rank(); }
int charrnn_num_ranks(void) { return dist_size(); }
int charrnn_ranks_agree(int flags) { return dist_or_int(flags); }
