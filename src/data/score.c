/* score.c: measuring a model's loss on a text (see score.h). */
#include "score.h"
#include "common.h"

#include <math.h>
#include <string.h>

void score_cut(size_t n, int streams, size_t *b, size_t *len) {
    size_t targets = n > 1 ? n - 1 : 0;
    *b = streams > 1 ? (size_t)streams : 1;
    if (*b > targets) *b = targets ? targets : 1;
    *len = targets / *b;
}

int score_text(const char *text, size_t len, const char *name, int streams, charrnn_unit unit,
               const uint32_t *vocab, int V, score_fn fn, void *self, charrnn_progress_fn progress, void *ctx,
               charrnn_eval_result *res, charrnn_error *err) {
    memset(res, 0, sizeof *res);
    if (!name) name = "the text";
    if (streams < 0 || streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d streams is out of range; use 1 to 100000, or 0 for the default", streams);
    corpus c;
    int rc = corpus_encode_with_vocab(&c, text, len, unit, vocab, V, name, &res->unknown, res->unknown_examples, 8,
                                      &res->num_unknown_examples, err);
    if (rc) return rc;
    if (c.n < 2)
        rc = cr_fail(err, CHARRNN_EDATA, "%s has %zu character%s the model knows; at least 2 are needed to measure a loss",
                     name, c.n, c.n == 1 ? "" : "s");
    else
        rc = fn(self, &c, name, streams, progress, ctx, res, err);
    res->bpc = res->nats / log(2.0);
    corpus_free(&c);
    return rc;
}
