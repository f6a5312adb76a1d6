/* cli.h: what every `charrnn` command shares: a one-line error and exit, option
 * parsing that exits on --help or a bad command line, reading an input (a file
 * or standard input, bounded), output to stdout whose write errors are never
 * lost, outputs checked before any work and written atomically (or into a
 * device or FIFO), characters made safe for a terminal, words quoted for a shell. */
#ifndef CHARRNN_CLI_H
#define CHARRNN_CLI_H

#include "charrnn.h"
#include "options.h"
#include "files.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Prints "charrnn: error: MESSAGE" on stderr and exits with code. */
void cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* A library error: a bad option value is a usage error (exit 2), anything else 1. */
void cli_die_err(const charrnn_error *e) __attribute__((noreturn));
/* parse_args for a command: --help prints the options and exits 0, a bad command
 * line dies with exit 2. Returns the number of positional words. */
int cli_parse(int argc, char **argv, const char *cmd, const char *usage, optdef *opts, const char **pos, int maxpos);

/* The whole input, NUL-terminated (its length in *len), or dies with a message:
 * path "-" is standard input; otherwise a regular file (a device, a FIFO or a
 * directory is refused). Standard input is read up to a bound (what this
 * machine's memory allows), beyond which it says to save the text to a file. */
char *cli_read_input(const char *path, size_t *len);
/* A number as the library writes it (charrnn_num, charrnn_numf), into a buffer that lives as long as
 * the enclosing block: for one message. */
#define CLI_NUM(v) charrnn_num((v), (char[CHARRNN_NUM_LEN]){0})
/* A macro's value as a string literal (an option's range from a limit: "[1," CLI_STR(MAX) "]"). */
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x
#define CLI_NUMF(v) charrnn_numf((v), (char[CHARRNN_NUM_LEN]){0})

/* Dies, before any work, when path (not "-") exists and is not a regular file, with
 * cli_read_input's message; the rest (a missing file) is left to what reads it. */
void cli_check_input(const char *path);
/* How an input is named in messages: "standard input" for "-". */
const char *cli_input_name(const char *path);

/* Checks a --threads value (0: leave the library's default) and applies it. */
void cli_set_threads(int threads);
/* --precision auto|fp32|bf16 (the index) on the model, or a one-line error; say 1: print the processor
 * and what is used and why; 2: what is used and why, where the processor has AVX512-BF16 (evaluation
 * and sampling, whose numbers it moves). */
void cli_set_precision(charrnn_model *m, int precision, int say);
/* --precision bf16 where the processor cannot: the error, before any work (device: the
 * --device asked for; on a GPU its backend decides). */
void cli_check_precision(int precision, const char *device);
/* --device (NULL: not given) and char-rnn's -gpuid N (NULL: not given; cuda:N, -1 the CPU, and
 * where this build or machine has no GPU the CPU with a note, as char-rnn falls back) as one
 * device name ("auto" when neither); both given, or a bad -gpuid, is a one-line error. */
const char *cli_device(const char *device, const char *gpuid);
/* The device on the model (charrnn_model_set_device), or a one-line error; say 1: print where it
 * runs; say 2: only auto's note where there was something to decide (once per process). */
void cli_set_device(charrnn_model *m, const char *device, int say);
#define CLI_DEVICE_CHOICES "auto|cpu|cuda|cuda:N"
#define CLI_DEVICE_HELP "where the network runs: auto (default: the GPU where this build and machine have one), cpu, cuda, cuda:N"
#define CLI_PRECISION_CHOICES "auto|fp32|bf16|tf32"
#define CLI_PRECISION_HELP "matrix products: bf16 (AVX512-BF16, float32 weights) or fp32; tf32 (a GPU's tensor cores); auto (default): the faster for this run, timed at its start (fp32 on a GPU)"

/* A charrnn_progress_fn that draws a progress bar (ctx: a struct progress from
 * progress.h, whose label is set with cli_progress_label) on a terminal, and
 * asks the library to stop once a stop signal came (cli/signals.h). */
int cli_progress(void *ctx, long done, long total);

/* Where a command goes from one phase to the next: when a stop was asked
 * (cli/signals.h), flushes what stdout holds, prints "charrnn: stopped by SIG "
 * and the message (when; what was and was not written: "after counting; x was
 * not written") and exits 128 + the signal.
 * No phase runs on after a stop request. */
void cli_stop_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- stdout -------------------------------------------------------------------- */
/* Writes to stdout, checking for errors: a full disk or a closed pipe (EPIPE,
 * with SIGPIPE ignored) ends the command at once with
 * "cannot write output: ..." and status 1 (141 for a closed pipe). */
void out_write(const void *p, size_t n);
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Character c of a model with the given unit, as UTF-8 (or the raw byte). */
void out_char(uint32_t c, charrnn_unit unit);
/* Ends the output's last line: a newline, unless the last byte written was one
 * (with nothing written yet: a newline). */
void out_end_line(void);
/* Flushes stdout and checks that everything written arrived; dies otherwise.
 * Every command calls it before it exits 0. */
void out_finish(void);

/* ---- outputs -------------------------------------------------------------------- */
/* Checks an output path before any work: "-" (stdout) is fine; a new or regular
 * file is replaced, a character device or FIFO written into (without
 * FILE_OUT_REGULAR, src/base/files.h); a directory, block device or socket is
 * refused; so is a regular file that is one of the n inputs (the paths the
 * command reads, "-" for standard input; NULL ones skipped), by device and inode,
 * through symbolic and hard links: writing it would destroy the input. Dies with
 * a one-line message that ends "pass another OPTION" (e.g. "-o", "--save"). */
void cli_check_output(const char *path, const char *option, int flags, const char *const *inputs, int n);
/* When path is a FIFO: waits (saying so once, on stderr) until a process reads
 * it, and returns a descriptor that holds that reader (close it once the real
 * write has opened the FIFO); a stop signal ends the wait and the command.
 * Anything else: -1 at once. */
int cli_hold_fifo(const char *path);
/* Writes buf to path: "-" is stdout; a regular file is replaced atomically
 * (temporary file in the same directory, fsync, rename: a reader never sees half
 * a page, and an interrupted write leaves the previous file; through a symbolic
 * link, the file it leads to); a character device or FIFO (/dev/null, a pipe)
 * is written into, never replaced. Dies with a message on failure. */
void cli_write_file_atomic(const char *path, const char *buf, size_t len);

/* ---- text for terminals and shells ----------------------------------------------- */
/* Character c as text that is safe on a terminal: printable characters as
 * themselves; newline, tab, controls (C0, DEL, C1), bidirectional and other
 * invisible format characters, line and paragraph separators, and in byte mode
 * any byte above 0x7F as \n, \t, \xNN or \u{XXXX}. Returns the length. */
int cli_safe_char(uint32_t c, charrnn_unit unit, char *out, size_t cap);
/* "'x' (U+0078), U+0000, ..." for up to n characters (a warning's list). */
void cli_describe_chars(const uint32_t *cs, int n, charrnn_unit unit, char *out, size_t cap);
/* s as one shell word: as it is when that is safe, else in single quotes
 * (with ' written as '\''). Returns out. */
char *cli_shell_quote(const char *s, char *out, size_t cap);

#endif
