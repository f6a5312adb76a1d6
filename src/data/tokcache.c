/* tokcache.c: a corpus of any size at bounded memory (tokcache.h). Byte mode
 * maps the text file itself; code-point mode encodes it once (data.c's two
 * passes) into a token cache file beside the checkpoints and maps that. The
 * cache's header holds its key (what the file was: size, mtime, a hash of its
 * head and tail), the count, the checksum and the vocabulary, so reopening a
 * known file reads no more than its head and tail. Every mapping is entered in
 * the table charrnn_corpus_fault reads (mapped.c). */
#include "tokcache.h"
#include "common.h"
#include "files.h"
#include "mapped.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "CRNCACHE"
#define CACHE_VERSION 1u

typedef struct cache_header {
    char magic[8];
    uint32_t version, unit;
    uint64_t size, mtime_sec, mtime_nsec, head_tail; /* the key: what the file was when cached */
    uint64_t n, checksum;
    uint32_t elem_bytes, vocab_size;
    uint64_t ids_offset;                             /* codepoint mode: where the ids start (64-aligned) */
} cache_header;

/* FNV-1a 64 of the file's first and last 64 KB: with its size and mtime, what
 * says a file is the one a cache was made from. */
static int head_tail_hash(int fd, size_t size, uint64_t *out) {
    unsigned char buf[65536];
    uint64_t h = CR_FNV_OFFSET;
    size_t spans[2][2] = {{0, size < sizeof buf ? size : sizeof buf}, {size > sizeof buf ? size - sizeof buf : 0, 0}};
    spans[1][1] = size - spans[1][0];
    for (int k = 0; k < 2; k++) {
        size_t got = 0;
        while (got < spans[k][1]) {
            ssize_t r = pread(fd, buf + got, spans[k][1] - got, (off_t)(spans[k][0] + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return -1;
            got += (size_t)r;
        }
        h = cr_fnv1a(h, buf, got);
    }
    *out = h;
    return 0;
}

static int map_file(int fd, size_t len, void **out) {
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) return -1;
    *out = m;
    return 0;
}

/* The cache file's header and vocabulary, if it exists and matches key. */
static int read_cache(const char *cache, const cache_header *key, corpus *c, int *cfd) {
    struct stat st;
    int fd = file_open_read(cache, &st); /* not a regular file: no cache (writing one says why) */
    if (fd < 0) return -1;
    cache_header h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.magic, CACHE_MAGIC, 8) || h.version != CACHE_VERSION ||
        h.unit != key->unit || h.size != key->size || h.mtime_sec != key->mtime_sec || h.mtime_nsec != key->mtime_nsec ||
        h.head_tail != key->head_tail || h.vocab_size < 1 || h.vocab_size > CP_LIMIT || fstat(fd, &st) != 0 ||
        (h.elem_bytes != 1 && h.elem_bytes != 2 && h.elem_bytes != 4) || h.n > h.size) {
        close(fd);
        return -1;
    }
    uint64_t want = key->unit == CHARRNN_UNIT_BYTE ? sizeof h + 4ull * h.vocab_size : h.ids_offset + h.n * h.elem_bytes;
    if ((uint64_t)st.st_size != want || (key->unit != CHARRNN_UNIT_BYTE && h.ids_offset < sizeof h + 4ull * h.vocab_size)) {
        close(fd);
        return -1;
    }
    c->vocab = cr_malloc(h.vocab_size, sizeof(uint32_t));
    if (!c->vocab || pread(fd, c->vocab, 4ull * h.vocab_size, sizeof h) != (ssize_t)(4ull * h.vocab_size)) {
        free(c->vocab);
        c->vocab = NULL;
        close(fd);
        return -1;
    }
    for (uint32_t i = 1; i < h.vocab_size; i++)
        if (c->vocab[i] <= c->vocab[i - 1] || c->vocab[i] >= CP_LIMIT) { free(c->vocab); c->vocab = NULL; close(fd); return -1; }
    c->vocab_size = (int)h.vocab_size;
    c->n = h.n;
    c->elem_bytes = (int)h.elem_bytes;
    c->checksum = h.checksum;
    c->file_bytes = h.size;
    c->unit = (charrnn_unit)h.unit;
    *cfd = fd;
    return (int)h.ids_offset;
}

int corpus_open(corpus *c, const char *path, charrnn_unit unit, const char *cache_dir, charrnn_progress_fn progress,
                void *ctx, int *reused, charrnn_error *err) {
    memset(c, 0, sizeof *c);
    if (reused) *reused = 0;
    if (!cache_dir) return corpus_load(c, path, unit, err);
    struct stat st;
    int fd = file_open_read(path, &st);
    if (fd < 0 || st.st_size == 0) {
        if (fd >= 0) close(fd);
        return corpus_load(c, path, unit, err); /* its messages for what cannot be opened, is not a file, or is empty */
    }
    const size_t size = (size_t)st.st_size;
    cache_header key;
    memset(&key, 0, sizeof key);
    memcpy(key.magic, CACHE_MAGIC, 8);
    key.version = CACHE_VERSION;
    key.unit = (uint32_t)unit;
    key.size = size;
    key.mtime_sec = (uint64_t)st.st_mtim.tv_sec;
    key.mtime_nsec = (uint64_t)st.st_mtim.tv_nsec;
    int rc = CHARRNN_OK;
    if (head_tail_hash(fd, size, &key.head_tail)) { close(fd); return corpus_fail_changed(err, path); }
    const uint64_t id = cr_fnv1a(CR_FNV_OFFSET, &key, sizeof key);
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/corpus-%016llx.%s", cache_dir, (unsigned long long)id,
             unit == CHARRNN_UNIT_BYTE ? "meta" : "ids");
    int cfd = -1;
    int ids_offset = read_cache(cache, &key, c, &cfd);
    if (ids_offset >= 0) {
        if (reused) *reused = 1;
    } else {
        /* build it: pass 1 (the vocabulary), then the cache written beside, atomically */
        corpus_source src = {NULL, size, fd, malloc(CORPUS_CHUNK + 4), progress, ctx, 0};
        if (!src.buf) { close(fd); return cr_fail(err, CHARRNN_ENOMEM, "out of memory reading '%s'", path); }
        rc = corpus_scan(c, &src, unit, path, err);
        /* a cache is a regular file, and can be made again: no fsync */
        file_out out = {.fd = -1};
        char msg[600];
        if (!rc && file_out_begin(&out, cache, FILE_OUT_REGULAR | FILE_OUT_NO_SYNC, msg, sizeof msg))
            rc = cr_fail(err, CHARRNN_EIO, "%s; it is the corpus's token cache: remove it, or pass another "
                         "--checkpoint-dir", msg);
        cache_header h = key;
        if (!rc) {
            h.n = c->n;
            h.checksum = c->checksum;
            h.elem_bytes = (uint32_t)c->elem_bytes;
            h.vocab_size = (uint32_t)c->vocab_size;
            h.ids_offset = unit == CHARRNN_UNIT_BYTE ? 0 : (sizeof h + 4ull * h.vocab_size + 63) / 64 * 64;
            static const char zeros[64];
            size_t pad = unit == CHARRNN_UNIT_BYTE ? 0 : h.ids_offset - sizeof h - 4ull * h.vocab_size;
            if (file_out_write(&out, &h, sizeof h) || file_out_write(&out, c->vocab, 4ull * h.vocab_size) ||
                file_out_write(&out, zeros, pad))
                rc = cr_fail(err, CHARRNN_EIO, "cannot write the token cache %s: %s", cache, strerror(errno));
        }
        if (!rc && unit != CHARRNN_UNIT_BYTE) rc = corpus_encode(c, &src, &out, path, err);
        free(src.buf);
        if (rc) file_out_abort(&out); /* nothing to undo where it was never begun */
        else if (file_out_commit(&out, msg, sizeof msg)) rc = cr_fail(err, CHARRNN_EIO, "%s (the corpus's token cache)", msg);
        if (rc) {
            close(fd);
            corpus_free(c);
            return rc;
        }
        ids_offset = (int)h.ids_offset;
        struct stat cst;
        if (unit != CHARRNN_UNIT_BYTE && (cfd = file_open_read(cache, &cst)) < 0) {
            close(fd);
            corpus_free(c);
            return cr_fail(err, CHARRNN_EIO, "cannot read the token cache %s: %s", cache, strerror(errno));
        }
    }
    /* map what training reads: the file itself (bytes), or the cache's ids; that file stays open, to see it change */
    int keep = unit == CHARRNN_UNIT_BYTE ? fd : cfd;
    if (unit == CHARRNN_UNIT_BYTE) {
        c->lut = cr_calloc(256, 1);
        if (!c->lut || map_file(fd, size, &c->map)) rc = cr_fail(err, CHARRNN_ENOMEM, "cannot map '%s': %s", path, strerror(errno));
        for (int i = 0; !rc && i < c->vocab_size; i++) c->lut[c->vocab[i]] = (uint8_t)i;
        c->map_len = size;
        c->ids = c->map;
        c->elem_bytes = 1;
        c->map_name = cr_malloc(strlen(path) + 3, 1);
        if (c->map_name) sprintf(c->map_name, "'%s'", path);
    } else {
        size_t len = (size_t)ids_offset + c->n * (size_t)c->elem_bytes;
        if (map_file(cfd, len, &c->map)) rc = cr_fail(err, CHARRNN_ENOMEM, "cannot map the token cache %s: %s", cache, strerror(errno));
        c->map_len = len;
        c->ids = (char *)c->map + ids_offset;
        c->map_name = cr_malloc(strlen(path) + strlen(cache) + 40, 1);
        if (c->map_name) sprintf(c->map_name, "the token cache %s of '%s'", cache, path);
    }
    if (c->map) {
        c->map_fd = keep;
        c->map_slot = mapped_register(c->map, c->map_len);
        if (!c->map_name && !rc) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    if (cfd >= 0 && cfd != keep) close(cfd);
    if (fd != keep) close(fd);
    if (!c->map && keep >= 0) close(keep);
    if (rc) corpus_free(c);
    return rc;
}

int corpus_check(const corpus *c, charrnn_error *err) {
    if (!c->map) return CHARRNN_OK;
    struct stat st;
    int faulted = mapped_faulted(c->map_slot), have = fstat(c->map_fd, &st) == 0;
    if (!faulted && (!have || (size_t)st.st_size >= c->map_len)) return CHARRNN_OK;
    char now[64] = "";
    if (have && (size_t)st.st_size < c->map_len) snprintf(now, sizeof now, " (%lld bytes now, %zu before)", (long long)st.st_size, c->map_len);
    return cr_fail(err, CHARRNN_EIO, "%s changed while training read it: another program truncated or rewrote it%s; %s",
                   c->map_name, now, c->lut ? "put it back as it was to resume the run" : "resuming the run makes it again");
}

void corpus_release_pages(const corpus *c) {
    if (c->map) madvise(c->map, c->map_len, MADV_DONTNEED);
}
