/* signals.c: stop requests (see signals.h). Everything in the handler is
 * async-signal-safe: clock_gettime, write, unlink, _exit, and the library's
 * charrnn_corpus_fault. */
#include "signals.h"
#include "charrnn.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAME_REQUEST_NS 1000000000LL /* signals within 1 s of the first are one request */

static volatile sig_atomic_t stop_sig, usr1;
static long long first_ns;
static char stopping_msg[256];
static size_t stopping_len;
static char cleanup_path[4096];

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void say(const char *s, size_t n) {
    ssize_t w = write(2, s, n); /* stderr may be gone (SIGHUP): nothing to do then */
    (void)w;
}

static void on_signal(int sig) {
    if (sig == SIGUSR1) { usr1 = 1; return; }
    long long t = now_ns();
    if (!stop_sig) {
        first_ns = t;
        stop_sig = sig;
        say(stopping_msg, stopping_len);
        return;
    }
    if (t - first_ns < SAME_REQUEST_NS) return; /* the same request, delivered again (to the process group) */
    if (cleanup_path[0]) unlink(cleanup_path);
    static const char msg[] = "charrnn: quitting at once\n";
    say(msg, sizeof msg - 1);
    _exit(128 + sig);
}

/* on_signal for sig, the other stop signals blocked while it runs; restart 0: a
 * blocking call it interrupts fails with EINTR (so a wait can notice the stop). */
static void catch_signal(int sig, int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(sig, &sa, NULL);
}

static void set_handlers(int restart) {
    catch_signal(SIGINT, restart);
    catch_signal(SIGTERM, restart);
    catch_signal(SIGHUP, restart);
}

void sig_install(const char *what, int with_usr1) {
    stopping_len = (size_t)snprintf(stopping_msg, sizeof stopping_msg,
                                    "\ncharrnn: %s (a second Ctrl-C, a second later, quits at once)\n", what);
    if (stopping_len >= sizeof stopping_msg) stopping_len = sizeof stopping_msg - 1;
    set_handlers(1);
    if (with_usr1) catch_signal(SIGUSR1, 1);
}

void sig_interrupt_waits(int on) { set_handlers(!on); }

int sig_stop_requested(void) { return stop_sig; }

int sig_take_checkpoint_request(void) {
    if (!usr1) return 0;
    usr1 = 0;
    return 1;
}

void sig_set_cleanup(const char *path) {
    /* block the stop signals while the path changes, so the handler never sees half of it */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    snprintf(cleanup_path, sizeof cleanup_path, "%s", path ? path : "");
    sigprocmask(SIG_SETMASK, &old, NULL);
}

const char *sig_name(int sig) {
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    default: return "a signal";
    }
}

/* The last words on a SIGBUS the library could not work around: two buffers,
 * so the handler always reads a whole one while the other is rewritten. */
static char bus_msg[2][1024];
static size_t bus_len[2];
static volatile sig_atomic_t bus_cur;
static char bus_path[512];

static void on_bus(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    if (charrnn_corpus_fault(info->si_addr)) return; /* zeros read; training notices at the end of the step */
    int k = bus_cur;
    say(bus_msg[k], bus_len[k]);
    _exit(128 + sig);
}

static void set_bus_msg(const char *latest, long iteration) {
    int k = !bus_cur;
    char kept[700];
    if (latest) snprintf(kept, sizeof kept, "the last checkpoint of this run is %s (iteration %ld)", latest, iteration);
    else snprintf(kept, sizeof kept, "no checkpoint of this run was saved");
    int n = snprintf(bus_msg[k], sizeof bus_msg[k], "charrnn: error: a file mapped in memory (the corpus '%s' or its token "
                     "cache) was truncated while being read (SIGBUS); stopped at once; %s\n", bus_path, kept);
    bus_len[k] = n < 0 ? 0 : (size_t)n >= sizeof bus_msg[k] ? sizeof bus_msg[k] - 1 : (size_t)n;
    bus_cur = k;
}

void sig_guard_mapped_file(const char *path, const char *latest, long iteration) {
    snprintf(bus_path, sizeof bus_path, "%s", path);
    set_bus_msg(latest, iteration);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

void sig_guard_saved(const char *latest, long iteration) { set_bus_msg(latest, iteration); }
