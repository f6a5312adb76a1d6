/* sealed.h: charrnn's own safetensors files (checkpoints, n-gram models, and
 * anything later): a "format" name and a "format_version" in __metadata__, the
 * file's own metadata, and a "checksum" sealing them: FNV-1a 64 over the sealed
 * metadata values in their order and the whole data block, "fnv1a64:%016x".
 * The seal only catches accidents (anyone can recompute it): what a reader
 * takes from a sealed file it still validates field by field. */
#ifndef CHARRNN_SEALED_H
#define CHARRNN_SEALED_H

#include "charrnn.h"
#include "safetensors.h"

typedef struct sealed_format {
    const char *format;          /* the "format" metadata: "charrnn", "charrnn-ngram" */
    int version;                 /* the newest format_version this build writes and reads */
    const char *what;            /* what a file is called in messages: "checkpoint", "n-gram model" */
    const char *const *keys;     /* the metadata sealed after format and format_version, in the order written */
    int nkeys;
    const char *remedy;          /* what to do with a damaged file, after "; " */
    const char *other_format;    /* the other kind a user may give instead (NULL: none) ... */
    const char *other_is;        /* ... and what it is: "<path> is <other_is>", CHARRNN_EMISMATCH */
} sealed_format;

/* Writes path (st_write_file with flags): format, format_version, values[i]
 * for fmt->keys[i], the checksum, then the tensors. err: a one-line message. */
int sealed_write(const char *path, int flags, const sealed_format *fmt, const char *const *values,
                 const st_tensor *tensors, int ntensors, charrnn_error *err);
/* The writer underneath: meta[0..nmeta) as given, the first nsealed of them
 * sealed, then the checksum (what a test that edits a file writes with). */
int sealed_write_meta(const char *path, int flags, const st_meta *meta, int nsealed, int nmeta,
                      const st_tensor *tensors, int ntensors, charrnn_error *err);

/* Reads path once and checks it is fmt's format (the other kind:
 * CHARRNN_EMISMATCH), a version this build reads, and that the seal holds. */
int sealed_open(const char *path, const sealed_format *fmt, st_file **out, charrnn_error *err);

/* The same checks on a file read with st_open_header (no data, no seal):
 * cheap, but nothing in it is verified. */
int sealed_check_header(const st_file *f, const char *path, const sealed_format *fmt, charrnn_error *err);

#endif
