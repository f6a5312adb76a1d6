/* safetensors.c: writing *.safetensors files (through files.c: atomically over a
 * regular file, straight into a device or FIFO) and reading them into memory
 * with full validation of the header against the data block. */
#include "safetensors.h"
#include "common.h"
#include "files.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tensor bytes are stored as the caller gives them; the format is little-endian. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define ST_MAX_HEADER 100000000ull          /* as the reference implementation */
#define ST_MAX_FILE (64ull << 30)           /* whole file is read into memory */
#define ST_MAX_EXACT 9007199254740992.0     /* 2^53: larger JSON numbers are inexact */

struct st_file {
    unsigned char *buf;
    size_t size;
    json_doc *doc;
    st_tensor *tensors; /* in header order */
    int ntensors;
    const st_tensor **by_name; /* sorted by name, for st_find */
    st_meta *meta;
    int nmeta;
};

static const struct { const char *name; size_t size; } dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_I32] = {"I32", 4}, [ST_F64] = {"F64", 8},
    [ST_U8] = {"U8", 1},   [ST_I64] = {"I64", 8},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

size_t st_dtype_size(st_dtype t) {
    return (int)t >= 0 && (int)t < NDTYPES ? dtypes[t].size : 0;
}

const char *st_dtype_name(st_dtype t) {
    return (int)t >= 0 && (int)t < NDTYPES ? dtypes[t].name : "?";
}


/* product(shape) * dtype size into *out; -1 on a negative dim or overflow. */
static int tensor_bytes(st_dtype dt, int ndim, const int64_t *shape, uint64_t *out) {
    uint64_t n = st_dtype_size(dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        uint64_t d = (uint64_t)shape[i];
        if (d && n > UINT64_MAX / d) return -1;
        n *= d;
    }
    *out = n;
    return 0;
}

/* ---- writing ------------------------------------------------------------- */

/* Checks the caller's tensors and metadata so that we never write a file that
 * we (or another reader) would refuse. */
static int check_write_args(const char *path, const st_meta *meta, int nmeta,
                            const st_tensor *t, int nt, char *err, size_t errlen) {
    if (nmeta < 0 || nt < 0 || (nmeta && !meta) || (nt && !t)) {
        cr_seterr(err, errlen, "cannot write %s: bad tensor or metadata count (this is a bug in the caller)", path);
        return -1;
    }
    for (int i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value) {
            cr_seterr(err, errlen, "cannot write %s: metadata entry %d has no key or value", path, i);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(meta[i].key, meta[j].key) == 0) {
                cr_seterr(err, errlen, "cannot write %s: duplicate metadata key \"%s\"", path, meta[i].key);
                return -1;
            }
    }
    for (int i = 0; i < nt; i++) {
        const char *name = t[i].name;
        if (!name || !name[0] || strcmp(name, "__metadata__") == 0) {
            cr_seterr(err, errlen, "cannot write %s: tensor %d has an empty or reserved name", path, i);
            return -1;
        }
        if ((int)t[i].dtype < 0 || (int)t[i].dtype >= NDTYPES) {
            cr_seterr(err, errlen, "cannot write %s: tensor \"%s\" has unknown dtype %d", path, name, (int)t[i].dtype);
            return -1;
        }
        if (t[i].ndim < 0 || t[i].ndim > ST_MAX_DIMS) {
            cr_seterr(err, errlen, "cannot write %s: tensor \"%s\" has %d dimensions (at most %d)", path, name,
                   t[i].ndim, ST_MAX_DIMS);
            return -1;
        }
        uint64_t nb;
        if (tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape, &nb) < 0 || nb != t[i].nbytes) {
            cr_seterr(err, errlen, "cannot write %s: tensor \"%s\" has %zu bytes, which does not match its shape and dtype",
                   path, name, t[i].nbytes);
            return -1;
        }
        if (nb && !t[i].data) {
            cr_seterr(err, errlen, "cannot write %s: tensor \"%s\" has no data", path, name);
            return -1;
        }
    }
    uint64_t total = 0;
    for (int i = 0; i < nt; i++) {
        if (t[i].nbytes > ST_MAX_FILE - total) {
            cr_seterr(err, errlen, "cannot write %s: the tensors hold more than 64 GiB, which readers refuse", path);
            return -1;
        }
        total += t[i].nbytes;
    }
    /* Duplicate names would make an invalid file; O(n^2) is fine for the tens of
     * tensors a checkpoint holds. */
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(t[i].name, t[j].name) == 0) {
                cr_seterr(err, errlen, "cannot write %s: duplicate tensor name \"%s\"", path, t[i].name);
                return -1;
            }
    return 0;
}

/* The header JSON, space-padded so that 8 + length is a multiple of 8 and the
 * data block starts 8-byte aligned (as the reference writer does). */
static int build_header(jbuf *h, const st_meta *meta, int nmeta, const st_tensor *t, int nt) {
    jb_raw(h, "{");
    int first = 1;
    if (nmeta > 0) {
        jb_raw(h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i) jb_raw(h, ",");
            jb_cstring(h, meta[i].key);
            jb_raw(h, ":");
            jb_cstring(h, meta[i].value);
        }
        jb_raw(h, "}");
        first = 0;
    }
    uint64_t off = 0;
    for (int i = 0; i < nt; i++) {
        if (!first) jb_raw(h, ",");
        first = 0;
        jb_cstring(h, t[i].name);
        jb_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t[i].dtype));
        for (int d = 0; d < t[i].ndim; d++) jb_printf(h, d ? ",%" PRId64 : "%" PRId64, t[i].shape[d]);
        jb_printf(h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + t[i].nbytes);
        off += t[i].nbytes;
    }
    jb_raw(h, "}");
    while ((8 + h->len) % 8) jb_raw(h, " ");
    return h->oom ? -1 : 0;
}

int st_write(const char *path, const st_meta *meta, int nmeta,
             const st_tensor *tensors, int ntensors, char *err, size_t errlen) {
    return st_write_file(path, 0, meta, nmeta, tensors, ntensors, err, errlen);
}

int st_write_file(const char *path, int flags, const st_meta *meta, int nmeta,
                  const st_tensor *tensors, int ntensors, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!path || !path[0]) {
        cr_seterr(err, errlen, "cannot write checkpoint: empty path");
        return -1;
    }
    if (check_write_args(path, meta, nmeta, tensors, ntensors, err, errlen) < 0) return -1;

    jbuf h;
    jb_init(&h);
    if (build_header(&h, meta, nmeta, tensors, ntensors) < 0) {
        jb_free(&h);
        cr_seterr(err, errlen, "cannot write %s: out of memory building the header", path);
        return -1;
    }
    if (h.len > ST_MAX_HEADER) {
        cr_seterr(err, errlen, "cannot write %s: the header would be %zu bytes, over the %llu-byte limit readers accept "
               "(too much metadata or too many tensors)", path, h.len, ST_MAX_HEADER);
        jb_free(&h);
        return -1;
    }
    file_out o;
    if (file_out_begin(&o, path, flags, err, errlen) < 0) {
        jb_free(&h);
        return -1;
    }
    unsigned char lenbuf[8];
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(hl >> (8 * i));
    int bad = file_out_write(&o, lenbuf, 8) < 0 || file_out_write(&o, h.buf, h.len) < 0;
    for (int i = 0; !bad && i < ntensors; i++)
        bad = tensors[i].nbytes && file_out_write(&o, tensors[i].data, tensors[i].nbytes) < 0;
    jb_free(&h);
    if (bad) {
        if (o.tmp)
            cr_seterr(err, errlen, "cannot write '%s': write of the temporary file '%s' failed: %s ('%s' was left as it "
                   "was)", path, o.tmp, strerror(errno), path);
        else
            cr_seterr(err, errlen, "cannot write '%s': write failed: %s", path, strerror(errno));
        file_out_abort(&o);
        return -1;
    }
    return file_out_commit(&o, err, errlen);
}

/* ---- reading ------------------------------------------------------------- */

void st_close(st_file *f) {
    if (!f) return;
    json_free(f->doc);
    free(f->buf);
    free(f->tensors);
    free((void *)f->by_name);
    free(f->meta);
    free(f);
}

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Checks the 8-byte header length against the size of the whole file. */
static int check_header_len(uint64_t hl, uint64_t size, const char *name, char *err, size_t errlen) {
    if (hl > size - 8) {
        cr_seterr(err, errlen, "%s is not a safetensors file: header length %" PRIu64 " exceeds file size %" PRIu64,
               name, hl, size);
        return -1;
    }
    if (hl > ST_MAX_HEADER) {
        cr_seterr(err, errlen, "%s: header length %" PRIu64 " exceeds the limit of %llu bytes (corrupt file?)",
               name, hl, ST_MAX_HEADER);
        return -1;
    }
    if (hl < 2) {
        cr_seterr(err, errlen, "%s is not a safetensors file: header length %" PRIu64 " is too small for a JSON object",
               name, hl);
        return -1;
    }
    return 0;
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static int as_index(const json_value *v, uint64_t *out) {
    if (!v || v->type != JSON_NUMBER) return -1;
    double d = v->number;
    if (!(d >= 0) || d > ST_MAX_EXACT || d != (double)(uint64_t)d) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

typedef struct { uint64_t begin, end; int idx; } span;
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* equal spans: header order, so messages do not depend on qsort */
}

#define BAD(...) do { cr_seterr(err, errlen, __VA_ARGS__); goto fail; } while (0)
#define Q1(s) cr_esc(q1, sizeof q1, (s), strlen(s))
#define Q2(s) cr_esc(q2, sizeof q2, (s), strlen(s))

/* Parses and validates f->buf[0..f->size); f owns the buffer. header_only: the
 * buffer ends with the header; the metadata is read, the tensors are not. */
static int parse_file(st_file *f, const char *name, int header_only, char *err, size_t errlen) {
    span *spans = NULL;
    char q1[160], q2[64]; /* names from the file, quoted with their control characters escaped */
    if (f->size == 0) BAD("%s is empty (0 bytes), not a safetensors file", name);
    if (f->size < 8)
        BAD("%s is not a safetensors file: only %zu bytes, less than the 8-byte header length", name, f->size);
    uint64_t hl = le64(f->buf);
    if (!header_only && check_header_len(hl, f->size, name, err, errlen) < 0) goto fail;
    const char *htext = (const char *)f->buf + 8;
    if (htext[0] != '{')
        BAD("%s is not a safetensors file: the header at byte 8 does not start with '{'", name);
    char jerr[300];
    f->doc = json_parse(htext, (size_t)hl, jerr, sizeof jerr);
    if (!f->doc) BAD("%s: corrupt safetensors header (header starts at file byte 8): %s", name, jerr);
    const json_value *root = json_root(f->doc);
    if (root->type != JSON_OBJECT) BAD("%s: corrupt safetensors header: not a JSON object", name);

    const unsigned char *data = f->buf + 8 + hl;
    uint64_t dsize = f->size - 8 - hl;
    size_t n = root->len, nt = 0; /* nt: tensors so far */
    if (n > INT_MAX) BAD("%s: corrupt safetensors header: too many entries", name);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    spans = calloc(n ? n : 1, sizeof *spans);
    if (!f->tensors || !spans) BAD("%s: out of memory reading the header", name);

    for (size_t i = 0; i < n; i++) {
        const char *key = root->keys[i];
        const json_value *v = &root->items[i];
        if (strcmp(key, "__metadata__") == 0) {
            if (v->type != JSON_OBJECT) BAD("%s: corrupt safetensors header: \"__metadata__\" is not an object", name);
            f->meta = calloc(v->len ? v->len : 1, sizeof *f->meta);
            if (!f->meta) BAD("%s: out of memory reading the header", name);
            for (size_t j = 0; j < v->len; j++) {
                const json_value *mv = &v->items[j];
                if (mv->type != JSON_STRING)
                    BAD("%s: corrupt safetensors header: metadata value for \"%s\" is not a string", name, Q1(v->keys[j]));
                if (strlen(mv->str) != mv->len)
                    BAD("%s: corrupt safetensors header: metadata value for \"%s\" contains a NUL character", name, Q1(v->keys[j]));
                f->meta[j].key = v->keys[j];
                f->meta[j].value = mv->str;
            }
            f->nmeta = (int)v->len; /* json_parse refused duplicate keys, here and among the tensors */
            continue;
        }
        if (header_only) continue;
        if (!key[0]) BAD("%s: corrupt safetensors header: a tensor has an empty name", name);
        if (v->type != JSON_OBJECT) BAD("%s: corrupt safetensors header: entry \"%s\" is not an object", name, Q1(key));
        st_tensor *t = &f->tensors[nt];
        t->name = key;

        const char *dt;
        if (json_get_string(v, "dtype", &dt) < 0)
            BAD("%s: corrupt safetensors header: tensor \"%s\" has no \"dtype\" string", name, Q1(key));
        int found = -1;
        for (int k = 0; k < NDTYPES; k++)
            if (strcmp(dt, dtypes[k].name) == 0) found = k;
        if (found < 0)
            BAD("%s: tensor \"%s\" has dtype \"%s\", which this program does not support (supported: F32, F64, I32, I64, U8)",
                name, Q1(key), Q2(dt));
        t->dtype = (st_dtype)found;

        const json_value *shape = json_get(v, "shape");
        if (!shape || shape->type != JSON_ARRAY)
            BAD("%s: corrupt safetensors header: tensor \"%s\" has no \"shape\" array", name, Q1(key));
        if (shape->len > ST_MAX_DIMS)
            BAD("%s: tensor \"%s\" has %zu dimensions; at most %d are supported", name, Q1(key), shape->len, ST_MAX_DIMS);
        t->ndim = (int)shape->len;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t dim;
            if (as_index(&shape->items[d], &dim) < 0)
                BAD("%s: corrupt safetensors header: tensor \"%s\" dimension %d is not a non-negative integer",
                    name, Q1(key), d);
            t->shape[d] = (int64_t)dim;
        }
        uint64_t nb;
        if (tensor_bytes(t->dtype, t->ndim, t->shape, &nb) < 0)
            BAD("%s: corrupt safetensors header: tensor \"%s\" shape is too large (size overflows)", name, Q1(key));

        const json_value *offs = json_get(v, "data_offsets");
        uint64_t b, e;
        if (!offs || offs->type != JSON_ARRAY || offs->len != 2 || as_index(&offs->items[0], &b) < 0 ||
            as_index(&offs->items[1], &e) < 0)
            BAD("%s: corrupt safetensors header: tensor \"%s\" needs \"data_offsets\": [begin, end] with "
                "non-negative integers", name, Q1(key));
        if (e < b)
            BAD("%s: corrupt safetensors header: tensor \"%s\" data_offsets [%" PRIu64 ", %" PRIu64 "] end before begin",
                name, Q1(key), b, e);
        if (e > dsize)
            BAD("%s: truncated or corrupt: tensor \"%s\" ends at data byte %" PRIu64 " (file byte %" PRIu64
                ") but the file has only %" PRIu64 " bytes of data",
                name, Q1(key), e, e + 8 + hl, dsize);
        if (e - b != nb)
            BAD("%s: corrupt safetensors header: tensor \"%s\" has %" PRIu64 " bytes in data_offsets but its dtype %s and "
                "shape need %" PRIu64,
                name, Q1(key), e - b, Q2(dt), nb);
        t->data = data + b;
        t->nbytes = (size_t)nb;
        spans[nt] = (span){b, e, (int)nt};
        nt++;
        f->ntensors = (int)nt;
    }

    if (header_only) {
        free(spans);
        return 0;
    }
    /* By name for st_find (json_parse refused duplicate names). */
    f->by_name = malloc((nt ? nt : 1) * sizeof *f->by_name);
    if (!f->by_name) BAD("%s: out of memory reading the header", name);
    for (size_t i = 0; i < nt; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, nt, sizeof *f->by_name, cmp_tensor_name);
    /* Sorted by offset, the tensors must tile the data block exactly. */
    qsort(spans, nt, sizeof *spans, cmp_span);
    uint64_t expect = 0;
    for (size_t i = 0; i < nt; i++) {
        const char *tn = f->tensors[spans[i].idx].name;
        if (spans[i].begin < expect)
            BAD("%s: corrupt safetensors header: tensor \"%s\" at data bytes [%" PRIu64 ", %" PRIu64
                ") overlaps the previous tensor",
                name, Q1(tn), spans[i].begin, spans[i].end);
        if (spans[i].begin > expect)
            BAD("%s: corrupt safetensors header: gap in the data block before tensor \"%s\" (data bytes [%" PRIu64
                ", %" PRIu64 ") hold no tensor)",
                name, Q1(tn), expect, spans[i].begin);
        expect = spans[i].end;
    }
    if (expect != dsize)
        BAD("%s: corrupt safetensors file: %" PRIu64 " trailing bytes after the last tensor (file byte %" PRIu64 ")",
            name, dsize - expect, 8 + hl + expect);
    free(spans);
    spans = NULL;
    return 0;
fail:
    free(spans);
    return -1;
}

st_file *st_open_memory(const void *buf, size_t len, const char *name, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!name) name = "<memory>";
    if ((uint64_t)len > ST_MAX_FILE) {
        cr_seterr(err, errlen, "%s: %zu bytes is larger than the 64 GiB limit for a checkpoint", name, len);
        return NULL;
    }
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->buf = malloc(len ? len : 1))) {
        free(f);
        cr_seterr(err, errlen, "%s: out of memory (%zu bytes)", name, len);
        return NULL;
    }
    if (len) memcpy(f->buf, buf, len);
    f->size = len;
    if (parse_file(f, name, 0, err, errlen) < 0) {
        st_close(f);
        return NULL;
    }
    return f;
}

static int read_full(int fd, unsigned char *p, size_t n) {
    while (n) {
        ssize_t r = read(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) { errno = 0; return -1; } /* the file shrank under us */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static st_file *open_file(const char *path, int header_only, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!path) path = "";
    struct stat sb;
    int fd = file_open_read(path, &sb); /* a FIFO or a device is refused, never waited on */
    if (fd == -2) {
        cr_seterr(err, errlen, "%s is %s, not a checkpoint%s", path, file_kind(sb.st_mode),
               S_ISDIR(sb.st_mode) ? "" : " (charrnn reads checkpoints and n-gram models from regular files)");
        return NULL;
    }
    if (fd < 0) {
        cr_seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    st_file *f = NULL;
    uint64_t size = (uint64_t)sb.st_size;
    if (size == 0) {
        cr_seterr(err, errlen, "%s is empty (0 bytes), not a safetensors file", path);
        goto fail;
    }
    if (size < 8) {
        cr_seterr(err, errlen, "%s is not a safetensors file: only %" PRIu64 " bytes, less than the 8-byte header length",
               path, size);
        goto fail;
    }
    if (size > ST_MAX_FILE || size > SIZE_MAX) {
        cr_seterr(err, errlen, "%s: %" PRIu64 " bytes is larger than the 64 GiB limit for a checkpoint", path, size);
        goto fail;
    }
    /* Check the header length before reading the rest, so that a large file
     * that is not a safetensors file is refused without loading it. */
    unsigned char head[8];
    if (read_full(fd, head, 8) < 0) {
        cr_seterr(err, errlen, "cannot read %s: %s", path, errno ? strerror(errno) : "file shrank while reading");
        goto fail;
    }
    if (check_header_len(le64(head), size, path, err, errlen) < 0) goto fail;
    if (header_only) size = 8 + le64(head);
    f = calloc(1, sizeof *f);
    if (!f || !(f->buf = malloc((size_t)size))) {
        cr_seterr(err, errlen, "cannot read %s: out of memory (%" PRIu64 " bytes)", path, size);
        goto fail;
    }
    memcpy(f->buf, head, 8);
    if (read_full(fd, f->buf + 8, (size_t)size - 8) < 0) {
        cr_seterr(err, errlen, "cannot read %s: %s", path, errno ? strerror(errno) : "file shrank while reading");
        goto fail;
    }
    close(fd);
    fd = -1;
    f->size = (size_t)size;
    if (parse_file(f, path, header_only, err, errlen) < 0) goto fail;
    return f;
fail:
    if (fd >= 0) close(fd);
    st_close(f);
    return NULL;
}

st_file *st_open(const char *path, char *err, size_t errlen) { return open_file(path, 0, err, errlen); }
st_file *st_open_header(const char *path, char *err, size_t errlen) { return open_file(path, 1, err, errlen); }

const char *st_get_meta(const st_file *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

int st_num_meta(const st_file *f) { return f ? f->nmeta : 0; }

const st_meta *st_meta_at(const st_file *f, int i) {
    return f && i >= 0 && i < f->nmeta ? &f->meta[i] : NULL;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    if (!f || !name) return NULL;
    int lo = 0, hi = f->ntensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const st_tensor *t = f->by_name[mid];
        int c = strcmp(t->name, name);
        if (c == 0) return t;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

int st_num_tensors(const st_file *f) { return f ? f->ntensors : 0; }

const st_tensor *st_tensor_at(const st_file *f, int i) {
    return f && i >= 0 && i < f->ntensors ? &f->tensors[i] : NULL;
}

const void *st_data_block(const st_file *f, size_t *len) {
    uint64_t hl = le64(f->buf);
    *len = f->size - 8 - (size_t)hl;
    return f->buf + 8 + hl;
}
