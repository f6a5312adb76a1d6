/* sealed.c: the one writer and opener of charrnn's sealed safetensors files
 * (see sealed.h): the format and version check and the checksum, for
 * checkpoints and n-gram models alike. */
#include "sealed.h"
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUM_CAP 40

static void format_sum(uint64_t h, char *out) { snprintf(out, SUM_CAP, "fnv1a64:%016" PRIx64, h); }

int sealed_write_meta(const char *path, int flags, const st_meta *meta, int nsealed, int nmeta,
                      const st_tensor *tensors, int ntensors, charrnn_error *err) {
    st_meta *all = cr_malloc((size_t)nmeta + 1, sizeof *all);
    if (!all) return cr_fail(err, CHARRNN_ENOMEM, "out of memory writing %s", path);
    uint64_t h = CR_FNV_OFFSET;
    for (int i = 0; i < nmeta; i++) {
        all[i] = meta[i];
        if (i < nsealed && meta[i].value) h = cr_fnv1a(h, meta[i].value, strlen(meta[i].value));
    }
    for (int i = 0; i < ntensors; i++) h = cr_fnv1a(h, tensors[i].data, tensors[i].nbytes);
    char sum[SUM_CAP], msg[600];
    format_sum(h, sum);
    all[nmeta] = (st_meta){"checksum", sum};
    int rc = CHARRNN_OK;
    if (st_write_file(path, flags, all, nmeta + 1, tensors, ntensors, msg, sizeof msg)) rc = cr_fail(err, CHARRNN_EIO, "%s", msg);
    free(all);
    return rc;
}

int sealed_write(const char *path, int flags, const sealed_format *fmt, const char *const *values,
                 const st_tensor *tensors, int ntensors, charrnn_error *err) {
    st_meta *meta = cr_malloc((size_t)fmt->nkeys + 2, sizeof *meta);
    if (!meta) return cr_fail(err, CHARRNN_ENOMEM, "out of memory writing %s", path);
    char version[16];
    snprintf(version, sizeof version, "%d", fmt->version);
    meta[0] = (st_meta){"format", fmt->format};
    meta[1] = (st_meta){"format_version", version};
    for (int i = 0; i < fmt->nkeys; i++) meta[2 + i] = (st_meta){fmt->keys[i], values[i]};
    int rc = sealed_write_meta(path, flags, meta, fmt->nkeys + 2, fmt->nkeys + 2, tensors, ntensors, err);
    free(meta);
    return rc;
}

int sealed_check_header(const st_file *f, const char *path, const sealed_format *fmt, charrnn_error *err) {
    const char *kind = st_get_meta(f, "format");
    if (kind && fmt->other_format && !strcmp(kind, fmt->other_format))
        return cr_fail(err, CHARRNN_EMISMATCH, "%s is %s", path, fmt->other_is);
    if (!kind || strcmp(kind, fmt->format))
        return cr_fail(err, CHARRNN_EFORMAT, "%s is a safetensors file but not a charrnn %s (no \"format\": \"%s\" metadata)",
                       path, fmt->what, fmt->format);
    const char *ver = st_get_meta(f, "format_version");
    char *end = NULL;
    long v = ver ? strtol(ver, &end, 10) : -1;
    char q[100]; /* what the file says, quoted with its control characters escaped */
    if (!ver || end == ver || *end || v < 1)
        return cr_fail(err, CHARRNN_EFORMAT, "%s: format_version \"%s\" is not a version number; the %s is damaged", path,
                       ver ? cr_esc(q, sizeof q, ver, strlen(ver)) : "(missing)", fmt->what);
    if (v > fmt->version)
        return cr_fail(err, CHARRNN_EFORMAT, "%s was written in %s format version %ld, but this charrnn (%s) reads version "
                       "%d at most; upgrade charrnn to read it", path, fmt->what, v, CHARRNN_VERSION, fmt->version);
    return CHARRNN_OK;
}

/* The seal the file's contents give. */
static void seal_of(const st_file *f, const sealed_format *fmt, char *out) {
    uint64_t h = CR_FNV_OFFSET;
    for (int i = -2; i < fmt->nkeys; i++) {
        const char *val = st_get_meta(f, i == -2 ? "format" : i == -1 ? "format_version" : fmt->keys[i]);
        if (val) h = cr_fnv1a(h, val, strlen(val));
    }
    size_t dlen;
    const void *data = st_data_block(f, &dlen);
    format_sum(cr_fnv1a(h, data, dlen), out);
}

int sealed_open(const char *path, const sealed_format *fmt, st_file **out, charrnn_error *err) {
    *out = NULL;
    char msg[600];
    st_file *f = st_open(path, msg, sizeof msg);
    if (!f) return cr_fail(err, CHARRNN_EFORMAT, "%s", msg);
    /* every message is made before st_close: it may quote the file */
    int rc = sealed_check_header(f, path, fmt, err);
    const char *sum = st_get_meta(f, "checksum");
    if (!rc && !sum) rc = cr_fail(err, CHARRNN_EFORMAT, "%s has no checksum; the %s is damaged or was edited", path, fmt->what);
    if (!rc) {
        char mine[SUM_CAP], q[100];
        seal_of(f, fmt, mine);
        if (strcmp(sum, mine))
            rc = cr_fail(err, CHARRNN_EFORMAT, "%s is corrupted: its checksum is %s but its contents give %s (truncated, "
                         "damaged or edited); %s", path, cr_esc(q, sizeof q, sum, strlen(sum)), mine, fmt->remedy);
    }
    if (rc) st_close(f);
    else *out = f;
    return rc;
}
