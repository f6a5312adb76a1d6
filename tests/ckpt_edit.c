/* ckpt_edit.c: rewriting a checkpoint with edits and a fresh seal (see
 * ckpt_edit.h): only the tests and the fuzzers do this, so it lives here, not
 * in the library. */
#include "ckpt_edit.h"
#include "checkpoint.h"
#include "common.h"
#include "sealed.h"

#include <stdlib.h>
#include <string.h>

/* Whether key is one of the checkpoint's sealed metadata keys. */
static int sealed_key(const char *key) {
    int yes = !strcmp(key, "format") || !strcmp(key, "format_version");
    for (int k = 0; k < CKPT_FORMAT.nkeys; k++) yes |= !strcmp(key, CKPT_FORMAT.keys[k]);
    return yes;
}

int checkpoint_rewrite(const char *src, const char *dst, int nedit, const char *const *keys, const char *const *values,
                       const char *tensor, const void *tensor_data, charrnn_error *err) {
    char msg[600];
    st_file *f = st_open(src, msg, sizeof msg);
    if (!f) return cr_fail(err, CHARRNN_EFORMAT, "%s", msg);
    int nm = st_num_meta(f), nt = st_num_tensors(f), n = 0;
    st_meta *meta = calloc((size_t)nm + (size_t)nedit + 1, sizeof *meta);
    st_tensor *ts = calloc((size_t)nt + 1, sizeof *ts);
    int rc = CHARRNN_OK;
    if (!meta || !ts) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory"); goto done; }
    /* the sealed keys first, in their order, then the rest; edits replace or add */
    for (int i = -2; i < CKPT_FORMAT.nkeys; i++) {
        const char *key = i == -2 ? "format" : i == -1 ? "format_version" : CKPT_FORMAT.keys[i];
        const char *v = st_get_meta(f, key);
        for (int e = 0; e < nedit; e++)
            if (!strcmp(keys[e], key)) v = values[e];
        if (v) meta[n++] = (st_meta){key, v};
    }
    int nsealed = n;
    for (int i = 0; i < nm; i++) {
        const st_meta *e = st_meta_at(f, i);
        if (strcmp(e->key, "checksum") && !sealed_key(e->key)) meta[n++] = *e;
    }
    for (int i = 0; i < nt; i++) {
        ts[i] = *st_tensor_at(f, i);
        if (tensor && !strcmp(ts[i].name, tensor)) ts[i].data = tensor_data;
    }
    rc = sealed_write_meta(dst, 0, meta, nsealed, n, ts, nt, err);
done:
    free(meta);
    free(ts);
    st_close(f);
    return rc;
}
