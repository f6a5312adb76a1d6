/* files.c: what a path names (see files.h): regular files opened to be read
 * without blocking, and the one writer of every file charrnn makes (pages,
 * compressed files, checkpoints, n-gram models, the token cache): atomic over
 * a regular file, straight into a device or FIFO, refused for anything else. */
#include "files.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


const char *file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

int file_open_read(const char *path, struct stat *st) {
    /* stat first: a FIFO or a device is refused without being opened */
    if (stat(path, st) != 0) return -1;
    if (!S_ISREG(st->st_mode)) return -2;
    /* O_NONBLOCK in case it became a FIFO since: the open never waits for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    int fl;
    if (fstat(fd, st) != 0 || (S_ISREG(st->st_mode) && ((fl = fcntl(fd, F_GETFL)) < 0 ||
                                                        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0))) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return -2;
    }
    return fd;
}

int file_out_check(const char *path, int flags, char *err, size_t errlen) {
    if (!path || !path[0]) {
        cr_seterr(err, errlen, "cannot write '': an empty path names no file");
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) != 0) return FILE_OUT_REPLACE; /* a new file (creating it says why it cannot be) */
    if (S_ISLNK(st.st_mode) && ((flags & FILE_OUT_REGULAR) || stat(path, &st) != 0))
        return FILE_OUT_REPLACE; /* the link itself is replaced (a dangling one, or one in a run directory) */
    if (S_ISREG(st.st_mode)) return FILE_OUT_REPLACE;
    if ((S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) && !(flags & FILE_OUT_REGULAR)) return FILE_OUT_STREAM;
    cr_seterr(err, errlen, "cannot write '%s': it is %s%s", path, file_kind(st.st_mode),
           S_ISDIR(st.st_mode) ? "" : ", not a regular file");
    return -1;
}

static void release(file_out *o) {
    free(o->path);
    free(o->target);
    free(o->tmp);
    o->path = o->target = o->tmp = NULL;
    o->fd = -1;
}

int file_out_begin(file_out *o, const char *path, int flags, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->flags = flags;
    int how = file_out_check(path, flags, err, errlen);
    if (how < 0) return -1;
    if (!(o->path = strdup(path))) goto oom;
    if (how == FILE_OUT_STREAM) {
        /* no O_CREAT, no O_TRUNC: it exists and is not a regular file (a FIFO: this
         * waits for a reader, as a shell's > does) */
        int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            cr_seterr(err, errlen, "cannot write '%s': %s", path, strerror(errno));
            release(o);
            return -1;
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
            close(fd);
            cr_seterr(err, errlen, "cannot write '%s': it changed while it was opened; try again", path);
            release(o);
            return -1;
        }
        o->fd = fd;
        return 0;
    }
    /* a symbolic link to a regular file: the file it leads to is replaced, the link kept
     * (what a shell's > does; /dev/stdout is such a link) */
    struct stat lst, st;
    if (!(flags & FILE_OUT_REGULAR) && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && stat(path, &st) == 0) {
        if (!(o->target = realpath(path, NULL))) {
            cr_seterr(err, errlen, "cannot write '%s': cannot follow its symbolic links: %s", path, strerror(errno));
            release(o);
            return -1;
        }
    } else if (!(o->target = strdup(path))) {
        goto oom;
    }
    size_t n = strlen(o->target) + 32;
    if (!(o->tmp = malloc(n))) goto oom;
    snprintf(o->tmp, n, "%s.tmp.%ld", o->target, (long)getpid());
    unlink(o->tmp); /* a stale one from a killed run of the same pid, or a planted link: never followed */
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        cr_seterr(err, errlen, "cannot write '%s': creating the temporary file '%s' failed: %s (check that the directory "
               "exists and is writable)", path, o->tmp, strerror(errno));
        release(o);
        return -1;
    }
    return 0;
oom:
    cr_seterr(err, errlen, "cannot write '%s': out of memory", path);
    release(o);
    return -1;
}

int file_out_write(file_out *o, const void *p, size_t n) {
    for (size_t off = 0; off < n;) {
        ssize_t w = write(o->fd, (const char *)p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) { errno = EIO; return -1; }
        off += (size_t)w;
    }
    return 0;
}

int file_out_commit(file_out *o, char *err, size_t errlen) {
    const char *step = NULL;
    int e = 0, sync = !(o->flags & FILE_OUT_NO_SYNC);
    /* a file system that cannot fsync (EINVAL) or a read-only one keeps what it can */
    if (o->tmp && sync && fsync(o->fd) != 0 && errno != EINVAL && errno != EROFS) { step = "fsync"; e = errno; }
    if (close(o->fd) != 0 && !step) { step = "close"; e = errno; }
    o->fd = -1;
    if (!o->tmp) {
        if (step) cr_seterr(err, errlen, "cannot write '%s': %s failed: %s", o->path, step, strerror(e));
        release(o);
        return step ? -1 : 0;
    }
    if (!step && rename(o->tmp, o->target) != 0) { step = "rename"; e = errno; }
    if (step) {
        unlink(o->tmp);
        cr_seterr(err, errlen, "cannot write '%s': %s of the temporary file '%s' failed: %s ('%s' was left as it was)",
               o->path, step, o->tmp, strerror(e), o->path);
        release(o);
        return -1;
    }
    /* make the rename itself durable; some file systems cannot fsync a directory (EINVAL) */
    int rc = 0;
    if (sync) {
        const char *slash = strrchr(o->target, '/');
        char *dir = slash ? strndup(o->target, slash == o->target ? 1 : (size_t)(slash - o->target)) : strdup(".");
        int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd < 0) {
            cr_seterr(err, errlen, "wrote '%s', but opening its directory '%s' to fsync it failed: %s (the file may not "
                   "survive a crash)", o->path, dir ? dir : "", dir ? strerror(errno) : "out of memory");
            rc = -1;
        } else {
            if (fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP) {
                cr_seterr(err, errlen, "wrote '%s', but fsync of its directory '%s' failed: %s (the file may not survive "
                       "a crash)", o->path, dir, strerror(errno));
                rc = -1;
            }
            close(dfd);
        }
        free(dir);
    }
    release(o);
    return rc;
}

void file_out_abort(file_out *o) {
    if (o->fd >= 0) close(o->fd);
    if (o->tmp) unlink(o->tmp);
    release(o);
}
