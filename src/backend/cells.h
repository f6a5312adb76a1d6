/* cells.h: the elementwise math of one time step of each cell, forward and
 * backward, over b rows of hidden size H, fused into one pass each. The matrix
 * products around them are in cpu_passes.c. Gate order and formulas are PyTorch's. */
#ifndef CHARRNN_CELLS_H
#define CHARRNN_CELLS_H

#include <stddef.h>
#include <stdint.h>

/* LSTM. g: (b, 4H) input and hidden projections [i f g o] in (bias: (4H) is
 * added here), activated gates out. tc: tanh(c'), kept for backward.
 *   i = s(.), f = s(.), g = tanh(.), o = s(.); c' = f*c + i*g; h' = o*tanh(c') */
void lstm_cell_forward(float *g, const float *bias, const float *c_prev, float *c, float *tc, float *h, int b, int H);
/* dgates: (b, 4H) out, gradients of the pre-activations. dh: (b, H) in, the
 * gradient from step t+1 (added to dout). dc: (b, H) in: from t+1, out: to t-1. */
void lstm_cell_backward(float *dgates, const float *dh, float *dc, const float *dout,
                        const float *g, const float *c_prev, const float *tc, int b, int H);

/* GRU. gx: (b, 3H) [r z n] input projections in, r, z, n out. bias: (3H)
 * b_ih (+ b_hh for r, z). gh: (b, 3H) h W_hh^T (no bias). b_hn: (H).
 *   r = s(gx_r + gh_r); z = s(gx_z + gh_z); hn = gh_n + b_hn;
 *   n = tanh(gx_n + r*hn); h' = (1-z)*n + z*h */
void gru_cell_forward(float *gx, const float *bias, const float *gh, const float *b_hn, const float *h_prev,
                      float *hn, float *h, int b, int H);
/* dgx, dgh: (b, 3H) out: gradients w.r.t. the input-side and hidden-side
 * pre-activations (they differ in the n block: dgh_n = dn_pre * r). dh: (b, H) in
 * from t+1; out: the direct part dh*z, to which the caller adds dgh W_hh. */
void gru_cell_backward(float *dgx, float *dgh, float *dh, const float *dout, const float *g,
                       const float *hn, const float *h_prev, int b, int H);

/* tanh RNN. g: (b, H) projections, bias: (H); h' = tanh(g + bias). */
void rnn_cell_forward(const float *g, const float *bias, float *h, int b, int H);
/* dgates: (b, H) out; dh: (b, H) in from t+1. */
void rnn_cell_backward(float *dgates, const float *dh, const float *dout, const float *h, int b, int H);

/* Softmax of rows x V logits into probs; returns the summed cross-entropy (nats)
 * of targets y (0 if y is NULL). */
double softmax_xent_forward(float *probs, const float *logits, const int32_t *y, size_t rows, int V);
/* dlogits = (probs - onehot(y)) / rows: the gradient of the mean loss. */
void softmax_xent_backward(float *dlogits, const float *probs, const int32_t *y, size_t rows, int V);

/* q = exp((logits - max) / temperature), unnormalised; returns its sum. */
float tempered_exp(float *q, const float *logits, int V, float temperature);

/* Which compiled variant of these kernels runs: "native" (-march=native), or in
 * a PORTABLE build "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2 + FMA) or "x86-64"
 * chosen at run time. Results differ in the last bits between variants. */
const char *cells_kernel_name(void);

#endif
