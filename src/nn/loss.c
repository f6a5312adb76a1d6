/* loss.c: the loss of a network on a slice of a corpus (see loss.h). */
#include "loss.h"

#include <math.h>

int loss_default_streams(size_t n, int seq_length, int max_streams) {
    size_t targets = n > 1 ? n - 1 : 0, b = targets / (size_t)(seq_length > 0 ? seq_length : 1);
    if (b > (size_t)max_streams) b = (size_t)max_streams;
    return b < 1 ? 1 : (int)b;
}

double corpus_loss_part(model *net, const corpus *c, size_t begin, size_t n, int streams, int first, int count,
                        int with_rest, int32_t *x, int32_t *y, double *sum, long *cnt_out, charrnn_progress_fn progress,
                        void *ctx, int *stopped) {
    double total = 0.0;
    long cnt = 0;
    if (stopped) *stopped = 0;
    if (n >= 2) {
        const size_t targets = n - 1, T = (size_t)net->T;
        size_t b, len;
        score_cut(n, streams, &b, &len);
        /* the streams [first, first + count) of pass 0, net->B at a time, then (with_rest) the remainder stream */
        for (int g = first; g < first + count || (with_rest && g == first + count); ) {
            int rest = g >= first + count;
            size_t nb = rest ? 1 : (size_t)(first + count - g < net->B ? first + count - g : net->B);
            size_t nlen = rest ? targets - b * len : len;
            size_t base = rest ? begin + b * len : begin + (size_t)g * len;
            g += rest ? 1 : (int)nb;
            if (nlen == 0 || (!rest && (size_t)(g - (int)nb) >= b)) continue;
            model_reset_state(net);
            for (size_t pos = 0; pos < nlen; pos += T) {
                size_t tt = nlen - pos < T ? nlen - pos : T;
                for (size_t s = 0; s < tt; s++)
                    for (size_t j = 0; j < nb; j++) {
                        size_t at = base + j * nlen + pos + s;
                        x[s * nb + j] = (int32_t)corpus_id(c, at);
                        y[s * nb + j] = (int32_t)corpus_id(c, at + 1);
                    }
                double l = model_forward(net, x, y, (int)nb, (int)tt, 0, NULL);
                total += l * (double)(nb * tt);
                cnt += (long)(nb * tt);
                if (!isfinite(total)) break;
                if (progress && progress(ctx, cnt, (long)targets)) {
                    if (stopped) *stopped = 1;
                    g = first + count + 1; /* no more groups */
                    break;
                }
            }
            if (!isfinite(total)) break;
        }
    }
    *sum = total;
    *cnt_out = cnt;
    return cnt ? total / (double)cnt : NAN;
}

double corpus_loss(model *net, const corpus *c, size_t begin, size_t n, int streams, int32_t *x, int32_t *y,
                   long *count, charrnn_progress_fn progress, void *ctx, int *stopped) {
    double sum;
    long cnt;
    corpus_loss_part(net, c, begin, n, streams, 0, streams > 0 ? streams : 1, 1, x, y, &sum, &cnt, progress, ctx, stopped);
    if (count) *count = cnt;
    if (stopped && *stopped) return NAN;
    return cnt ? sum / (double)cnt : NAN;
}
