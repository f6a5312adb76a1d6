/* ckpt_edit.h: what anyone can do to a checkpoint, for the tests and the
 * fuzzers: change its metadata or a tensor's bytes and seal it again. */
#ifndef CHARRNN_CKPT_EDIT_H
#define CHARRNN_CKPT_EDIT_H

#include "charrnn.h"

/* Copies checkpoint src to dst with metadata keys[i] set to values[i] (and,
 * if tensor is not NULL, that tensor's bytes replaced by tensor_data), the
 * checksum recomputed. */
int checkpoint_rewrite(const char *src, const char *dst, int nedit, const char *const *keys, const char *const *values,
                       const char *tensor, const void *tensor_data, charrnn_error *err);

#endif
