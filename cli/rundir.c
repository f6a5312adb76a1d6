/* rundir.c: the checkpoint directory of a training run (see rundir.h). */
#include "rundir.h"
#include "charrnn.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *dir) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
    struct stat st;
    return stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

void rundir_dirname(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == path) snprintf(out, cap, "/");
    else snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

void rundir_open(rundir *r, const char *dir, const char *corpus) {
    memset(r, 0, sizeof *r);
    r->best_val = NAN;
    r->lock_fd = -1;
    if (strlen(dir) > 3000) cli_die(2, "--checkpoint-dir is too long (%zu bytes)", strlen(dir));
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(r->latest, sizeof r->latest, "%s/latest.safetensors", dir);
    snprintf(r->bestlink, sizeof r->bestlink, "%s/best.safetensors", dir);
    snprintf(r->log, sizeof r->log, "%s/train.jsonl", dir);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        cli_die(1, "--checkpoint-dir '%s' exists and is not a directory; pass a directory", dir);
    if (mkdir_p(dir))
        cli_die(1, "cannot create checkpoint directory '%s': %s; pass a writable --checkpoint-dir", dir, strerror(errno));
    /* one training per directory at a time: the lock goes with the process, however it ends */
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/.charrnn.lock", dir);
    /* what the run writes here: regular files (a link is replaced), none of them the corpus */
    const char *files[] = {lock, r->latest, r->log};
    for (int i = 0; i < 3; i++) cli_check_output(files[i], "--checkpoint-dir", FILE_OUT_REGULAR, &corpus, 1);
    struct stat lst;
    int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0)
        cli_die(1, "cannot write in checkpoint directory '%s': %s; pass a writable --checkpoint-dir", dir, strerror(errno));
    if (fstat(fd, &lst) != 0 || !S_ISREG(lst.st_mode))
        cli_die(1, "'%s' is not a regular file; remove it, or pass another --checkpoint-dir", lock);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        cli_die(1, "checkpoint directory '%s' is in use by another training run (process %s); wait for it to finish, "
                "stop it, or pass another --checkpoint-dir", dir, pid[0] ? pid : "unknown");
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        cli_die(1, "cannot write in checkpoint directory '%s': %s; pass a writable --checkpoint-dir", dir, strerror(errno));
    r->lock_fd = fd; /* held until exit */
}

/* The run id and a description of a checkpoint, if it loads. */
static int peek(const char *path, uint64_t *run_id, char *desc, size_t cap) {
    charrnn_model *m;
    charrnn_error err;
    if (charrnn_model_load(&m, path, &err)) return -1;
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    *run_id = in.run_id;
    if (isnan(in.val_loss)) snprintf(desc, cap, "iteration %ld", in.iteration);
    else snprintf(desc, cap, "iteration %ld, best val loss %.4f", in.iteration, in.val_loss);
    charrnn_model_close(m);
    return 0;
}

/* A checkpoint of a run in the directory: latest, else best, else any lm_*. */
static int find_checkpoint(const rundir *r, char *path, size_t cap) {
    struct stat st;
    if (lstat(r->latest, &st) == 0) { snprintf(path, cap, "%s", r->latest); return 1; }
    if (stat(r->bestlink, &st) == 0) { snprintf(path, cap, "%s", r->bestlink); return 1; }
    DIR *d = opendir(r->dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (!strncmp(e->d_name, "lm_", 3) && n > 12 && !strcmp(e->d_name + n - 12, ".safetensors")) {
            snprintf(path, cap, "%s/%s", r->dir, e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

void rundir_check_owner(rundir *r, uint64_t run_id, int resuming, int force) {
    char path[4400], desc[128] = "", q[4500];
    if (force || !find_checkpoint(r, path, sizeof path)) return;
    uint64_t theirs = 0;
    int loads = peek(path, &theirs, desc, sizeof desc) == 0;
    if (resuming && (!loads || (theirs && theirs == run_id))) return; /* our own run (or nothing readable to lose) */
    const char *base = strrchr(path, '/') + 1;
    if (!resuming)
        cli_die(1, "checkpoint directory '%s' already holds a run (%s%s%s%s); resume it with --resume %s, pass another "
                "--checkpoint-dir, or add --force to start a new run there", r->dir, base, loads ? ": " : "",
                desc, loads ? "" : ", unreadable", cli_shell_quote(r->latest, q, sizeof q));
    cli_die(1, "checkpoint directory '%s' holds another run (%s: %s); resuming into it would overwrite that run; leave "
            "out --checkpoint-dir to write where the resumed checkpoint is, pass another one, or add --force",
            r->dir, base, desc);
}

void rundir_adopt_best(rundir *r, uint64_t run_id, double best_val) {
    r->best_val = best_val;
    char target[4096];
    ssize_t n = readlink(r->bestlink, target, sizeof target - 1);
    if (n <= 0) return;
    target[n] = 0;
    if (strchr(target, '/')) return; /* not one of ours: ours are bare names in the directory */
    char path[8300], desc[128];
    snprintf(path, sizeof path, "%s/%s", r->dir, target);
    uint64_t theirs = 0;
    if (peek(path, &theirs, desc, sizeof desc) || theirs != run_id) return;
    snprintf(r->best, sizeof r->best, "%s", path);
    charrnn_model *m;
    charrnn_error err;
    if (charrnn_model_load(&m, path, &err) == 0) {
        charrnn_model_info in;
        charrnn_model_get_info(m, &in);
        if (!isnan(in.val_loss) && (isnan(r->best_val) || in.val_loss < r->best_val)) r->best_val = in.val_loss;
        charrnn_model_close(m);
    }
}

void rundir_set_best(rundir *r, const char *newbest, double val) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", r->bestlink, (long)getpid());
    unlink(tmp);
    const char *base = strrchr(newbest, '/');
    base = base ? base + 1 : newbest;
    if (symlink(base, tmp) == 0 && rename(tmp, r->bestlink) != 0) unlink(tmp);
    if (r->best[0] && strcmp(r->best, newbest)) unlink(r->best);
    snprintf(r->best, sizeof r->best, "%s", newbest);
    r->best_val = val;
}
