/* novelty.c: `charrnn novelty SAMPLE TRAIN`, the memorisation check: for n = 1..50,
 * the share of the sample's character n-grams that never occur in the training
 * text, the longest span the sample copied, and for one-item-per-line corpora
 * (names, words) the share of sampled lines that are not lines of the training
 * text. Exact: the library's novelty index of the sample (charrnn_novelty_*, a suffix
 * automaton) gives, for every sample position, the longest substring starting there
 * that occurs in TRAIN, which is streamed through it once; an n-gram is new iff that
 * length is below n. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_N_LIMIT 1000
#define CHUNK 65536     /* symbols of TRAIN decoded at a time */
#define SHORT_LINE 40   /* one item per line: lines of 1 to SHORT_LINE characters ... */
#define SHORT_SHARE 95  /* ... at least this percentage of them ... */
#define MIN_LINES 10    /* ... and at least this many lines */
#define SHOWN 80        /* characters of the longest copied span shown */

/* A file as messages name it: 'path', or standard input. */
static const char *quoted(const char *path, char *buf, size_t cap) {
    if (!strcmp(path, "-")) return "standard input";
    snprintf(buf, cap, "'%s'", path);
    return buf;
}

static const char *unit_word(charrnn_unit unit) { return unit == CHARRNN_UNIT_BYTE ? "bytes" : "characters"; }

/* The symbols of text[*pos..len) into out (at most cap), advancing *pos: bytes, or
 * code points decoded strictly (invalid UTF-8 dies naming the file and offset). */
static size_t decode(const char *text, size_t len, size_t *pos, uint32_t *out, size_t cap, charrnn_unit unit,
                     const char *path) {
    const unsigned char *s = (const unsigned char *)text;
    size_t k = 0, i = *pos;
    char q[600];
    if (unit == CHARRNN_UNIT_BYTE)
        for (; i < len && k < cap; i++) out[k++] = s[i];
    else
        for (; i < len && k < cap; k++) {
            int n = charrnn_utf8_decode(text + i, len - i, &out[k]);
            if (!n)
                cli_die(1, "%s is not valid UTF-8 at byte offset %zu (byte 0x%02X); use --unit byte to compare raw bytes",
                        quoted(path, q, sizeof q), i, (unsigned)s[i]);
            i += (size_t)n;
        }
    *pos = i;
    return k;
}

/* The byte offset of symbol number sym of a valid text. */
static size_t byte_offset(const char *text, size_t len, size_t sym, charrnn_unit unit) {
    if (unit == CHARRNN_UNIT_BYTE) return sym;
    size_t i = 0;
    for (size_t k = 0; i < len; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80 && k++ == sym) break;
    return i;
}

/* ---- lines ----------------------------------------------------------------------------- */

/* The sample's distinct complete lines, in an open-addressing set. */
typedef struct { size_t off, len, count; uint64_t hash; int in_train; } line_entry;
typedef struct { line_entry *e; size_t cap, used; } line_set;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The entry of line s[0..n) of the sample text, or an empty slot for it. */
static line_entry *line_slot(const line_set *set, const char *text, const char *s, size_t n, uint64_t h) {
    for (size_t i = (size_t)h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        line_entry *e = &set->e[i];
        if (!e->count || (e->hash == h && e->len == n && !memcmp(text + e->off, s, n))) return e;
    }
}

typedef struct {
    size_t lines, new_lines, distinct, new_distinct, empty;
    size_t partial_off, partial_len; /* the text after the last newline */
} line_result;

/* Which complete, non-empty lines of the sample are lines of the training text. */
static line_result line_novelty(const char *sample, size_t slen, const char *train, size_t tlen) {
    line_result r = {0};
    size_t nlines = 0;
    for (size_t i = 0; i < slen; i++) nlines += sample[i] == '\n';
    line_set set = {0};
    for (set.cap = 16; set.cap < 2 * nlines + 2; set.cap *= 2) {}
    set.e = calloc(set.cap, sizeof *set.e);
    if (!set.e) cli_die(1, "out of memory for the %zu lines of the sample", nlines);
    size_t start = 0;
    for (size_t i = 0; i < slen; i++) {
        if (sample[i] != '\n') continue;
        size_t n = i - start;
        if (!n) r.empty++;
        else {
            uint64_t h = hash_bytes(sample + start, n);
            line_entry *e = line_slot(&set, sample, sample + start, n, h);
            if (!e->count) {
                *e = (line_entry){start, n, 0, h, 0};
                r.distinct++;
            }
            e->count++;
            r.lines++;
        }
        start = i + 1;
    }
    r.partial_off = start;
    r.partial_len = slen - start;
    /* every line of the training text, the last one also without a newline */
    for (size_t i = 0, b = 0; i <= tlen; i++) {
        if (i < tlen && train[i] != '\n') continue;
        size_t n = i - b;
        if (n) {
            line_entry *e = line_slot(&set, sample, train + b, n, hash_bytes(train + b, n));
            if (e->count) e->in_train = 1;
        }
        b = i + 1;
    }
    for (size_t k = 0; k < set.cap; k++)
        if (set.e[k].count && !set.e[k].in_train) {
            r.new_distinct++;
            r.new_lines += set.e[k].count;
        }
    free(set.e);
    return r;
}

/* ---- the command ----------------------------------------------------------------------- */

/* Symbols s[from..from+n) as terminal-safe text, at most SHOWN of them. */
static void out_span(const uint32_t *s, size_t from, size_t n, charrnn_unit unit) {
    out_printf("\"");
    for (size_t k = 0; k < n && k < SHOWN; k++) {
        char u[32];
        int w = cli_safe_char(s[from + k], unit, u, sizeof u);
        out_write(u, (size_t)w);
    }
    if (n > SHOWN) out_printf("\" (the first %d shown)", SHOWN);
    else out_printf("\"");
}

int cmd_novelty(int argc, char **argv) {
    int max_n = 50, unit_choice = 0, lines = 0;
    optdef opts[] = {
        {"max-n", O_INT, &max_n, "[1," CLI_STR(MAX_N_LIMIT) "]", "measure n-grams for n = 1 to N (default 50)", 0},
        {"unit", O_CHOICE, &unit_choice, "codepoint|byte", "what a character is (default codepoint: UTF-8 decoded)", 0},
        {"lines", O_FLAG, &lines, 0, "also the share of sampled lines that are not lines of TRAIN (on by itself when "
                                     "TRAIN looks like one item per line)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2] = {0};
    int np = cli_parse(argc, argv, "novelty", "novelty SAMPLE TRAIN [options]   (either may be - : standard input)",
                       opts, pos, 2);
    if (np < 2) cli_die(2, "novelty needs a sample and the training text: charrnn novelty sample.txt input.txt");
    if (!strcmp(pos[0], "-") && !strcmp(pos[1], "-"))
        cli_die(2, "SAMPLE and TRAIN cannot both be standard input; save one of them to a file");
    charrnn_unit unit = unit_choice ? CHARRNN_UNIT_BYTE : CHARRNN_UNIT_CODEPOINT;
    const char *sname = cli_input_name(pos[0]), *tname = cli_input_name(pos[1]);
    char sbuf[600], tbuf[600];
    const char *sq = quoted(pos[0], sbuf, sizeof sbuf), *tq = quoted(pos[1], tbuf, sizeof tbuf);

    size_t slen, tlen;
    char *sample = cli_read_input(pos[0], &slen);
    if (!slen) cli_die(1, "%s is empty: there is no sample to measure; give a sample of text", sq);
    char *train = cli_read_input(pos[1], &tlen);
    if (!tlen) cli_die(1, "%s is empty: there is no training text to compare with; give the text the model learned", tq);
    uint32_t *sym = calloc(slen, sizeof *sym);
    if (!sym) cli_die(1, "out of memory for the %zu bytes of %s", slen, sq);
    size_t p = 0, m = decode(sample, slen, &p, sym, slen, unit, pos[0]);
    charrnn_novelty *a;
    charrnn_error err;
    if (charrnn_novelty_open(&a, sym, m, &err) == CHARRNN_EINVAL)
        cli_die(1, "%s is %zu %s long, more than novelty measures (%zu); give a shorter sample", sq, m,
                unit_word(unit), CHARRNN_NOVELTY_MAX_LENGTH);
    if (!a)
        cli_die(1, "out of memory indexing %s (%zu %s need about %zu MB); give a shorter sample", sq, m,
                unit_word(unit), m / 1000000 * 150 + 1);

    /* TRAIN streams through the sample's automaton; its line lengths are counted on the way */
    uint32_t *chunk = malloc(CHUNK * sizeof *chunk);
    if (!chunk) cli_die(1, "out of memory");
    size_t tsyms = 0, tlines = 0, short_lines = 0, line_len = 0;
    for (p = 0; p < tlen;) {
        size_t k = decode(train, tlen, &p, chunk, CHUNK, unit, pos[1]);
        charrnn_novelty_feed(a, chunk, k);
        tsyms += k;
        for (size_t j = 0; j < k; j++) {
            if (chunk[j] != '\n') { line_len++; continue; }
            tlines++;
            short_lines += line_len >= 1 && line_len <= SHORT_LINE;
            line_len = 0;
        }
    }
    if (line_len) {
        tlines++;
        short_lines += line_len <= SHORT_LINE;
    }
    free(chunk);
    size_t *ms = calloc(m, sizeof *ms), *hist = calloc((size_t)max_n + 1, sizeof *hist);
    if (!ms || !hist || charrnn_novelty_matches(a, ms, &err)) cli_die(1, "out of memory for the %zu %s of %s", m, unit_word(unit), sq);
    size_t longest, s_start, t_start;
    charrnn_novelty_longest(a, &longest, &s_start, &t_start);
    charrnn_novelty_close(a);

    /* An n-gram at i is new iff ms[i] < n. ms[i] <= m - i, so the n-1 positions
     * with no n-gram all count below n: new(n) = #{i : ms[i] < n} - (n - 1). */
    for (size_t i = 0; i < m; i++) hist[ms[i] < (size_t)max_n ? ms[i] : (size_t)max_n]++;
    free(ms);
    out_printf("novelty of %s (%zu %s) against %s (%zu %s)\n", sname, m, unit_word(unit), tname, tsyms, unit_word(unit));
    out_printf("share of the sample's n-grams that never occur in %s:\n", tname);
    out_printf("%6s %12s %12s %10s\n", "n", "n-grams", "new", "new (%)");
    size_t below = 0, rows = m < (size_t)max_n ? m : (size_t)max_n;
    int half_n = 0;
    double half_share = 0;
    for (size_t n = 1; n <= rows; n++) {
        below += hist[n - 1];
        size_t grams = m - n + 1, fresh = below - (n - 1);
        double share = 100.0 * (double)fresh / (double)grams;
        out_printf("%6zu %12zu %12zu %10.2f\n", n, grams, fresh, share);
        if (!half_n && 2 * fresh > grams) {
            half_n = (int)n;
            half_share = share;
        }
    }
    if (rows < (size_t)max_n)
        out_printf("(the table stops at n = %zu: the sample is %zu %s long)\n", rows, m, unit_word(unit));
    if (half_n)
        out_printf("summary: n = %d is the smallest n at which more than half of the sample's n-grams are new (%.2f%%)\n",
                   half_n, half_share);
    else
        out_printf("summary: at no n up to %zu are more than half of the sample's n-grams new\n", rows);
    if (!longest)
        out_printf("longest copied span: none, no %s of the sample occurs in %s\n",
                   unit == CHARRNN_UNIT_BYTE ? "byte" : "character", tname);
    else {
        size_t sline = 1, col = 1;
        for (size_t i = 0; i < s_start; i++) {
            col++;
            if (sym[i] == '\n') { sline++; col = 1; }
        }
        size_t tb = byte_offset(train, tlen, t_start, unit), tline = 1;
        for (size_t i = 0; i < tb; i++) tline += train[i] == '\n';
        out_printf("longest copied span: %zu %s at line %zu, column %zu of %s, also at line %zu of %s: ", longest,
                   unit_word(unit), sline, col, sname, tline, tname);
        out_span(sym, s_start, longest, unit);
        out_printf("\n");
    }

    int looks = tlines >= MIN_LINES && short_lines * 100 >= (size_t)SHORT_SHARE * tlines;
    if (lines || looks) {
        line_result r = line_novelty(sample, slen, train, tlen);
        if (!r.lines)
            out_printf("lines: the sample has no complete line that is not empty; there is no line to compare\n");
        else
            out_printf("lines: %zu of %zu sampled lines (%.2f%%) are not lines of %s; distinct lines: %zu of %zu new "
                       "(%.2f%%)\n", r.new_lines, r.lines, 100.0 * (double)r.new_lines / (double)r.lines, tname,
                       r.new_distinct, r.distinct, 100.0 * (double)r.new_distinct / (double)r.distinct);
        if (r.partial_len || r.empty) {
            out_printf("  not counted:");
            if (r.partial_len) {
                /* the partial line as symbols, for safe display */
                size_t q = r.partial_off, k = decode(sample, slen, &q, sym, slen, unit, pos[0]);
                out_printf(" the partial final line ");
                out_span(sym, 0, k, unit);
                out_printf(" (no newline after it)%s", r.empty ? "," : "");
            }
            if (r.empty) out_printf(" %zu empty line%s", r.empty, r.empty == 1 ? "" : "s");
            out_printf("\n");
        }
        if (!lines)
            out_printf("  (shown because %s looks like one item per line: %.1f%% of its %zu lines are 1 to %d %s long; "
                       "--lines shows this for any text)\n", tname, 100.0 * (double)short_lines / (double)tlines, tlines,
                       SHORT_LINE, unit_word(unit));
    }
    free(sym);
    free(hist);
    free(sample);
    free(train);
    return 0;
}
