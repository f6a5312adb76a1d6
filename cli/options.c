/* options.c: the command line's option parser: --name value, --name=value and
 * char-rnn's -name_with_underscores value; typed values checked strictly; an
 * unknown option suggests the nearest known one. It never exits or prints
 * (the fuzz target drives it): errors come back as a message. */
#include "options.h"

#include <errno.h>
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

static int set_option(optdef *o, const char *val, const char *cmd, char *err, size_t errlen) {
    char *end = NULL;
    errno = 0;
    o->given = 1;
    switch (o->type) {
    case O_INT: case O_LONG: {
        long v = strtol(val, &end, 10);
        if (end == val || *end || errno)
            return fail(err, errlen, "--%s expects a whole number, got '%s' (see 'charrnn %s --help')", o->name, val, cmd);
        if (o->type == O_INT) {
            if (v < -2147483647L || v > 2147483647L)
                return fail(err, errlen, "--%s %s is out of range (see 'charrnn %s --help' for sensible values)", o->name, val, cmd);
            *(int *)o->dst = (int)v;
        } else {
            *(long *)o->dst = v;
        }
        return 0;
    }
    case O_U64: {
        if (val[0] == '-') return fail(err, errlen, "--%s expects a non-negative whole number, got '%s'", o->name, val);
        unsigned long long v = strtoull(val, &end, 10);
        if (end == val || *end || errno) return fail(err, errlen, "--%s expects a non-negative whole number, got '%s'", o->name, val);
        *(uint64_t *)o->dst = v;
        return 0;
    }
    case O_DOUBLE: {
        double v = strtod(val, &end);
        if (end == val || *end || !isfinite(v))
            return fail(err, errlen, "--%s expects a number, got '%s' (see 'charrnn %s --help')", o->name, val, cmd);
        *(double *)o->dst = v;
        return 0;
    }
    case O_STR:
        *(const char **)o->dst = val;
        return 0;
    case O_CHOICE: {
        const char *p = o->choices;
        for (int i = 0; *p; i++) {
            size_t n = strcspn(p, "|");
            if (strlen(val) == n && !strncmp(p, val, n)) { *(int *)o->dst = i; return 0; }
            p += n + (p[n] == '|');
        }
        return fail(err, errlen, "--%s must be one of %s, got '%s'", o->name, o->choices, val);
    }
    }
    return fail(err, errlen, "--%s: unknown option type", o->name);
}

void print_help(FILE *f, const char *usage, const optdef *opts) {
    fprintf(f, "usage: charrnn %s\n\noptions:\n", usage);
    for (const optdef *o = opts; o->name; o++) {
        char left[64];
        const char *arg = o->type == O_CHOICE ? o->choices : o->type == O_STR ? "S" : "N";
        snprintf(left, sizeof left, "--%s %s", o->name, arg);
        fprintf(f, "  %-34s %s\n", left, o->help);
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
        if (!val) {
            if (i + 1 >= argc) return fail(err, errlen, "option --%s needs a value (see 'charrnn %s --help')", o->name, cmd);
            val = argv[++i];
        }
        if (set_option(o, val, cmd, err, errlen)) return OPT_ERROR;
    }
    return npos;
}
