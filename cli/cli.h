/* cli.h: what every `charrnn` command shares: a one-line error and exit, option
 * parsing that exits on --help or a bad command line, reading a whole file. */
#ifndef CHARRNN_CLI_H
#define CHARRNN_CLI_H

#include "charrnn.h"
#include "options.h"

#include <stddef.h>

/* Prints "charrnn: error: MESSAGE" on stderr and exits with code. */
void cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* A library error: a bad option value is a usage error (exit 2), anything else 1. */
void cli_die_err(const charrnn_error *e) __attribute__((noreturn));
/* parse_args for a command: --help prints the options and exits 0, a bad command
 * line dies with exit 2. Returns the number of positional words. */
int cli_parse(int argc, char **argv, const char *cmd, const char *usage, optdef *opts, const char **pos, int maxpos);
/* The whole file, NUL-terminated (its length in *len), or dies with a message. */
char *cli_read_file(const char *path, size_t *len);

/* Checks a --threads value (0: leave the library's default) and applies it. */
void cli_set_threads(int threads);
/* A charrnn_progress_fn that draws a progress bar (ctx: a struct progress from
 * progress.h, whose label is set with cli_progress_label) on a terminal. */
void cli_progress(void *ctx, long done, long total);

#endif
