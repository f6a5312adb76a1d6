/* cells_ref.c: the slow, obviously correct reference of every cell step, one
 * element at a time in double precision, straight from the formulas in cells.h.
 * Not used by the program: tests/test_model.c checks the fast, fused and
 * vectorised kernels of cells.c against it. */
#include "cells_ref.h"

#include <math.h>
#include <stddef.h>

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

void lstm_cell_forward_ref(float *g, const float *bias, const float *c_prev, float *c, float *tc, float *h, int b, int H) {
    for (int r = 0; r < b; r++)
        for (int j = 0; j < H; j++) {
            float *row = g + (size_t)r * 4 * H;
            double i = sig((double)row[j] + bias[j]);
            double f = sig((double)row[H + j] + bias[H + j]);
            double gg = tanh((double)row[2 * H + j] + bias[2 * H + j]);
            double o = sig((double)row[3 * H + j] + bias[3 * H + j]);
            double cn = f * c_prev[(size_t)r * H + j] + i * gg;
            row[j] = (float)i;
            row[H + j] = (float)f;
            row[2 * H + j] = (float)gg;
            row[3 * H + j] = (float)o;
            c[(size_t)r * H + j] = (float)cn;
            tc[(size_t)r * H + j] = (float)tanh(cn);
            h[(size_t)r * H + j] = (float)(o * tanh(cn));
        }
}

void lstm_cell_backward_ref(float *dgates, const float *dh, float *dc, const float *dout, const float *g,
                            const float *c_prev, const float *tc, int b, int H) {
    for (int r = 0; r < b; r++)
        for (int j = 0; j < H; j++) {
            const float *row = g + (size_t)r * 4 * H;
            float *drow = dgates + (size_t)r * 4 * H;
            size_t k = (size_t)r * H + j;
            double i = row[j], f = row[H + j], gg = row[2 * H + j], o = row[3 * H + j], t = tc[k];
            double dht = (double)dout[k] + dh[k];
            double dct = dc[k] + dht * o * (1 - t * t); /* through h = o tanh(c) */
            drow[j] = (float)(dct * gg * i * (1 - i));
            drow[H + j] = (float)(dct * c_prev[k] * f * (1 - f));
            drow[2 * H + j] = (float)(dct * i * (1 - gg * gg));
            drow[3 * H + j] = (float)(dht * t * o * (1 - o));
            dc[k] = (float)(dct * f);
        }
}

void gru_cell_forward_ref(float *gx, const float *bias, const float *gh, const float *b_hn, const float *h_prev,
                          float *hn, float *h, int b, int H) {
    for (int r = 0; r < b; r++)
        for (int j = 0; j < H; j++) {
            float *x = gx + (size_t)r * 3 * H;
            const float *hh = gh + (size_t)r * 3 * H;
            size_t k = (size_t)r * H + j;
            double rg = sig((double)x[j] + bias[j] + hh[j]);
            double z = sig((double)x[H + j] + bias[H + j] + hh[H + j]);
            double hnj = (double)hh[2 * H + j] + b_hn[j];
            double n = tanh((double)x[2 * H + j] + bias[2 * H + j] + rg * hnj);
            x[j] = (float)rg;
            x[H + j] = (float)z;
            x[2 * H + j] = (float)n;
            hn[k] = (float)hnj;
            h[k] = (float)((1 - z) * n + z * h_prev[k]);
        }
}

void gru_cell_backward_ref(float *dgx, float *dgh, float *dh, const float *dout, const float *g, const float *hn,
                           const float *h_prev, int b, int H) {
    for (int r = 0; r < b; r++)
        for (int j = 0; j < H; j++) {
            const float *row = g + (size_t)r * 3 * H;
            float *dx = dgx + (size_t)r * 3 * H, *dhh = dgh + (size_t)r * 3 * H;
            size_t k = (size_t)r * H + j;
            double rg = row[j], z = row[H + j], n = row[2 * H + j];
            double dht = (double)dout[k] + dh[k];
            double dn = dht * (1 - z), dz = dht * (h_prev[k] - n);
            double dn_pre = dn * (1 - n * n);
            double dr = dn_pre * hn[k];
            dx[j] = dhh[j] = (float)(dr * rg * (1 - rg));
            dx[H + j] = dhh[H + j] = (float)(dz * z * (1 - z));
            dx[2 * H + j] = (float)dn_pre;
            dhh[2 * H + j] = (float)(dn_pre * rg);
            dh[k] = (float)(dht * z);
        }
}

void rnn_cell_forward_ref(const float *g, const float *bias, float *h, int b, int H) {
    for (int r = 0; r < b; r++)
        for (int j = 0; j < H; j++) h[(size_t)r * H + j] = (float)tanh((double)g[(size_t)r * H + j] + bias[j]);
}

void rnn_cell_backward_ref(float *dgates, const float *dh, const float *dout, const float *h, int b, int H) {
    for (size_t k = 0; k < (size_t)b * H; k++) dgates[k] = (float)(((double)dout[k] + dh[k]) * (1 - (double)h[k] * h[k]));
}
