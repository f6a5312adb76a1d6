/* files.h: what a path names, for every file charrnn reads whole or writes.
 * Inputs are opened without ever blocking: a FIFO or a device where a regular
 * file belongs is refused at once (before it is opened), never waited on.
 * Outputs replace a regular file atomically (a temporary file beside it, fsync,
 * rename, fsync of the directory), but a character device or a FIFO (/dev/null,
 * a pipe another process reads) is written into directly and never replaced;
 * a directory, a block device or a socket is refused. Nothing here prints or exits. */
#ifndef CHARRNN_FILES_H
#define CHARRNN_FILES_H

#include <stddef.h>
#include <sys/stat.h>

/* "a directory", "a FIFO", "a character device", "a block device", "a socket",
 * "a regular file" (or "not a regular file" for anything else), for messages. */
const char *file_kind(mode_t mode);

/* Opens path to read it as a regular file, without blocking and without opening
 * anything that is not one (opening a device can act on it). Returns the
 * descriptor (blocking, close-on-exec; *st filled), -1 with errno set when it
 * cannot be opened, or -2 when it is not a regular file (st->st_mode says what it is). */
int file_open_read(const char *path, struct stat *st);

/* flags of file_out_check and file_out_begin */
enum {
    /* only a regular file: a device or FIFO at the path is refused, and a
     * symbolic link there is replaced rather than written through (the files of
     * a run directory: checkpoints, the token cache) */
    FILE_OUT_REGULAR = 1,
    /* no fsync of the file and its directory (a cache, which can be made again) */
    FILE_OUT_NO_SYNC = 2,
};

/* What writing path does: FILE_OUT_REPLACE (a new file, or a regular file
 * replaced: through a symbolic link, the file it leads to, unless
 * FILE_OUT_REGULAR), FILE_OUT_STREAM (a character device or FIFO written
 * into), or -1 with "cannot write 'PATH': it is a directory" (or why else it
 * is refused) in err. */
enum { FILE_OUT_REPLACE = 0, FILE_OUT_STREAM = 1 };
int file_out_check(const char *path, int flags, char *err, size_t errlen);

/* A file being written: write to fd, then file_out_commit (or file_out_abort). */
typedef struct file_out {
    int fd;
    int flags;
    char *path;   /* as given, for messages */
    char *target; /* the file a commit replaces (path, or where its links lead) */
    char *tmp;    /* the temporary file renamed over target; NULL when streaming */
} file_out;

/* Opens path for writing (see file_out_check): the temporary file beside the
 * target, or the device or FIFO itself (a FIFO: once a reader opens it).
 * Returns 0, or -1 with a message naming path in err. */
int file_out_begin(file_out *o, const char *path, int flags, char *err, size_t errlen);
/* Writes all n bytes (retrying short writes and EINTR): 0, or -1 with errno set. */
int file_out_write(file_out *o, const void *p, size_t n);
/* fsync, close, rename over the target, fsync of its directory (a stream: close).
 * Returns 0, or -1 with a message naming path and the failing step in err; on a
 * failure before the rename the target is left as it was and the temporary file
 * removed. o is released either way. */
int file_out_commit(file_out *o, char *err, size_t errlen);
/* Closes and removes the temporary file: the target is left as it was. */
void file_out_abort(file_out *o);

#endif
