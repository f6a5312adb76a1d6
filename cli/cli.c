/* cli.c: the helpers every `charrnn` command shares (see cli.h). */
#include "cli.h"
#include "progress.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "charrnn: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}

int cli_parse(int argc, char **argv, const char *cmd, const char *usage, optdef *opts, const char **pos,
                      int maxpos) {
    char msg[512];
    int n = parse_args(argc, argv, cmd, usage, opts, pos, maxpos, msg, sizeof msg);
    if (n == OPT_HELP) { print_help(stdout, usage, opts); exit(0); }
    if (n == OPT_ERROR) cli_die(2, "%s", msg);
    return n;
}

char *cli_read_file(const char *path, size_t *len) {
    struct stat st;
    if (stat(path, &st) != 0) cli_die(1, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) cli_die(1, "'%s' is a directory; give a text file", path);
    FILE *f = fopen(path, "rb");
    if (!f) cli_die(1, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) cli_die(1, "out of memory reading '%s'", path);
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) cli_die(1, "out of memory reading '%s'", path);
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) cli_die(1, "cannot read '%s': %s", path, strerror(errno));
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

void cli_set_threads(int threads) {
    if (threads < 0) cli_die(2, "--threads %d is out of range; use a positive count", threads);
    charrnn_set_threads(threads);
}

void cli_die_err(const charrnn_error *e) { cli_die(e->code == CHARRNN_EINVAL ? 2 : 1, "%s", e->msg); }

void cli_progress(void *ctx, long done, long total) {
    progress *p = ctx;
    progress_draw(p, p->label ? p->label : "", done, total, done, NULL);
}
