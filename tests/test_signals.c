/* test_signals.c: training is interrupted the ways users interrupt it. Ctrl-C
 * (SIGINT) and SIGTERM finish the step, save a resumable checkpoint, print the
 * resume command and exit 130 / 143; a second Ctrl-C leaves at once. kill -9 at
 * random moments, many of them inside checkpoint writes, never leaves a damaged
 * latest.safetensors: each time it loads, and the run resumes from it. */
#include "test.h"

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

/* Waits until the file at path contains needle (at most ~20 s). */
static int wait_for(const char *path, const char *needle) {
    for (int i = 0; i < 2000; i++) {
        char *s = slurp(path);
        int found = strstr(s, needle) != NULL;
        free(s);
        if (found) return 1;
        usleep(10000);
    }
    return 0;
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

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
    char cmd[2400], *out, *e2;
    snprintf(cmd, sizeof cmd, "%s train '%s' --resume '%s/latest.safetensors' --max-iters 1000000 --checkpoint-dir '%s' "
             "--threads 1 & p=$!; sleep 1; kill -INT $p; wait $p", t_bin(), corpus(), dir, dir);
    int rc = t_run(cmd, &out, &e2);
    CHECKF(rc == 130 && strstr(e2, "resuming"), "resume after signal %d: exit %d: %s", sig, rc, e2);
    free(out);
    free(e2);
}

static void test_sigint_saves(void) { interrupt_case(SIGINT, 130); }
static void test_sigterm_saves(void) { interrupt_case(SIGTERM, 143); }

/* Two Ctrl-C in a row: the second leaves at once, and whatever was in the
 * checkpoint directory stays loadable. */
static void test_double_sigint(void) {
    char dir[512], errpath[600], args[2048];
    snprintf(dir, sizeof dir, "%s/cv_double", t_tmpdir());
    snprintf(errpath, sizeof errpath, "%s/stderr_double", t_tmpdir());
    /* a larger model so that a step takes a while and the second signal lands inside it */
    snprintf(args, sizeof args, "--rnn-size 256 --num-layers 2 --batch-size 32 --seq-length 64 --max-iters 1000000 "
             "--print-every 1 --eval-val-every 2 --threads 1 --checkpoint-dir '%s'", dir);
    pid_t pid = start_training(args, errpath);
    if (!CHECKF(wait_for(errpath, "saved"), "training did not save")) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); return; }
    kill(pid, SIGINT);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    CHECKF(exit_code(status) == 130, "exit %d", exit_code(status));
    char cmd[1400], *out, *e;
    snprintf(cmd, sizeof cmd, "%s info '%s/latest.safetensors'", t_bin(), dir);
    int rc = t_run(cmd, &out, &e);
    CHECKF(rc == 0, "latest.safetensors after a double Ctrl-C: %s", e);
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

void register_signal_tests(void) {
    t_register("signals_sigint_saves", test_sigint_saves);
    t_register("signals_sigterm_saves", test_sigterm_saves);
    t_register("signals_double_sigint", test_double_sigint);
    t_register("signals_kill9_during_writes", test_kill9_during_writes);
}
