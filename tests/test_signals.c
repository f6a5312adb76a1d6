/* test_signals.c: training is stopped the ways users and process managers stop
 * it. SIGINT, SIGTERM and SIGHUP finish the step, save a resumable checkpoint,
 * print the resume command and exit 130 / 143 / 129; signals that arrive
 * together are one request (20 tries in a row); SIGUSR1 checkpoints and goes
 * on; --max-time stops, saves and exits 0; the corpus can come on stdin; a
 * really full disk (a tmpfs) stops cleanly with the previous checkpoint intact;
 * Ctrl-C during viz, sample and eval stops cleanly. kill -9 at random moments,
 * many of them inside checkpoint writes, never leaves a damaged
 * latest.safetensors: each time it loads, and the run resumes from it.
 * Nothing here races the clock: a signal is sent once the process shows it is
 * where the test wants it (a progress line, its output, its handler installed),
 * and waits are bounds on a failure (60 s), never the expected case. */
#include "test.h"
#include "charrnn.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *corpus(void) {
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s", t_path("signals.txt"));
        FILE *f = fopen(path, "w");
        for (int i = 0; i < 4000; i++) fprintf(f, "line %d: the quick brown fox jumps over the lazy dog.\n", i % 97);
        fclose(f);
    }
    return path;
}

/* Starts `charrnn train ...` with stderr to errpath; returns its pid. */
static pid_t start_training(const char *args, const char *errpath) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s train '%s' %s 2>'%s' >/dev/null", t_bin(), corpus(), args, errpath);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static char *slurp(const char *path) {
    char *s = t_read_file(path, NULL);
    return s ? s : strdup("");
}

/* Waits until the file at path contains needle (at most ~60 s: a sanitizer's
 * build on a busy machine is slow, and the bound is only there for a failure). */
static int wait_for(const char *path, const char *needle) {
    for (int i = 0; i < 6000; i++) {
        char *s = slurp(path);
        int found = strstr(s, needle) != NULL;
        free(s);
        if (found) return 1;
        usleep(10000);
    }
    return 0;
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

/* A shell fragment for a command started with "... & p=$!": waits (at most 60 s,
 * while $p runs) until the shell condition cond holds, then sends $p SIGINT and
 * waits for it, so $? is its exit status. A fixed sleep instead would signal a
 * process that, slow to start on a busy machine, has no handler yet. */
static char *int_when(const char *cond) {
    return t_fmt("i=0; while [ $i -lt 1200 ] && kill -0 $p 2>/dev/null && ! { %s; }; do sleep 0.05; i=$((i+1)); done; "
                 "kill -INT $p; wait $p", cond);
}

/* The condition that process $p catches SIGINT: its handler is installed (Linux: bit 2 of SigCgt). */
#define CATCHES_SIGINT "sed -n 's/^SigCgt:[[:space:]]*//p' /proc/$p/status 2>/dev/null | grep -q '[2367abefABEF]$'"

/* `charrnn train ARGS --resume CKPT` interrupted once it says "resuming" (and so
 * is past reading the corpus, its handlers installed); returns the exit status,
 * its stderr in *err. */
static int resume_then_interrupt(const char *args, char **err) {
    const char *ep = t_path("resume_int.err");
    unlink(ep);
    char *cond = t_fmt("grep -q resuming '%s'", ep), *wait = int_when(cond);
    char *cmd = t_fmt("%s train %s 2>'%s' & p=$!; %s", t_bin(), args, ep, wait);
    int rc = t_run(cmd, NULL, NULL);
    *err = slurp(ep);
    free(cond);
    free(wait);
    free(cmd);
    return rc;
}

static void interrupt_case(int sig, int expect) {
    char dir[512], errpath[600], args[2048];
    snprintf(dir, sizeof dir, "%s/cv_sig%d", t_tmpdir(), sig);
    snprintf(errpath, sizeof errpath, "%s/stderr_sig%d", t_tmpdir(), sig);
    snprintf(args, sizeof args, "--rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 1000000 "
             "--print-every 1 --threads 1 --checkpoint-dir '%s'", dir);
    pid_t pid = start_training(args, errpath);
    if (!CHECKF(wait_for(errpath, "\n3/"), "training did not start")) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); return; }
    kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);
    char *err = slurp(errpath);
    CHECKF(exit_code(status) == expect, "signal %d: exit %d, expected %d: %s", sig, exit_code(status), expect, err);
    CHECKF(strstr(err, "interrupted at iteration") && strstr(err, "resume with: charrnn train") &&
           strstr(err, "--resume") && strstr(err, "latest.safetensors"), "signal %d: %s", sig, err);
    free(err);
    /* the checkpoint is complete and the run continues from it */
    char args2[2400], *e2;
    snprintf(args2, sizeof args2, "'%s' --resume '%s/latest.safetensors' --max-iters 1000000 --checkpoint-dir '%s' "
             "--threads 1", corpus(), dir, dir);
    int rc = resume_then_interrupt(args2, &e2);
    CHECKF(rc == 130 && strstr(e2, "resuming") && strstr(e2, "interrupted at iteration"),
           "resume after signal %d: exit %d: %s", sig, rc, e2);
    free(e2);
}

static void test_sigint_saves(void) { interrupt_case(SIGINT, 130); }
static void test_sigterm_saves(void) { interrupt_case(SIGTERM, 143); }
static void test_sighup_saves(void) { interrupt_case(SIGHUP, 129); }

/* Signals that arrive together are one request: GNU timeout, systemd, Slurm and
 * mpirun signal the process and then its group, so two land within
 * microseconds. 20 tries in a row, half two SIGINTs to the process, half SIGINT
 * + SIGTERM to the process group: every one saves a checkpoint that loads, and
 * the last one resumes. */
static void test_signals_together(void) {
    char dir[512], errpath[600], args[2048];
    snprintf(dir, sizeof dir, "%s/cv_together", t_tmpdir());
    snprintf(errpath, sizeof errpath, "%s/stderr_together", t_tmpdir());
    int ok = 0;
    for (int k = 0; k < 20; k++) {
        snprintf(args, sizeof args, "--rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 1000000 "
                 "--print-every 1 --eval-val-every 1000000 --threads 1 --checkpoint-dir '%s' --force", dir);
        unlink(errpath);
        pid_t pid = start_training(args, errpath);
        if (!CHECKF(wait_for(errpath, "\n2/"), "try %d: training did not start", k)) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); break; }
        if (k % 2 == 0) {
            kill(pid, SIGINT);
            kill(pid, SIGINT);
        } else {
            kill(-pid, SIGINT); /* as kill -INT -PGID, then a manager's SIGTERM to the group */
            kill(-pid, SIGTERM);
        }
        int status;
        waitpid(pid, &status, 0);
        char *err = slurp(errpath);
        int saved = strstr(err, "interrupted at iteration") && strstr(err, "saved") && !strstr(err, "quitting at once");
        CHECKF(exit_code(status) == 130 && saved, "try %d: exit %d: %s", k, exit_code(status), err);
        free(err);
        char cmd[1400], *out, *e;
        snprintf(cmd, sizeof cmd, "%s info '%s/latest.safetensors'", t_bin(), dir);
        int rc = t_run(cmd, &out, &e);
        CHECKF(rc == 0, "try %d: latest.safetensors does not load: %s", k, e);
        ok += rc == 0 && exit_code(status) == 130 && saved;
        free(out);
        free(e);
        if (ok != k + 1) break;
    }
    CHECKF(ok == 20, "%d of 20 tries left a checkpoint", ok);
    char args2[2400], *e;
    snprintf(args2, sizeof args2, "'%s' --resume '%s/latest.safetensors' --max-iters 1000000 --threads 1", corpus(), dir);
    int rc = resume_then_interrupt(args2, &e);
    CHECKF(rc == 130 && strstr(e, "resuming") && strstr(e, "interrupted at iteration"),
           "resume after the signals: exit %d: %s", rc, e);
    free(e);
}

/* SIGUSR1: a checkpoint now, and training goes on. */
static void test_sigusr1_checkpoints(void) {
    char dir[512], errpath[600], args[2048], cmd[1400], *out, *e;
    snprintf(dir, sizeof dir, "%s/cv_usr1", t_tmpdir());
    snprintf(errpath, sizeof errpath, "%s/stderr_usr1", t_tmpdir());
    snprintf(args, sizeof args, "--rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 1000000 "
             "--print-every 1 --eval-val-every 1000000 --threads 1 --checkpoint-dir '%s'", dir);
    pid_t pid = start_training(args, errpath);
    if (!CHECKF(wait_for(errpath, "\n5/"), "training did not start")) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); return; }
    kill(pid, SIGUSR1);
    int saved = wait_for(errpath, "(asked by SIGUSR1); training goes on");
    CHECKF(saved, "no checkpoint on SIGUSR1");
    snprintf(cmd, sizeof cmd, "%s info '%s/latest.safetensors'", t_bin(), dir);
    int rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0 && strstr(out, "trained:"), "the SIGUSR1 checkpoint does not load: %s", e);
    free(out);
    free(e);
    /* still training: more iterations are logged after the checkpoint (within 60 s however slow) */
    char *before = slurp(errpath);
    size_t n0 = strlen(before);
    free(before);
    int more = 0;
    for (int i = 0; i < 6000 && !more; i++) {
        usleep(10000);
        char *now = slurp(errpath);
        more = strlen(now) > n0 + 200 && kill(pid, 0) == 0;
        free(now);
    }
    CHECKF(more, "training stopped after SIGUSR1");
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    CHECKF(exit_code(status) == 130, "exit %d after the SIGINT", exit_code(status));
}

/* --max-time: train for the budget, then validate, save, exit 0 with the resume command. */
static void test_max_time(void) {
    char dir[512], cmd[2400], *out, *e;
    snprintf(dir, sizeof dir, "%s/cv_maxtime", t_tmpdir());
    snprintf(cmd, sizeof cmd, "%s train '%s' --rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 "
             "--max-iters 100000000 --eval-val-every 100000000 --threads 1 --checkpoint-dir '%s' --max-time 5s",
             t_bin(), corpus(), dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = t_run(cmd, &out, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECKF(rc == 0 && strstr(e, "time budget of 5 s spent") && strstr(e, "validation at") && strstr(e, "resume with:"),
           "--max-time 5s: exit %d: %s", rc, e);
    CHECKF(el >= 5 && el < 60, "--max-time 5s took %.1f s", el);
    free(out);
    free(e);
    snprintf(cmd, sizeof cmd, "%s info '%s/latest.safetensors'", t_bin(), dir);
    rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0 && strstr(out, "best val loss"), "the checkpoint after --max-time: %s %s", out, e);
    free(out);
    free(e);
}

/* The corpus on standard input: trains; eval reads - too; --resume refuses it. */
static void test_stdin_corpus(void) {
    char dir[512], cmd[2400], *out, *e;
    snprintf(dir, sizeof dir, "%s/cv_stdin", t_tmpdir());
    snprintf(cmd, sizeof cmd, "cat '%s' | %s train - --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 "
             "--max-iters 20 --eval-val-every 20 --threads 1 --checkpoint-dir '%s'", corpus(), t_bin(), dir);
    int rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0 && strstr(e, "saved"), "train - : exit %d: %s", rc, e);
    free(out);
    free(e);
    snprintf(cmd, sizeof cmd, "%s eval '%s/latest.safetensors' - < '%s'", t_bin(), dir, corpus());
    rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0 && strstr(out, "standard input: ") && strstr(out, "nats"), "eval - : %s %s", out, e);
    free(out);
    free(e);
    snprintf(cmd, sizeof cmd, "cat '%s' | %s train - --resume '%s/latest.safetensors'", corpus(), t_bin(), dir);
    rc = t_run(cmd, &out, &e);
    CHECKF(rc == 2 && strstr(e, "standard input cannot be checked"), "--resume with - : exit %d: %s", rc, e);
    free(out);
    free(e);
    /* the corpus saved to a file resumes the run: it is the same text */
    snprintf(cmd, sizeof cmd, "%s train '%s' --resume '%s/latest.safetensors' --max-iters 25", t_bin(), corpus(), dir);
    rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0 && strstr(e, "resuming"), "resuming a stdin run from the file: %s", e);
    free(out);
    free(e);
}

/* A full disk, for real: a small tmpfs as the checkpoint directory, filled up
 * while training runs. The next checkpoint fails with one line naming the
 * directory and the room needed, the previous one stays intact, and training
 * stops (default) or goes on without saving (--on-full-disk continue). */
static void full_disk_case(int keep_going) {
    char mnt[512], cmd[4096], *out, *e;
    snprintf(mnt, sizeof mnt, "%s/tmpfs%d", t_tmpdir(), keep_going);
    mkdir(mnt, 0755);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=2m tmpfs '%s'", mnt);
    if (t_run(cmd, NULL, NULL) != 0) {
        t_skip("cannot mount a tmpfs here; needs root");
        rmdir(mnt);
        return;
    }
    char errpath[600], args[2048];
    snprintf(errpath, sizeof errpath, "%s/stderr_full%d", t_tmpdir(), keep_going);
    snprintf(args, sizeof args, "--rnn-size 64 --num-layers 1 --batch-size 16 --seq-length 32 --max-iters %d "
             "--eval-val-every 300 --print-every 100000 --threads 1 --checkpoint-dir '%s' %s", keep_going == 1 ? 900 : 100000,
             mnt, keep_going ? "--on-full-disk continue" : "");
    pid_t pid = start_training(args, errpath);
    int first = wait_for(errpath, "saved ");
    CHECKF(first, "no first checkpoint in the tmpfs");
    /* fill the disk */
    snprintf(cmd, sizeof cmd, "dd if=/dev/zero of='%s/filler' bs=4096 2>/dev/null; sync", mnt);
    t_run(cmd, NULL, NULL);
    if (keep_going == 2) { /* going on without saving, then asked to stop: the stop's checkpoint does not fit either */
        CHECKF(wait_for(errpath, "training goes on without saving"), "no warning of a full disk");
        kill(pid, SIGTERM);
    }
    int status;
    waitpid(pid, &status, 0);
    char *err = slurp(errpath);
    if (keep_going == 2) {
        const char *line = strstr(err, "charrnn: error: no space left in checkpoint directory");
        char *resume = t_fmt("--resume %s/latest.safetensors", mnt);
        CHECKF(exit_code(status) == 143 && line && strstr(line, resume) && !strstr(err, "interrupted at"),
               "stopped on a full disk with --on-full-disk continue: exit %d: %s", exit_code(status), err);
        free(resume);
    } else if (keep_going) {
        CHECKF(exit_code(status) == 0 && strstr(err, "warning: no space left in checkpoint directory") &&
               strstr(err, "training goes on without saving") && strstr(err, "900/900"),
               "--on-full-disk continue: exit %d: %s", exit_code(status), err);
    } else {
        const char *line = strstr(err, "charrnn: error: no space left in checkpoint directory");
        CHECKF(exit_code(status) == 1 && line && strstr(line, mnt) && strstr(line, "needs about") &&
               strstr(line, "MB are free") && strstr(err, "resume with:"), "a full disk: exit %d: %s", exit_code(status), err);
    }
    free(err);
    /* the previous checkpoint is intact and is the first save's */
    snprintf(cmd, sizeof cmd, "%s info '%s/latest.safetensors'", t_bin(), mnt);
    int rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0 && strstr(out, "trained:        300 iterations"), "latest after a full disk: %s %s", out, e);
    free(out);
    free(e);
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c tmp", mnt);
    t_run(cmd, &out, NULL);
    CHECKF(atoi(out) == 0, "temporary files were left in the full directory");
    free(out);
    snprintf(cmd, sizeof cmd, "umount '%s' && rmdir '%s'", mnt, mnt);
    CHECK(t_run(cmd, NULL, NULL) == 0);
}
static void test_full_disk_stops(void) { full_disk_case(0); }
static void test_full_disk_continue(void) { full_disk_case(1); }
static void test_full_disk_continue_then_stop(void) { full_disk_case(2); }

/* Ctrl-C during the other commands: they stop with a non-zero status, flush
 * what they have, and never leave a half-written page. */
static void test_ctrl_c_other_commands(void) {
    char dir[512], big[600], cmd[4096], *out, *e;
    snprintf(dir, sizeof dir, "%s/cv_other", t_tmpdir());
    snprintf(big, sizeof big, "%s/big_signals.txt", t_tmpdir());
    snprintf(cmd, sizeof cmd, "for i in 1 2 3 4 5 6; do cat '%s'; done > '%s' && %s train '%s' --rnn-size 64 --num-layers 2 "
             "--batch-size 8 --seq-length 16 --max-iters 10 --threads 1 --checkpoint-dir '%s'", corpus(), big, t_bin(),
             corpus(), dir);
    if (!CHECK(t_run(cmd, NULL, NULL) == 0)) return;
    char page[600];
    snprintf(page, sizeof page, "%s/page.html", t_tmpdir());
    t_write_file(page, "previous page\n", 14);
    /* viz: stopped while it traces 1e6 characters (once its handler is in): the previous page stays, no temporary file */
    char *when = int_when(CATCHES_SIGINT);
    snprintf(cmd, sizeof cmd, "%s viz '%s/latest.safetensors' '%s' --length 1000000 -o '%s' 2>'%s/viz.err' & p=$!; "
             "%s; echo \"rc=$?\"; ls '%s' | grep -c 'page.html.tmp'", t_bin(), dir, big, page, t_tmpdir(), when, t_tmpdir());
    t_run(cmd, &out, &e);
    char *page_now = slurp(page);
    CHECKF(strstr(out, "rc=130") && !strcmp(page_now, "previous page\n"), "viz interrupted: %s; page: %.40s", out, page_now);
    CHECKF(strstr(out, "\n0\n") != NULL, "a temporary page was left: %s", out);
    free(page_now);
    free(out);
    free(e);
    /* sample: stopped mid-stream (once some lines are out: it writes line by line), and every character it
     * counts as generated is on stdout, the unfinished line included, then a newline (none after a newline
     * drawn last); status 130 */
    char *cond = t_fmt("[ \"$(wc -c < '%s/s.out')\" -gt 100 ]", t_tmpdir()), *when_out = int_when(cond);
    snprintf(cmd, sizeof cmd, "%s sample '%s/latest.safetensors' --length 100000000 --verbose 0 > '%s/s.out' 2>'%s/s.err' & "
             "p=$!; %s; echo \"rc=$?\"", t_bin(), dir, t_tmpdir(), t_tmpdir(), when_out);
    free(cond);
    free(when_out);
    t_run(cmd, &out, &e);
    char *sout = slurp(t_path("s.out")), *serr = slurp(t_path("s.err"));
    const char *stopped = strstr(serr, "stopped by SIGINT after ");
    long n = stopped ? atol(stopped + strlen("stopped by SIGINT after ")) : -1;
    /* the line is ended unless the last character drawn was a newline itself */
    const size_t got = strlen(sout);
    const int ended = n > 100 && ((got == (size_t)n + 1 && sout[n] == '\n') || (got == (size_t)n && sout[n - 1] == '\n'));
    CHECKF(strstr(out, "rc=130") && ended,
           "sample interrupted: %s: %zu bytes out for %ld characters: %s", out, strlen(sout), n, serr);
    free(sout);
    free(serr);
    free(out);
    free(e);
    /* eval: stopped (once its handler is in), no result, status 130 */
    /* the text is made first: $p must be charrnn itself, not a subshell that would take the signal */
    snprintf(cmd, sizeof cmd, "for i in 1 2 3 4 5 6 7 8; do cat '%s'; done > '%s.8'", big, big);
    CHECK(t_run(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, "%s eval '%s/latest.safetensors' '%s.8' --streams 1 & p=$!; %s; echo \"rc=$?\"", t_bin(), dir,
             big, when);
    free(when);
    t_run(cmd, &out, &e);
    CHECKF(strstr(out, "rc=130") && !strstr(out, "nats") && strstr(e, "stopped by SIGINT"), "eval interrupted: %s %s", out, e);
    free(out);
    free(e);
}

/* kill -9 at random moments of a run that writes a checkpoint every iteration:
 * latest.safetensors always loads, and each restart resumes from it. */
static void test_kill9_during_writes(void) {
    char dir[512], errpath[600], args[2048], latest[600];
    snprintf(dir, sizeof dir, "%s/cv_kill9", t_tmpdir());
    snprintf(errpath, sizeof errpath, "%s/stderr_kill9", t_tmpdir());
    snprintf(latest, sizeof latest, "%s/latest.safetensors", dir);
    srand((unsigned)time(NULL));
    int kills = 0, loads = 0;
    for (int round = 0; round < 12; round++) {
        struct stat st;
        int have = stat(latest, &st) == 0;
        snprintf(args, sizeof args, "--rnn-size 64 --num-layers 2 --batch-size 16 --seq-length 32 --max-iters 100000 "
                 "--eval-val-every 1 --print-every 1000 --threads 1 --checkpoint-dir '%s' %s%s%s", dir,
                 have ? "--resume '" : "", have ? latest : "", have ? "'" : "");
        pid_t pid = start_training(args, errpath);
        /* the first run writes its first checkpoint however slow the build (a sanitizer's) */
        for (int w = 0; !have && w < 6000 && stat(latest, &st) != 0; w++) usleep(10000);
        usleep(150000 + (useconds_t)(rand() % 400000));
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        kills++;
        if (stat(latest, &st) == 0) {
            char cmd[1400], *out, *e;
            snprintf(cmd, sizeof cmd, "%s info '%s'", t_bin(), latest);
            int rc = t_run(cmd, &out, &e);
            CHECKF(rc == 0, "after kill -9 number %d, latest.safetensors does not load: %s", kills, e);
            loads += rc == 0;
            free(out);
            free(e);
        }
    }
    CHECKF(loads >= 8, "only %d of %d kills left a checkpoint to check", loads, kills);
}

/* ---- a stop is obeyed in every phase --------------------------------------------------- */

/* Starts `sh -c "exec CMD"` with file descriptor fd (1 or 2) on a pipe that is
 * already full, so the command's first write there blocks; the other of
 * stdout and stderr goes to other_path, stdin is /dev/null. *rd: the pipe's
 * read end; *filled: the filler bytes in it. */
static pid_t start_blocked(const char *cmd, int fd, const char *other_path, int *rd, size_t *filled) {
    int p[2];
    if (pipe(p)) return -1;
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char fill[4096];
    memset(fill, '#', sizeof fill);
    *filled = 0;
    for (ssize_t w; (w = write(p[1], fill, sizeof fill)) > 0;) *filled += (size_t)w;
    fcntl(p[1], F_SETFL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        int other = open(other_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(p[1], fd);
        dup2(other, fd == 1 ? 2 : 1);
        close(p[0]);
        execl("/bin/sh", "sh", "-c", t_fmt("exec %s", cmd), (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *rd = p[0];
    return pid;
}

/* Waits (at most about a minute) until process pid is blocked in system call nr
 * on file descriptor fd (/proc/PID/syscall); 0 if it ended or never did. */
static int wait_in_syscall(pid_t pid, long nr, int fd) {
    char path[64], want[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    snprintf(want, sizeof want, "%ld 0x%x ", nr, fd);
    for (int i = 0; i < 3000; i++) {
        char now[256] = "";
        int pf = open(path, O_RDONLY); /* a /proc file: its size is 0, read it as a stream */
        if (pf >= 0) {
            ssize_t r = read(pf, now, sizeof now - 1);
            now[r > 0 ? r : 0] = 0;
            close(pf);
        }
        if (!strncmp(now, want, strlen(want))) return 1;
        if (waitpid(pid, NULL, WNOHANG) == pid) return 0;
        usleep(20000);
    }
    return 0;
}

/* Everything left in the pipe after the filler, then the exit status. */
static int drain_and_wait(pid_t pid, int rd, size_t filled, char **text) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (ssize_t r; (r = read(rd, buf + n, cap - n - 1)) > 0;) {
        n += (size_t)r;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    close(rd);
    int status;
    waitpid(pid, &status, 0);
    *text = strdup(n >= filled ? buf + filled : "");
    free(buf);
    return exit_code(status);
}

/* A stop request is obeyed in whatever phase it comes: the command stops with
 * 128 + the signal, saying what was and was not written, and writes nothing
 * after. The signal lands at a known point: the command is blocked writing to
 * a full pipe (or reading its input) when it is sent. */
static void test_stop_obeyed_in_every_phase(void) {
    const char *txt = t_path("phases.txt"), *a = t_path("phases_a.ngram"), *b = t_path("phases_b.ngram");
    FILE *f = fopen(txt, "w");
    for (int i = 0; i < 3000; i++) fprintf(f, "line %d of the text, word %d and more\n", i * 7919 % 1000, i % 97);
    fclose(f);
    int rd;
    size_t filled;
    char *text, *other;
    /* ngram --save, stopped after counting (its first word on stderr): nothing is evaluated or saved */
    char *cmd = t_fmt("%s ngram '%s' --save '%s'", t_bin(), txt, a);
    pid_t pid = start_blocked(cmd, 2, t_path("phases.out"), &rd, &filled);
    free(cmd);
    int blocked = wait_in_syscall(pid, SYS_write, 2);
    CHECKF(blocked, "ngram never wrote to stderr");
    kill(pid, SIGTERM);
    int rc = drain_and_wait(pid, rd, filled, &text);
    other = slurp(t_path("phases.out"));
    CHECKF(rc == 143 && strstr(text, "stopped by SIGTERM after counting") && strstr(text, "was not written") &&
           access(a, F_OK) != 0 && !strstr(other, "val:"), "ngram --save stopped after counting: exit %d: %s / %s", rc, text,
           other);
    free(text); free(other);
    /* ngram --save --sample, stopped while sampling: the model was saved whole, and it says so */
    cmd = t_fmt("%s ngram '%s' --save '%s' --sample 1000000", t_bin(), txt, b);
    pid = start_blocked(cmd, 1, t_path("phases.err"), &rd, &filled);
    free(cmd);
    CHECKF(wait_in_syscall(pid, SYS_write, 1), "ngram never wrote its sample");
    kill(pid, SIGTERM);
    rc = drain_and_wait(pid, rd, filled, &text);
    other = slurp(t_path("phases.err"));
    charrnn_ngram *g = NULL;
    charrnn_error err = {0};
    CHECKF(rc == 143 && strstr(other, "while sampling") && strstr(other, "saved before the stop and is complete") &&
           charrnn_ngram_load(&g, b, &err) == 0, "ngram stopped while sampling: exit %d: %s (%s)", rc, other, err.msg);
    charrnn_ngram_close(g);
    free(text); free(other);
    /* eval, stopped as it prints its result at the very end: the result is whole, the status says stopped */
    cmd = t_fmt("%s eval '%s' '%s'", t_bin(), b, txt);
    pid = start_blocked(cmd, 1, t_path("phases.err"), &rd, &filled);
    free(cmd);
    CHECKF(wait_in_syscall(pid, SYS_write, 1), "eval never wrote its result");
    kill(pid, SIGTERM);
    rc = drain_and_wait(pid, rd, filled, &text);
    other = slurp(t_path("phases.err"));
    CHECKF(rc == 143 && strstr(text, "nats") && strstr(other, "stopped by SIGTERM as 'eval' finished"),
           "eval stopped at its end: exit %d: %s / %s", rc, text, other);
    free(text); free(other);
    /* sample --interactive, stopped while it waits for a line: it ends at once */
    const char *dir = t_path("phases_cv");
    char *e;
    rc = t_cli(NULL, &e, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
               "--precision fp32 --threads 1 --checkpoint-dir '%s'", txt, dir);
    CHECKF(rc == 0, "%s", e);
    free(e);
    int in[2];
    if (!CHECK(pipe(in) == 0)) return;
    pid = fork();
    if (pid == 0) {
        int o = open(t_path("phases.err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in[0], 0);
        dup2(o, 1);
        dup2(o, 2);
        close(in[1]);
        execl(t_bin(), t_bin(), "sample", t_fmt("%s/latest.safetensors", dir), "--interactive", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    CHECKF(wait_in_syscall(pid, SYS_read, 0), "sample --interactive never waited for input");
    kill(pid, SIGINT);
    int status = 0, gone = 0;
    for (int i = 0; i < 1000 && !gone; i++) { /* 20 s */
        gone = waitpid(pid, &status, WNOHANG) == pid;
        if (!gone) usleep(20000);
    }
    if (!gone) { kill(pid, SIGKILL); waitpid(pid, &status, 0); }
    close(in[1]);
    other = slurp(t_path("phases.err"));
    CHECKF(gone && exit_code(status) == 130 && strstr(other, "stopped by SIGINT"),
           "sample --interactive stopped while waiting: %s, exit %d: %s", gone ? "ended" : "still waiting 20 s later",
           exit_code(status), other);
    free(other);
}

void register_signal_tests(void) {
    t_register("signals_sigint_saves", test_sigint_saves);
    t_register("signals_sigterm_saves", test_sigterm_saves);
    t_register("signals_sighup_saves", test_sighup_saves);
    t_register("signals_together_are_one_request", test_signals_together);
    t_register("signals_sigusr1_checkpoints", test_sigusr1_checkpoints);
    t_register("signals_max_time", test_max_time);
    t_register("signals_stdin_corpus", test_stdin_corpus);
    t_register("signals_full_disk_stops", test_full_disk_stops);
    t_register("signals_full_disk_continue", test_full_disk_continue);
    t_register("signals_full_disk_continue_then_stop", test_full_disk_continue_then_stop);
    t_register("signals_ctrl_c_other_commands", test_ctrl_c_other_commands);
    t_register("signals_kill9_during_writes", test_kill9_during_writes);
    t_register("signals_stop_obeyed_in_every_phase", test_stop_obeyed_in_every_phase);
}
