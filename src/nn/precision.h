/* precision.h: what --precision auto picks, by measurement. The work a run
 * does (its batch, the steps of one pass, forward only or forward and
 * backward) is timed on a scratch network of the run's shape, in float32 and in
 * bf16, at the calling thread count; bf16 is taken only where it is clearly the
 * faster. Products, not a microbenchmark of one instruction: a processor whose
 * VDPBF16PS is fast can still lose in the packing, the cell math or OpenBLAS's
 * better-tuned float32 kernels at small shapes. */
#ifndef CHARRNN_PRECISION_H
#define CHARRNN_PRECISION_H

#include "charrnn.h"

/* bf16 is picked when a pass takes at most this fraction of float32's time:
 * rounding the operands costs accuracy, so a tie goes to float32. */
#define PRECISION_BF16_MARGIN 0.9

typedef struct precision_choice {
    int bf16;           /* the pick */
    int measured;       /* 0: not timed (no AVX512-BF16, forced, or no memory for the scratch network) */
    double t32, t16;    /* seconds per pass of `steps` steps, best of several */
    int steps;          /* steps of the timed pass (the run's, or fewer for long sequences) */
    char note[256];     /* one line: what was picked and why */
} precision_choice;

/* Decides for a network of cfg's shape with V symbols doing passes of batch
 * streams x steps steps, training (forward and backward, the weights changing
 * every pass) or not (forward only). Takes a few milliseconds (more for large
 * networks: at least one pass each way), once per process for each shape,
 * work and thread count. CHARRNN_AUTO_PRECISION=fp32|bf16 in the environment
 * takes the decision instead (tests). Never fails: without a measurement, fp32. */
void precision_choose(const charrnn_model_config *cfg, int V, int batch, int steps, int training, int threads,
                      precision_choice *out);

#endif
