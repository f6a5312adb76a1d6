/* options.h: the command line's option tables and parser (cli/options.c). */
#ifndef CHARRNN_OPTIONS_H
#define CHARRNN_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

/* O_FLAG takes no value (sets an int to 1); O_DURATION is seconds written as 90,
 * 45s, 90m, 8h, 2d or 1h30m (a double); O_IGNORED takes a value and drops it
 * (char-rnn's options, which scripts still pass; with a dst the value is kept as
 * a string, for the command to map, and --help does not list it). Numbers are strict: decimal
 * digits only, an optional '-' for signed kinds, no spaces, no hex. */
typedef enum { O_INT, O_LONG, O_DOUBLE, O_STR, O_CHOICE, O_U64, O_FLAG, O_DURATION, O_IGNORED, O_MULTI } opt_type;
/* O_MULTI: a repeatable string option; its dst is one of these. */
#define OPT_MULTI_MAX 16
typedef struct opt_multi { const char *values[OPT_MULTI_MAX]; int n; } opt_multi;
typedef struct optdef {
    const char *name;     /* without dashes, words joined by '-' */
    opt_type type;
    void *dst;
    /* O_CHOICE: the names, "a|b|c" (the index is stored as int). A number (O_INT, O_LONG, O_DOUBLE): the
     * values it takes, NULL for any its type holds: intervals "[1,4096]", "(0,1]", "[0,1)", "[1,inf)" and
     * single values, joined by '|': "0|[1e-6,1e6]". parse_args refuses any other value with one line
     * that names the option, the value as given and the range; --help shows the range. O_STR: its
     * forms for --help ("auto|cpu|cuda|cuda:N"; NULL: "S"), checked by the command, not the parser. */
    const char *values;
    const char *help;
    int given;            /* set by parse_args when the option was on the command line */
} optdef;

enum { OPT_ERROR = -1, OPT_HELP = -2 };

/* Parses argv into opts (a table ending with a NULL name); words that are not
 * options go to pos (at most maxpos). Returns the number of positional words,
 * OPT_HELP for --help, or OPT_ERROR with a one-line message in err. */
int parse_args(int argc, char **argv, const char *cmd, const char *usage, optdef *opts, const char **pos, int maxpos,
               char *err, size_t errlen);
void print_help(FILE *f, const char *usage, const optdef *opts);
/* Whether the option that writes to dst was on the command line (after parse_args). */
int opt_given(const optdef *opts, const void *dst);
int edit_distance(const char *a, const char *b);
/* Whether v is among the values of range spec (see optdef.values; NULL: any): 1 or 0, -1 for a spec that
 * does not parse. */
int opt_in_range(const char *spec, double v);
/* The values of a range spec in words ("0 or 1e-6 to 1e6", "0 < N <= 1", "1 or more") into out. */
void opt_describe_range(const char *spec, char *out, size_t cap);
/* The strict number syntax, exposed for tests: NUM_OK and the value, NUM_MALFORMED
 * (not a number of that kind), or NUM_TOO_LARGE / NUM_TOO_SMALL (a number, but
 * beyond what the type holds: 1e400, 2^64; 1e-400 is too small, it would be 0; a
 * duration of 0). Durations are at most MAX_DURATION_S. */
enum { NUM_OK = 0, NUM_MALFORMED = -1, NUM_TOO_LARGE = -2, NUM_TOO_SMALL = -3 };
#define MAX_DURATION_S (100000.0 * 86400) /* 100000 days, about 274 years */
int parse_long_strict(const char *s, long *out);
int parse_u64_strict(const char *s, unsigned long long *out);
int parse_double_strict(const char *s, double *out);
int parse_duration(const char *s, double *seconds);

#endif
