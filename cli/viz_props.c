/* viz_props.c: simple, named properties of a text, computed from the text
 * itself (quotes, brackets, comments, position in the line, ...), and their
 * Pearson correlation with neurons, for `charrnn cells`. One pass, a small lexer
 * state; every value is the state after reading the character, as a neuron
 * would see it. */
#include "viz.h"

#include <math.h>
#include <stdlib.h>

static const char *const prop_names[TP_COUNT] = {
    "in_quotes",     "in_parens",     "in_brackets", "in_braces", "nesting_depth", "paren_depth", "brace_depth",
    "in_wiki_link",  "in_tag",        "in_comment",  "line_pos",  "indent",        "word_start",
};

const char *text_prop_name(int p) { return p >= 0 && p < TP_COUNT ? prop_names[p] : "?"; }

static int is_alpha_ascii(uint32_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

/* Letters, digits and '_' (identifiers), and non-ASCII letters roughly: from
 * U+00C0 on, less the multiplication and division signs and general punctuation. */
static int is_word_char(uint32_t c) {
    if (c < 0x80) return is_alpha_ascii(c) || (c >= '0' && c <= '9') || c == '_';
    if (c < 0xC0 || c == 0xD7 || c == 0xF7) return 0;
    if (c >= 0x2000 && c <= 0x206F) return 0; /* general punctuation: dashes, curly quotes */
    if (c >= 0x3000 && c <= 0x303F) return 0; /* CJK punctuation */
    return 1;
}

void text_props(float *props, const uint32_t *s, int n) {
    enum { NORMAL, QUOTE, LINE_COMMENT, BLOCK_COMMENT } st = NORMAL;
    int escape = 0, paren = 0, bracket = 0, brace = 0, wiki = 0, tag = 0;
    int col = 0, indent = 0, at_line_start = 1, was_word = 0;
    long opened = -2, closed = -2; /* where the last comment opener / closer ended */
    for (int i = 0; i < n; i++) {
        uint32_t c = s[i], prev = i ? s[i - 1] : '\n', next = i + 1 < n ? s[i + 1] : 0;
        /* a paragraph ends any quote: prose leaves a quote that runs on into the
         * next paragraph open, and opens it again there */
        if (st == QUOTE && c == '\n' && prev == '\n') st = NORMAL, escape = 0;
        switch (st) {
        case NORMAL:
            if (c == '"' || c == 0x201C) {
                if (!(c == '"' && prev == '\'' && next == '\'')) st = QUOTE; /* '"' is a C char literal */
            } else if (c == '*' && prev == '/' && i - 1 != closed) {
                st = BLOCK_COMMENT, opened = i;
            } else if (c == '/' && prev == '/' && i - 1 != closed) {
                st = LINE_COMMENT;
            }
            break;
        case QUOTE:
            if (escape) escape = 0;
            else if (c == '\\') escape = 1;
            else if (c == '"' || c == 0x201D) st = NORMAL;
            break;
        case LINE_COMMENT:
            if (c == '\n') st = NORMAL;
            break;
        case BLOCK_COMMENT:
            if (c == '/' && prev == '*' && i - 1 != opened) st = NORMAL, closed = i;
            break;
        }
        int in_comment = st == LINE_COMMENT || st == BLOCK_COMMENT;
        if (!in_comment) {
            switch (c) {
            case '(': paren++; break;
            case ')': if (paren) paren--; break;
            case '[': bracket++; break;
            case ']': if (bracket) bracket--; break;
            case '{': brace++; break;
            case '}': if (brace) brace--; break;
            default: break;
            }
            if (c == '[' && prev == '[') wiki = 1;
            else if (c == ']' && prev == ']') wiki = 0;
            if (c == '<' && (is_alpha_ascii(next) || next == '/' || next == '!' || next == '?')) tag = 1;
            else if (c == '>') tag = 0;
        }
        if (c == '\n') {
            tag = 0; /* a stray '<' (a comparison) must not run on for pages */
            col = 0, indent = 0, at_line_start = 1;
        } else {
            col++;
            if (at_line_start && c == ' ') indent++;
            else if (at_line_start && c == '\t') indent = (indent / 8 + 1) * 8;
            else at_line_start = 0;
        }
        /* an apostrophe between letters (don't) is part of the word */
        int word = is_word_char(c) || (c == '\'' && is_word_char(prev) && is_word_char(next));
        float v[TP_COUNT];
        v[TP_IN_QUOTES] = st == QUOTE;
        v[TP_IN_PARENS] = paren > 0;
        v[TP_IN_BRACKETS] = bracket > 0;
        v[TP_IN_BRACES] = brace > 0;
        v[TP_NESTING_DEPTH] = (float)(paren + bracket + brace);
        v[TP_PAREN_DEPTH] = (float)paren;
        v[TP_BRACE_DEPTH] = (float)brace;
        v[TP_IN_WIKI_LINK] = wiki;
        v[TP_IN_TAG] = tag;
        v[TP_IN_COMMENT] = in_comment;
        v[TP_LINE_POS] = (float)col;
        v[TP_INDENT] = (float)indent;
        v[TP_WORD_START] = word && !was_word;
        was_word = word;
        for (int p = 0; p < TP_COUNT; p++) props[(size_t)p * n + i] = v[p];
    }
}

int props_correlate(double *r, double *prop_mean, const float *act, int n, int K, int take_tanh, const float *props) {
    double *mx = calloc((size_t)K, sizeof(double)), *sxx = calloc((size_t)K, sizeof(double));
    double *sxy = calloc((size_t)TP_COUNT * K, sizeof(double));
    float *x = malloc(sizeof(float) * (size_t)K);
    if (!mx || !sxx || !sxy || !x) {
        free(mx), free(sxx), free(sxy), free(x);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const float *a = act + (size_t)i * K;
        for (int k = 0; k < K; k++) mx[k] += take_tanh ? tanhf(a[k]) : a[k];
    }
    for (int k = 0; k < K; k++) mx[k] /= n;
    for (int i = 0; i < n; i++) {
        const float *a = act + (size_t)i * K;
        for (int k = 0; k < K; k++) {
            x[k] = (float)((take_tanh ? tanhf(a[k]) : a[k]) - mx[k]);
            sxx[k] += (double)x[k] * x[k];
        }
        for (int p = 0; p < TP_COUNT; p++) {
            float y = props[(size_t)p * n + i];
            if (y == 0) continue;
            double *s = sxy + (size_t)p * K;
            for (int k = 0; k < K; k++) s[k] += (double)(x[k] * y);
        }
    }
    for (int p = 0; p < TP_COUNT; p++) {
        const float *y = props + (size_t)p * n;
        double my = 0, syy = 0;
        for (int i = 0; i < n; i++) my += y[i];
        my /= n;
        for (int i = 0; i < n; i++) syy += (y[i] - my) * (y[i] - my);
        prop_mean[p] = my;
        for (int k = 0; k < K; k++) /* a constant neuron or property has no correlation */
            r[(size_t)p * K + k] = syy > 0 && sxx[k] > 1e-9 * n ? sxy[(size_t)p * K + k] / sqrt(sxx[k] * syy) : NAN;
    }
    free(mx), free(sxx), free(sxy), free(x);
    return 0;
}
