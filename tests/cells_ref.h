/* cells_ref.h: reference versions of the cell steps in cells.h (same arguments,
 * same results up to rounding), kept for tests of the fast kernels. */
#ifndef CHARRNN_CELLS_REF_H
#define CHARRNN_CELLS_REF_H

void lstm_cell_forward_ref(float *g, const float *bias, const float *c_prev, float *c, float *tc, float *h, int b, int H);
void lstm_cell_backward_ref(float *dgates, const float *dh, float *dc, const float *dout, const float *g,
                            const float *c_prev, const float *tc, int b, int H);
void gru_cell_forward_ref(float *gx, const float *bias, const float *gh, const float *b_hn, const float *h_prev,
                          float *hn, float *h, int b, int H);
void gru_cell_backward_ref(float *dgx, float *dgh, float *dh, const float *dout, const float *g, const float *hn,
                           const float *h_prev, int b, int H);
void rnn_cell_forward_ref(const float *g, const float *bias, float *h, int b, int H);
void rnn_cell_backward_ref(float *dgates, const float *dh, const float *dout, const float *h, int b, int H);

#endif
