/* safetensors.h: reading and writing *.safetensors files: an 8-byte little-endian
 * header length N, N bytes of JSON header, then raw little-endian tensor data.
 * The header maps tensor names to {"dtype","shape","data_offsets":[begin,end]}
 * (offsets relative to the start of the data block) and may hold a
 * "__metadata__" object of string -> string. Writes are atomic. */
#ifndef CHARRNN_SAFETENSORS_H
#define CHARRNN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32 = 0, ST_I32 = 1, ST_F64 = 2, ST_U8 = 3, ST_I64 = 4 } st_dtype;

#define ST_MAX_DIMS 4

typedef struct st_tensor {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;   /* on write: the bytes to store; on read: points into the file's buffer */
    size_t nbytes;
} st_tensor;

typedef struct st_meta {
    const char *key, *value; /* value is stored as a JSON string */
} st_meta;

/* Writes the file through files.h's writer: atomically over a regular file
 * (PATH.tmp.<pid>, write all, fsync, rename over PATH, fsync the directory),
 * straight into a character device or FIFO; a directory, block device or socket
 * is refused. On any failure the temporary file is removed, PATH is left as it
 * was, and a message naming the path and the failing step is written to err.
 * Tensors are stored in the order given, each 8-byte aligned relative to the
 * data start is not required (offsets are contiguous, no gaps). Returns 0 or -1. */
int st_write(const char *path, const st_meta *meta, int nmeta,
             const st_tensor *tensors, int ntensors, char *err, size_t errlen);
/* The same with files.h's flags (FILE_OUT_REGULAR: a checkpoint in a run directory). */
int st_write_file(const char *path, int flags, const st_meta *meta, int nmeta,
                  const st_tensor *tensors, int ntensors, char *err, size_t errlen);

typedef struct st_file st_file;

/* Reads and validates a file: size >= 8, header length within the file and at
 * most 100 MB, header is valid JSON object, every tensor has a known dtype,
 * shape of at most ST_MAX_DIMS non-negative dims, offsets with end >= begin,
 * end - begin == product(shape) * dtype size, within the data block, tensors
 * neither overlap nor leave gaps, no key (tensor name, metadata key) twice. On failure NULL and a one-line message in err
 * that names the path and the problem. */
st_file *st_open(const char *path, char *err, size_t errlen);
/* Only the 8-byte length and the header of path, its metadata checked as
 * st_open does; the tensors are neither read nor listed (st_num_tensors is 0,
 * st_data_block empty): a cheap look at what a file says it is. */
st_file *st_open_header(const char *path, char *err, size_t errlen);
/* Same from a memory buffer (copied); name is used in messages. */
st_file *st_open_memory(const void *buf, size_t len, const char *name, char *err, size_t errlen);
void st_close(st_file *f);

/* The metadata value for key, or NULL. */
const char *st_get_meta(const st_file *f, const char *key);
int st_num_meta(const st_file *f);
const st_meta *st_meta_at(const st_file *f, int i);
/* The tensor named name, or NULL. data points into f's buffer, 4-byte aligned is
 * NOT guaranteed: copy with memcpy. */
const st_tensor *st_find(const st_file *f, const char *name);
int st_num_tensors(const st_file *f);
const st_tensor *st_tensor_at(const st_file *f, int i);
size_t st_dtype_size(st_dtype t);
/* The raw data block (all tensor bytes, as stored) and its length. */
const void *st_data_block(const st_file *f, size_t *len);
const char *st_dtype_name(st_dtype t); /* "F32", "I32", "F64", "U8", "I64" */

#endif
