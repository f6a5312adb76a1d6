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

int score_text(const char *text, size_t len, const char *name, const score_block *part, int streams,
               charrnn_unit unit, const uint32_t *vocab, int V, score_fn fn, void *self, charrnn_progress_fn progress,
               void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    static const char *const BLOCKS[] = {"training", "validation", "test"};
    memset(res, 0, sizeof *res);
    if (!name) name = "the text";
    if (streams < 0 || streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d streams is out of range; use 1 to 100000, or 0 for the default", streams);
    if (part && (unsigned)part->block > CHARRNN_BLOCK_TEST)
        return cr_fail(err, CHARRNN_EINVAL, "unknown block %d; use train, val or test", (int)part->block);
    corpus c;
    int rc = corpus_encode_with_vocab(&c, text, len, unit, vocab, V, name, &res->unknown, res->unknown_examples, 8,
                                      &res->num_unknown_examples, err);
    if (rc) return rc;
    size_t begin = 0, n = c.n, blocks[3];
    if (part) {
        corpus_split(c.n, part->train_frac, part->val_frac, &blocks[0], &blocks[1], &blocks[2]);
        for (int b = 0; b < (int)part->block; b++) begin += blocks[b];
        n = blocks[part->block];
    }
    if (n >= 2)
        rc = fn(self, &c, begin, n, name, streams, progress, ctx, res, err);
    else if (part)
        rc = cr_fail(err, CHARRNN_EDATA, "the %s block of %s has %zu character%s (of %zu, cut with train-frac %s and "
                     "val-frac %s); at least 2 are needed to measure a loss: evaluate another block, or all of it",
                     BLOCKS[part->block], name, n, n == 1 ? "" : "s", c.n, CR_NUM(part->train_frac),
                     CR_NUM(part->val_frac));
    else
        rc = cr_fail(err, CHARRNN_EDATA, "%s has %zu character%s the model knows; at least 2 are needed to measure a loss",
                     name, c.n, c.n == 1 ? "" : "s");
    res->bpc = res->nats / log(2.0);
    corpus_free(&c);
    return rc;
}
