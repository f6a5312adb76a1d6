/* options.c: the command line's option parser: --name value, --name=value and
 * char-rnn's -name_with_underscores value; typed values checked strictly, and
 * numbers against the range their table entry gives; an unknown option suggests
 * the nearest known one. It never exits or prints
 * (the fuzz target drives it): errors come back as a message. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return OPT_ERROR;
}

int opt_given(const optdef *opts, const void *dst) {
    for (const optdef *q = opts; q->name; q++)
        if (q->dst == dst && q->given) return 1;
    return 0;
}

int edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 40 || m > 40) return 99;
    int d[41][41];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = c < del ? (c < ins ? c : ins) : (del < ins ? del : ins);
        }
    return d[n][m];
}

/* ---- ranges: "[1,4096]", "(0,1]", "[1,inf)", "0|[1e-6,1e6]" ------------------------------------- */

/* One piece of a range spec (up to '|' or the end): an interval or a single value, into lo/hi and whether
 * each end is open. Returns the length of the piece, or -1 when it does not parse. */
static int range_piece(const char *p, double *lo, double *hi, int *lo_open, int *hi_open) {
    char *end;
    if (*p == '[' || *p == '(') {
        *lo_open = *p == '(';
        *lo = strtod(p + 1, &end);
        if (end == p + 1 || *end != ',') return -1;
        const char *q = end + 1;
        *hi = strtod(q, &end);
        if (end == q || (*end != ']' && *end != ')')) return -1;
        *hi_open = *end == ')';
        return (int)(end + 1 - p);
    }
    *lo = *hi = strtod(p, &end);
    *lo_open = *hi_open = 0;
    return end == p ? -1 : (int)(end - p);
}

int opt_in_range(const char *spec, double v) {
    if (!spec) return 1;
    for (const char *p = spec;;) {
        double lo, hi;
        int lo_open, hi_open, n = range_piece(p, &lo, &hi, &lo_open, &hi_open);
        if (n < 0 || (p[n] && p[n] != '|')) return -1;
        if ((lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi)) return 1;
        if (!p[n]) return 0;
        p += n + 1;
    }
}

/* Appends to out (cap bytes, len used so far), truncating. */
static void append(char *out, size_t cap, size_t *len, const char *fmt, ...) {
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 ? cap : *len + (size_t)n;
}

void opt_describe_range(const char *spec, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (const char *p = spec; p && *p;) {
        double lo, hi;
        int lo_open, hi_open, n = range_piece(p, &lo, &hi, &lo_open, &hi_open);
        if (n < 0) break;
        if (p != spec) append(out, cap, &len, " or ");
        if (*p != '[' && *p != '(') {
            append(out, cap, &len, "%.*s", n, p); /* a single value */
        } else { /* the bounds as the spec writes them: "[LO,HI]" */
            const char *a = p + 1, *b = strchr(p, ',') + 1;
            int na = (int)(b - 1 - a), nb = (int)(p + n - 1 - b);
            if (isinf(hi)) append(out, cap, &len, lo_open ? "more than %.*s" : "%.*s or more", na, a);
            else if (!lo_open && !hi_open) append(out, cap, &len, "%.*s to %.*s", na, a, nb, b);
            else append(out, cap, &len, "%.*s %s N %s %.*s", na, a, lo_open ? "<" : "<=", hi_open ? "<" : "<=", nb, b);
        }
        p += n + (p[n] == '|');
    }
}

/* The one-line refusal of a number outside its option's range; OPT_ERROR. */
static int out_of_range(const optdef *o, const char *val, const char *cmd, char *err, size_t errlen) {
    char words[160];
    opt_describe_range(o->values, words, sizeof words);
    return fail(err, errlen, "--%s %s is out of range; use %s (see 'charrnn %s --help')", o->name, val, words, cmd);
}

/* ---- strict numbers ------------------------------------------------------------ */

static int all_digits(const char *s) { return *s && strspn(s, "0123456789") == strlen(s); }

int parse_long_strict(const char *s, long *out) {
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!all_digits(d)) return NUM_MALFORMED;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end) return NUM_MALFORMED;
    if (errno == ERANGE) return v < 0 ? NUM_TOO_SMALL : NUM_TOO_LARGE;
    if (errno) return NUM_MALFORMED;
    *out = v;
    return NUM_OK;
}

int parse_u64_strict(const char *s, unsigned long long *out) {
    if (!all_digits(s)) return NUM_MALFORMED;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) return NUM_MALFORMED;
    if (errno == ERANGE) return NUM_TOO_LARGE;
    if (errno) return NUM_MALFORMED;
    *out = v;
    return NUM_OK;
}

int parse_double_strict(const char *s, double *out) {
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    size_t ip = strspn(p, "0123456789");
    int nonzero = strspn(p, "0") < ip;
    p += ip;
    size_t fp = 0;
    if (*p == '.') { p++; fp = strspn(p, "0123456789"); nonzero |= strspn(p, "0") < fp; p += fp; }
    if (ip + fp == 0) return NUM_MALFORMED;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+') p++;
        size_t ep = strspn(p, "0123456789");
        if (!ep) return NUM_MALFORMED;
        p += ep;
    }
    if (*p) return NUM_MALFORMED;
    char *end;
    double v = strtod(s, &end);
    if (*end) return NUM_MALFORMED;
    if (!isfinite(v)) return NUM_TOO_LARGE;
    if (v == 0 && nonzero) return NUM_TOO_SMALL; /* 1e-400: below the smallest double, it would be 0 */
    *out = v;
    return NUM_OK;
}

int parse_duration(const char *s, double *seconds) {
    double total = 0;
    const char *p = s;
    if (!*p) return NUM_MALFORMED;
    while (*p) {
        size_t n = strspn(p, "0123456789.");
        if (n == 0) return NUM_MALFORMED;
        char *num = strndup(p, n);
        if (!num) return NUM_MALFORMED;
        double v;
        int rc = parse_double_strict(num, &v);
        free(num);
        if (rc == NUM_MALFORMED) return NUM_MALFORMED;
        p += n;
        double unit = 1;
        switch (*p) {
        case 's': unit = 1; p++; break;
        case 'm': unit = 60; p++; break;
        case 'h': unit = 3600; p++; break;
        case 'd': unit = 86400; p++; break;
        case 0: if (p - n != s) return NUM_MALFORMED; break; /* a bare number only on its own: seconds */
        default: return NUM_MALFORMED;
        }
        if (rc == NUM_TOO_LARGE) total = INFINITY; /* the syntax of the rest is still checked */
        else if (rc == NUM_OK) total += v * unit;
    }
    if (!(total <= MAX_DURATION_S)) return NUM_TOO_LARGE;
    if (!(total > 0)) return NUM_TOO_SMALL;
    *seconds = total;
    return NUM_OK;
}

static int set_option(optdef *o, const char *val, const char *cmd, char *err, size_t errlen) {
    o->given = 1;
    switch (o->type) {
    case O_INT: case O_LONG: {
        long v = 0;
        int rc = parse_long_strict(val, &v);
        if (rc == NUM_MALFORMED)
            return fail(err, errlen, "--%s expects a whole number (decimal digits), got '%s' (see 'charrnn %s --help')",
                        o->name, val, cmd);
        long lo = o->type == O_INT ? -2147483647L : LONG_MIN, hi = o->type == O_INT ? 2147483647L : LONG_MAX;
        if (rc == NUM_TOO_LARGE || v > hi)
            return fail(err, errlen, "--%s %s is too large: the most it can hold is %ld (see 'charrnn %s --help' for "
                        "sensible values)", o->name, val, hi, cmd);
        if (rc == NUM_TOO_SMALL || v < lo)
            return fail(err, errlen, "--%s %s is too small: the least it can hold is %ld (see 'charrnn %s --help' for "
                        "sensible values)", o->name, val, lo, cmd);
        if (opt_in_range(o->values, (double)v) != 1) return out_of_range(o, val, cmd, err, errlen);
        if (o->type == O_INT) *(int *)o->dst = (int)v;
        else *(long *)o->dst = v;
        return 0;
    }
    case O_U64: {
        unsigned long long v;
        int rc = parse_u64_strict(val, &v);
        if (rc == NUM_TOO_LARGE)
            return fail(err, errlen, "--%s %s is too large: the most it can hold is %llu", o->name, val, (unsigned long long)UINT64_MAX);
        if (rc)
            return fail(err, errlen, "--%s expects a non-negative whole number (decimal digits), got '%s'", o->name, val);
        *(uint64_t *)o->dst = v;
        return 0;
    }
    case O_DOUBLE: {
        double v;
        int rc = parse_double_strict(val, &v);
        if (rc == NUM_TOO_LARGE)
            return fail(err, errlen, "--%s %s is too large to be a number here: the most is about 1.8e308 (see "
                        "'charrnn %s --help' for sensible values)", o->name, val, cmd);
        if (rc == NUM_TOO_SMALL)
            return fail(err, errlen, "--%s %s is too close to 0 to be held (it would be 0); the smallest is about "
                        "4.9e-324 (see 'charrnn %s --help' for sensible values)", o->name, val, cmd);
        if (rc)
            return fail(err, errlen, "--%s expects a decimal number such as 0.5 or 2e-3, got '%s' (see 'charrnn %s --help')",
                        o->name, val, cmd);
        if (opt_in_range(o->values, v) != 1) return out_of_range(o, val, cmd, err, errlen);
        *(double *)o->dst = v;
        return 0;
    }
    case O_DURATION: {
        double v;
        int rc = parse_duration(val, &v);
        if (rc == NUM_TOO_LARGE)
            return fail(err, errlen, "--%s %s is too long: the most is %.0fd (%.0f seconds)", o->name, val,
                        MAX_DURATION_S / 86400, MAX_DURATION_S);
        if (rc == NUM_TOO_SMALL) return fail(err, errlen, "--%s %s is no time at all: give a duration above 0", o->name, val);
        if (rc)
            return fail(err, errlen, "--%s expects a duration such as 300 (seconds), 45s, 90m, 8h, 2d or 1h30m, got '%s'",
                        o->name, val);
        *(double *)o->dst = v;
        return 0;
    }
    case O_STR:
        *(const char **)o->dst = val;
        return 0;
    case O_IGNORED: /* with a dst: kept as a string for the command to map (char-rnn's -gpuid) */
        if (o->dst) *(const char **)o->dst = val;
        return 0;
    case O_MULTI: {
        opt_multi *m = o->dst;
        if (m->n >= OPT_MULTI_MAX)
            return fail(err, errlen, "--%s is given more than %d times; that is the most it takes", o->name, OPT_MULTI_MAX);
        m->values[m->n++] = val;
        return 0;
    }
    case O_FLAG:
        *(int *)o->dst = 1;
        return 0;
    case O_CHOICE: {
        const char *p = o->values;
        for (int i = 0; *p; i++) {
            size_t n = strcspn(p, "|");
            if (strlen(val) == n && !strncmp(p, val, n)) { *(int *)o->dst = i; return 0; }
            p += n + (p[n] == '|');
        }
        return fail(err, errlen, "--%s must be one of %s, got '%s'", o->name, o->values, val);
    }
    }
    return fail(err, errlen, "--%s: unknown option type", o->name);
}

void print_help(FILE *f, const char *usage, const optdef *opts) {
    fprintf(f, "usage: charrnn %s\n\noptions:\n", usage);
    for (const optdef *o = opts; o->name; o++) {
        char left[64];
        if (o->type == O_IGNORED) continue; /* accepted for char-rnn's scripts, not offered */
        /* a string option with values names its forms (--device auto|cpu|cuda|cuda:N) */
        const char *arg = o->type == O_CHOICE || (o->type == O_STR && o->values) ? o->values
                          : o->type == O_STR || o->type == O_MULTI ? "S" : o->type == O_DURATION ? "T" : "N";
        const char *dashes = o->name[1] ? "--" : "-"; /* one-letter aliases such as -o take one dash */
        if (o->type == O_FLAG) snprintf(left, sizeof left, "%s%s", dashes, o->name);
        else snprintf(left, sizeof left, "%s%s %s", dashes, o->name, arg);
        int range = o->values && (o->type == O_INT || o->type == O_LONG || o->type == O_DOUBLE);
        fprintf(f, "  %-34s %s%s%s\n", left, o->help, range ? "; range " : "", range ? o->values : "");
    }
    fprintf(f, "  %-34s %s\n", "--help", "show this help");
}

int parse_args(int argc, char **argv, const char *cmd, const char *usage, optdef *opts, const char **pos, int maxpos,
               char *err, size_t errlen) {
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            if (npos >= maxpos) return fail(err, errlen, "unexpected argument '%s' (usage: charrnn %s)", a, usage);
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            for (i++; i < argc; i++) {
                if (npos >= maxpos) return fail(err, errlen, "unexpected argument '%s' (usage: charrnn %s)", argv[i], usage);
                pos[npos++] = argv[i];
            }
            break;
        }
        char name[64];
        const char *p = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(p, '=');
        size_t n = eq ? (size_t)(eq - p) : strlen(p);
        if (n >= sizeof name) n = sizeof name - 1;
        memcpy(name, p, n);
        name[n] = 0;
        for (char *c = name; *c; c++) if (*c == '_') *c = '-';
        if (!strcmp(name, "help") || !strcmp(name, "h")) return OPT_HELP;
        optdef *o = NULL;
        for (optdef *q = opts; q->name; q++) if (!strcmp(q->name, name)) o = q;
        if (!o) {
            const optdef *best = NULL;
            int bd = 99;
            for (const optdef *q = opts; q->name; q++) {
                int d = edit_distance(name, q->name);
                if (d < bd) { bd = d; best = q; }
            }
            if (best && bd <= 3)
                return fail(err, errlen, "unknown option '%s' for 'charrnn %s'; did you mean --%s?", a, cmd, best->name);
            return fail(err, errlen, "unknown option '%s' for 'charrnn %s'; see 'charrnn %s --help'", a, cmd, cmd);
        }
        const char *val = eq ? eq + 1 : NULL;
        if (o->type == O_FLAG) {
            if (val) return fail(err, errlen, "option --%s takes no value (got '%s')", o->name, val);
            val = "1";
        }
        if (!val) {
            if (i + 1 >= argc) return fail(err, errlen, "option --%s needs a value (see 'charrnn %s --help')", o->name, cmd);
            val = argv[++i];
        }
        if (set_option(o, val, cmd, err, errlen)) return OPT_ERROR;
    }
    return npos;
}
