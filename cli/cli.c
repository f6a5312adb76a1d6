/* cli.c: the helpers every `charrnn` command shares (see cli.h). */
#include "cli.h"
#include "progress.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cli_die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "charrnn: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}

void cli_die_err(const charrnn_error *e) { cli_die(e->code == CHARRNN_EINVAL ? 2 : 1, "%s", e->msg); }

int cli_parse(int argc, char **argv, const char *cmd, const char *usage, optdef *opts, const char **pos, int maxpos) {
    char msg[512];
    int n = parse_args(argc, argv, cmd, usage, opts, pos, maxpos, msg, sizeof msg);
    if (n == OPT_HELP) {
        print_help(stdout, usage, opts);
        out_finish();
        exit(0);
    }
    if (n == OPT_ERROR) cli_die(2, "%s", msg);
    for (const optdef *o = opts; o->name; o++)
        if (o->given && o->type == O_IGNORED && !o->dst)
            fprintf(stderr, "note: --%s is ignored: %s\n", o->name, o->help);
    return n;
}

/* ---- input ---------------------------------------------------------------------- */

const char *cli_input_name(const char *path) { return strcmp(path, "-") ? path : "standard input"; }

/* Reads fd to the end into a growing buffer of at most limit bytes. */
static char *read_all(int fd, const char *name, size_t hint, size_t limit, size_t *len) {
    size_t cap = hint + 1 > 4096 ? hint + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) cli_die(1, "out of memory reading %s", name);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= limit)
                cli_die(1, "%s is larger than %.1f GB, more than this machine can hold in memory; save the text to a "
                        "file and pass its path", name, limit / 1e9);
            size_t ncap = cap * 2 > limit ? limit : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) cli_die(1, "out of memory reading %s", name);
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR) {
            if (sig_stop_requested()) exit(128 + sig_stop_requested());
            continue;
        }
        if (got < 0) cli_die(1, "cannot read %s: %s", name, strerror(errno));
        if (got == 0) break;
        n += (size_t)got;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static void die_not_regular(const char *path, mode_t mode) {
    if (S_ISDIR(mode)) cli_die(1, "'%s' is a directory; give a text file", path);
    char q[4200];
    if (S_ISFIFO(mode)) /* read whole, as standard input is, it can come that way */
        cli_die(1, "'%s' is not a regular file (it is a FIFO); give a text file, or pass it as standard input: - < %s",
                path, cli_shell_quote(path, q, sizeof q));
    cli_die(1, "'%s' is not a regular file (it is %s); give a text file, or - for standard input", path, file_kind(mode));
}

void cli_check_input(const char *path) {
    struct stat st;
    if (strcmp(path, "-") && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) die_not_regular(path, st.st_mode);
}

char *cli_read_input(const char *path, size_t *len) {
    if (!strcmp(path, "-")) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        double mem = pages > 0 && psize > 0 ? (double)pages * (double)psize : 4e9;
        size_t limit = (size_t)(mem / 4 < 1e12 ? mem / 4 : 1e12);
        return read_all(0, "standard input", 0, limit, len);
    }
    struct stat st;
    int fd = file_open_read(path, &st); /* a FIFO or a device is refused, never waited on */
    if (fd == -2) die_not_regular(path, st.st_mode);
    if (fd < 0) cli_die(1, "cannot open '%s': %s", path, strerror(errno));
    char *buf = read_all(fd, path, (size_t)st.st_size, (size_t)st.st_size + 1 + (1u << 20), len);
    close(fd);
    return buf;
}

void cli_set_threads(int threads) {
    if (threads < 0 || threads > 4096) cli_die(2, "--threads %d is out of range; use 1 to 4096 (0: the default)", threads);
    charrnn_set_threads(threads);
}

void cli_check_precision(int precision, const char *device) {
    if (device && !strncmp(device, "cuda", 4)) return; /* the GPU's backend says what it runs */
    if (precision == CHARRNN_PRECISION_TF32 && device && !strcmp(device, "cpu"))
        cli_die(2, "--precision tf32 is a GPU's number format (tensor cores); on the CPU use --precision fp32 or bf16");
    if (precision == CHARRNN_PRECISION_BF16 && !charrnn_bf16_supported())
        cli_die(2, "--precision bf16 needs a processor with AVX512-BF16 (this one has none); use --precision fp32 or auto");
}

void cli_set_precision(charrnn_model *m, int precision, int say) {
    charrnn_error err = {0};
    if (charrnn_model_set_precision(m, (charrnn_precision)precision, &err)) cli_die_err(&err);
    /* say 2: only where there was something to decide or bf16 is on */
    if (!say || (say == 2 && !charrnn_bf16_supported())) return;
    if (say == 1) fprintf(stderr, "processor: %s\n", charrnn_processor_info());
    fprintf(stderr, "precision: %s\n", charrnn_model_precision_note(m));
}

const char *cli_device(const char *device, const char *gpuid) {
    charrnn_error err = {0};
    if (!gpuid) {
        if (charrnn_device_check(device, &err)) cli_die_err(&err);
        return device ? device : "auto";
    }
    if (device) cli_die(2, "give --device or -gpuid, not both (-gpuid N is --device cuda:N, -gpuid -1 --device cpu)");
    long n;
    if (parse_long_strict(gpuid, &n) != NUM_OK || n < -1 || n > 1023)
        cli_die(2, "-gpuid must be -1 (the CPU) or a GPU's number from 0, got '%s'", gpuid);
    if (n < 0) return "cpu";
    static char dev[24];
    snprintf(dev, sizeof dev, "cuda:%ld", n);
    if (charrnn_cuda_device_count() <= 0) { /* as char-rnn: no usable GPU, so the CPU, said once */
        fprintf(stderr, "note: -gpuid %ld: %s; running on the CPU (as char-rnn falls back)\n", n,
                charrnn_cuda_device_count() < 0 ? "this charrnn was built without CUDA (make CUDA=1)"
                                                : "no CUDA GPU is visible here");
        return "cpu";
    }
    return dev;
}

void cli_set_device(charrnn_model *m, const char *device, int say) {
    charrnn_error err = {0};
    if (charrnn_model_set_device(m, device, &err)) cli_die_err(&err);
    static int noted; /* auto's choice, said once per process */
    const char *note = charrnn_model_device_note(m);
    if (*note && !noted && say) {
        fprintf(stderr, "device: %s\n", note);
        noted = 1;
    } else if (say == 1 && !*note) {
        fprintf(stderr, "device: %s\n", charrnn_model_device(m));
    }
}

int cli_progress(void *ctx, long done, long total) {
    progress *p = ctx;
    progress_draw(p, p->label ? p->label : "", done, total, done, NULL);
    return sig_stop_requested();
}

void cli_stop_point(const char *fmt, ...) {
    int sig = sig_stop_requested();
    if (!sig) return;
    out_finish();
    fprintf(stderr, "charrnn: stopped by %s ", sig_name(sig));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(128 + sig);
}

/* ---- stdout -------------------------------------------------------------------- */

static void out_failed(void) {
    int e = errno;
    if (e == EPIPE) {
        /* the reader went away (SIGPIPE ignored): stop quietly, as a killed pipeline would */
        fprintf(stderr, "charrnn: error: cannot write output: %s (the reader of the pipe went away)\n", strerror(e));
        _exit(141);
    }
    cli_die(1, "cannot write output: %s", e ? strerror(e) : "write error");
}

static int out_last = -1; /* the last byte written to stdout, -1 before any */

void out_write(const void *p, size_t n) {
    if (!n) return;
    if (fwrite(p, 1, n, stdout) != n) out_failed();
    out_last = ((const unsigned char *)p)[n - 1];
}

void out_printf(const char *fmt, ...) {
    char small[1024], *buf = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) out_failed();
    if ((size_t)n >= sizeof small) {
        if (!(buf = malloc((size_t)n + 1))) cli_die(1, "out of memory");
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    out_write(buf, (size_t)n);
    if (buf != small) free(buf);
}

void out_char(uint32_t c, charrnn_unit unit) {
    char u[4];
    int n = 1;
    if (unit == CHARRNN_UNIT_BYTE) u[0] = (char)c;
    else n = charrnn_utf8_encode(c, u);
    out_write(u, (size_t)n);
}

void out_end_line(void) {
    if (out_last != '\n') out_write("\n", 1);
}

void out_finish(void) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) out_failed();
    /* a regular file on a full disk may fail only at close */
    int fd = dup(fileno(stdout));
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
            close(fd);
            out_failed();
        }
        close(fd);
    }
}

/* ---- outputs -------------------------------------------------------------------- */

/* The input path names the same file as st (a regular file), through any links;
 * "-" is standard input. */
static int same_file(const char *input, const struct stat *st) {
    struct stat in;
    int ok = !strcmp(input, "-") ? fstat(0, &in) == 0 : stat(input, &in) == 0;
    return ok && S_ISREG(in.st_mode) && in.st_dev == st->st_dev && in.st_ino == st->st_ino;
}

void cli_check_output(const char *path, const char *option, int flags, const char *const *inputs, int n) {
    if (!strcmp(path, "-") && !(flags & FILE_OUT_REGULAR)) return;
    char msg[4400];
    const char *hint = flags & FILE_OUT_REGULAR ? "remove it, or pass another" : "pass another";
    if (file_out_check(path, flags, msg, sizeof msg) < 0) cli_die(1, "%s; %s %s", msg, hint, option);
    /* what a write replaces: the file the path leads to, or (a run directory's files) the link itself */
    struct stat st;
    if ((flags & FILE_OUT_REGULAR ? lstat(path, &st) : stat(path, &st)) != 0 || !S_ISREG(st.st_mode)) return;
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !same_file(inputs[i], &st)) continue;
        char what[4300];
        if (!strcmp(inputs[i], "-")) snprintf(what, sizeof what, "the same file as standard input");
        else if (!strcmp(inputs[i], path)) snprintf(what, sizeof what, "the input '%s'", path);
        else snprintf(what, sizeof what, "the same file as the input '%s'", inputs[i]);
        cli_die(1, "cannot write '%s': it is %s, which this command reads; writing it would destroy it: pass another %s",
                path, what, option);
    }
}

int cli_hold_fifo(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISFIFO(st.st_mode)) return -1;
    for (int waited = 0;; waited++) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC); /* ENXIO: no reader yet */
        if (fd >= 0 || errno != ENXIO) return fd; /* another error: the write itself says it */
        if (!waited) fprintf(stderr, "waiting for a process to read the FIFO '%s' ...\n", path);
        if (sig_stop_requested()) {
            fprintf(stderr, "charrnn: stopped by %s; nothing was written to '%s'\n", sig_name(sig_stop_requested()), path);
            exit(128 + sig_stop_requested());
        }
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
}

void cli_write_file_atomic(const char *path, const char *buf, size_t len) {
    if (!strcmp(path, "-")) {
        cli_stop_point("before writing; nothing was written to standard output");
        out_write(buf, len);
        out_finish();
        return;
    }
    char msg[4400];
    file_out o;
    int held = cli_hold_fifo(path);
    int rc = file_out_begin(&o, path, 0, msg, sizeof msg);
    if (held >= 0) close(held); /* the writer's own descriptor keeps the reader */
    if (rc) cli_die(1, "%s; pass another -o", msg);
    sig_set_cleanup(o.tmp);
    if (file_out_write(&o, buf, len) != 0) {
        int e = errno;
        int stream = !o.tmp;
        file_out_abort(&o);
        sig_set_cleanup(NULL);
        if (stream) cli_die(1, "cannot write '%s': %s%s", path, strerror(e), e == EPIPE ? " (its reader went away)" : "");
        cli_die(1, "cannot write '%s': %s; '%s' was left as it was; pass another -o or free some space", path,
                strerror(e), path);
    }
    if (o.tmp && sig_stop_requested()) {
        file_out_abort(&o);
        sig_set_cleanup(NULL);
        fprintf(stderr, "charrnn: stopped by %s; '%s' was not written\n", sig_name(sig_stop_requested()), path);
        exit(128 + sig_stop_requested());
    }
    rc = file_out_commit(&o, msg, sizeof msg);
    sig_set_cleanup(NULL);
    if (rc) cli_die(1, "%s; pass another -o or free some space", msg);
}

/* ---- text for terminals and shells ----------------------------------------------- */

int cli_safe_char(uint32_t c, charrnn_unit unit, char *out, size_t cap) {
    if (c == '\n') return snprintf(out, cap, "\\n");
    if (c == '\t') return snprintf(out, cap, "\\t");
    if (c == '\\') return snprintf(out, cap, "\\\\");
    if (unit == CHARRNN_UNIT_BYTE ? (c < 0x20 || c >= 0x7f) : (c < 0x80 && charrnn_unsafe_codepoint(c)))
        return snprintf(out, cap, "\\x%02x", (unsigned)c);
    if (unit != CHARRNN_UNIT_BYTE && charrnn_unsafe_codepoint(c)) return snprintf(out, cap, "\\u{%04X}", (unsigned)c);
    if (cap < 5) return 0;
    int n = charrnn_utf8_encode(c, out);
    out[n] = 0;
    return n;
}

void cli_describe_chars(const uint32_t *cs, int n, charrnn_unit unit, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len + 40 < cap; i++) {
        char u[32];
        cli_safe_char(cs[i], unit, u, sizeof u);
        if (unit == CHARRNN_UNIT_BYTE)
            len += (size_t)snprintf(out + len, cap - len, "%sbyte 0x%02X", i ? ", " : "", (unsigned)cs[i]);
        else if (cs[i] >= 0x20 && !charrnn_unsafe_codepoint(cs[i]))
            len += (size_t)snprintf(out + len, cap - len, "%s'%s' (U+%04X)", i ? ", " : "", u, (unsigned)cs[i]);
        else
            len += (size_t)snprintf(out + len, cap - len, "%sU+%04X", i ? ", " : "", (unsigned)cs[i]);
    }
}

char *cli_shell_quote(const char *s, char *out, size_t cap) {
    size_t n = strlen(s);
    if (n && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-") == n) {
        snprintf(out, cap, "%s", s);
        return out;
    }
    size_t k = 0;
    if (cap < 3) { if (cap) out[0] = 0; return out; }
    out[k++] = '\'';
    for (const char *p = s; *p && k + 6 < cap; p++) {
        if (*p == '\'') { memcpy(out + k, "'\\''", 4); k += 4; }
        else out[k++] = *p;
    }
    out[k++] = '\'';
    out[k] = 0;
    return out;
}
