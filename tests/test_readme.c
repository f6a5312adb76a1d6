/* test_readme.c: README.zh-CN.md stays in step with README.md. The Chinese
 * README translates the prose and keeps everything else: the same fenced code
 * blocks in the same order, each byte for byte (the fence line with its info
 * string included), the same number of ## and ### headings, and a link back to
 * README.md. A difference names what differs: the first differing code block by
 * its index and first line (and where in it the two part), or the heading
 * counts. The comparison is shown to catch a changed, a missing and an extra
 * block, a lost heading and a lost link on doctored copies of the two files.
 * Tests run from the repository root. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define README_EN "README.md"
#define README_ZH "README.zh-CN.md"
#define LINK_TO_EN "](README.md)"

/* ---- the outline of a Markdown file ------------------------------------------------ */

typedef struct md_block {
    const char *text; /* the whole block, from its opening fence to the end of its closing fence line */
    size_t len;
    int line;         /* the line of the opening fence, from 1 */
} md_block;

typedef struct md_outline {
    md_block *block;
    int nblocks, cap;
    int h2, h3;          /* "## " and "### " headings outside code blocks */
    int unclosed;        /* the last fence was never closed */
} md_outline;

static void outline_free(md_outline *o) {
    free(o->block);
    memset(o, 0, sizeof *o);
}

static void add_block(md_outline *o, const char *text, size_t len, int line) {
    if (o->nblocks == o->cap) {
        int cap = o->cap ? 2 * o->cap : 16;
        md_block *b = realloc(o->block, (size_t)cap * sizeof *b);
        if (!b) { perror("realloc"); exit(2); }
        o->block = b;
        o->cap = cap;
    }
    o->block[o->nblocks++] = (md_block){text, len, line};
}

/* A fence: up to 3 spaces, then 3 or more ` or ~. Its character and length, or 0. */
static size_t fence(const char *line, size_t len, char *ch) {
    size_t i = 0;
    while (i < len && i < 3 && line[i] == ' ') i++;
    if (i >= len || (line[i] != '`' && line[i] != '~')) return 0;
    char c = line[i];
    size_t n = 0;
    while (i + n < len && line[i + n] == c) n++;
    if (n < 3) return 0;
    *ch = c;
    return n;
}

/* The level of an ATX heading ("## Title": 2), or 0. */
static int heading(const char *line, size_t len) {
    size_t i = 0;
    while (i < len && i < 3 && line[i] == ' ') i++;
    int level = 0;
    while (i < len && line[i] == '#') { level++; i++; }
    if (level < 1 || level > 6) return 0;
    if (i < len && line[i] != ' ' && line[i] != '\t') return 0;
    return level;
}

/* Only whitespace from here to the end of the line? */
static int blank_rest(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t') return 0;
    return 1;
}

static void outline_scan(const char *text, md_outline *o) {
    memset(o, 0, sizeof *o);
    const char *open = NULL;
    int open_line = 0;
    size_t open_n = 0;
    char open_ch = 0;
    int lineno = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t full = nl ? (size_t)(nl - line) + 1 : strlen(line); /* with its newline */
        size_t len = nl ? (size_t)(nl - line) : full;
        if (len && line[len - 1] == '\r') len--;
        lineno++;
        char ch = 0;
        size_t n = fence(line, len, &ch);
        if (!open) {
            if (n) {
                open = line;
                open_line = lineno;
                open_n = n;
                open_ch = ch;
            } else {
                int h = heading(line, len);
                if (h == 2) o->h2++;
                if (h == 3) o->h3++;
            }
        } else if (n && ch == open_ch && n >= open_n) {
            const char *after = line + (strchr(line, ch) - line) + n;
            if (blank_rest(after, (size_t)(line + len - after))) {
                add_block(o, open, (size_t)(line + full - open), open_line);
                open = NULL;
            }
        }
        line += full;
    }
    if (open) { /* an unclosed fence runs to the end of the file */
        add_block(o, open, strlen(open), open_line);
        o->unclosed = 1;
    }
}

/* ---- describing a difference ---------------------------------------------------------- */

/* Line k (from 0) of a block: its start and length (without the newline), or NULL. */
static const char *block_line(const md_block *b, int k, size_t *len) {
    const char *p = b->text, *end = b->text + b->len;
    for (int i = 0; i < k; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return NULL;
        p = nl + 1;
    }
    if (p >= end) return NULL;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    return p;
}

/* A line for a message, quoted: at most 100 bytes (cut on a UTF-8 boundary), malloc'd. */
static char *quote(const char *p, size_t len) {
    if (!p) return t_fmt("%s", "(nothing)");
    if (len && p[len - 1] == '\r') len--;
    size_t n = len;
    const char *more = "";
    if (n > 100) {
        n = 100;
        while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80) n--;
        more = "...";
    }
    return t_fmt("'%.*s%s'", (int)n, p, more);
}

/* The first line inside a block (after its opening fence), quoted. */
static char *first_line(const md_block *b) {
    size_t len = 0;
    const char *p = block_line(b, 1, &len);
    if (!p) p = block_line(b, 0, &len); /* a block with nothing inside: its fence */
    return quote(p, len);
}

/* NULL when the two files have the same code blocks in the same order; otherwise
 * a malloc'd message naming the first block that differs. */
static char *blocks_diff(const md_outline *en, const md_outline *zh) {
    int n = en->nblocks < zh->nblocks ? en->nblocks : zh->nblocks;
    for (int i = 0; i < n; i++) {
        const md_block *a = &en->block[i], *b = &zh->block[i];
        if (a->len == b->len && !memcmp(a->text, b->text, a->len)) continue;
        /* where the two part */
        int k = 0;
        size_t la = 0, lb = 0;
        const char *pa, *pb;
        for (;; k++) {
            pa = block_line(a, k, &la);
            pb = block_line(b, k, &lb);
            if (!pa || !pb || la != lb || memcmp(pa, pb, la)) break;
        }
        size_t col = 0; /* the first byte where the two lines part */
        while (pa && pb && col < la && col < lb && pa[col] == pb[col]) col++;
        char *fa = first_line(a), *qa = quote(pa, la), *qb = quote(pb, lb);
        char *counts = en->nblocks == zh->nblocks ? t_fmt("%s", "")
                       : t_fmt(" (" README_EN " has %d code blocks, " README_ZH " %d: one may be missing or extra)",
                               en->nblocks, zh->nblocks);
        char *msg = t_fmt("code block %d of %d (" README_EN " line %d, first line %s) differs in " README_ZH
                          " (line %d): line %d of the block, from byte %zu, is %s in " README_EN " but %s in "
                          README_ZH "%s",
                          i + 1, en->nblocks, a->line, fa, b->line, k + 1, col + 1, qa, qb, counts);
        free(counts);
        free(fa);
        free(qa);
        free(qb);
        return msg;
    }
    if (en->nblocks > zh->nblocks) {
        const md_block *a = &en->block[n];
        char *fa = first_line(a);
        char *msg = t_fmt(README_EN " has %d code blocks, " README_ZH " %d: code block %d (" README_EN
                          " line %d, first line %s) is missing from " README_ZH,
                          en->nblocks, zh->nblocks, n + 1, a->line, fa);
        free(fa);
        return msg;
    }
    if (zh->nblocks > en->nblocks) {
        const md_block *b = &zh->block[n];
        char *fb = first_line(b);
        char *msg = t_fmt(README_EN " has %d code blocks, " README_ZH " %d: code block %d (" README_ZH
                          " line %d, first line %s) is not in " README_EN,
                          en->nblocks, zh->nblocks, n + 1, b->line, fb);
        free(fb);
        return msg;
    }
    if (en->unclosed != zh->unclosed)
        return t_fmt("the last code block of %s is never closed", en->unclosed ? README_EN : README_ZH);
    return NULL;
}

/* NULL when both have as many ## and ### headings; otherwise a malloc'd message. */
static char *headings_diff(const md_outline *en, const md_outline *zh) {
    if (en->h2 == zh->h2 && en->h3 == zh->h3) return NULL;
    return t_fmt(README_EN " has %d '##' and %d '###' headings, " README_ZH " %d '##' and %d '###'",
                 en->h2, en->h3, zh->h2, zh->h3);
}

/* Everything that keeps the Chinese README from being in step, or NULL (malloc'd). */
static char *readme_diff(const char *en_text, const char *zh_text) {
    md_outline en, zh;
    outline_scan(en_text, &en);
    outline_scan(zh_text, &zh);
    char *parts[3] = {blocks_diff(&en, &zh), headings_diff(&en, &zh),
                      strstr(zh_text, LINK_TO_EN) ? NULL : t_fmt("%s", README_ZH " has no link to " README_EN
                                                                        " (\"[English](README.md)\" at the top)")};
    outline_free(&en);
    outline_free(&zh);
    char *msg = NULL;
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) continue;
        char *m = msg ? t_fmt("%s; %s", msg, parts[i]) : t_fmt("%s", parts[i]);
        free(msg);
        free(parts[i]);
        msg = m;
    }
    return msg;
}

/* ---- the tests -------------------------------------------------------------------------- */

static void test_readme_zh_in_step(void) {
    char *en = t_read_file(README_EN, NULL);
    char *zh = t_read_file(README_ZH, NULL);
    if (CHECKF(en, "cannot read %s (tests run from the repository root)", README_EN) &&
        CHECKF(zh, "cannot read %s (tests run from the repository root)", README_ZH)) {
        md_outline o;
        outline_scan(en, &o);
        CHECKF(o.nblocks > 0 && o.h2 > 0, "%s: found %d code blocks and %d '##' headings; is it the README?",
               README_EN, o.nblocks, o.h2);
        outline_free(&o);
        char *msg = readme_diff(en, zh);
        CHECKF(!msg, "%s is not in step with %s: %s", README_ZH, README_EN, msg);
        free(msg);
    }
    free(en);
    free(zh);
}

/* Replace the first occurrence of from in s by to (malloc'd; a copy if absent). */
static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p) return t_fmt("%s", s);
    return t_fmt("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void expect_diff(const char *what, const char *en, const char *zh, const char *want1, const char *want2) {
    char *msg = readme_diff(en, zh);
    CHECKF(msg && strstr(msg, want1) && (!want2 || strstr(msg, want2)),
           "%s: expected a message with '%s'%s%s%s, got: %s", what, want1, want2 ? " and '" : "",
           want2 ? want2 : "", want2 ? "'" : "", msg ? msg : "(none)");
    free(msg);
}

static void test_readme_comparison_catches_drift(void) {
    const char *en = "# t\n\nProse.\n\n## A\n\n```sh\nmake\nmake test\n```\n\n### B\n\n"
                     "```\nout 1\n# not a heading\n## nor this\n```\n\n## C\n\n~~~python\nx = 1\n~~~\n";
    const char *zh = "[English](README.md)\n\n# t\n\n文字。\n\n## 甲\n\n```sh\nmake\nmake test\n```\n\n### 乙\n\n"
                     "```\nout 1\n# not a heading\n## nor this\n```\n\n## 丙\n\n~~~python\nx = 1\n~~~\n";
    char *msg = readme_diff(en, zh);
    CHECKF(!msg, "a faithful translation was refused: %s", msg);
    free(msg);

    md_outline o;
    outline_scan(en, &o);
    CHECKF(o.nblocks == 3 && o.h2 == 2 && o.h3 == 1, "outline of the sample: %d blocks, %d ##, %d ###", o.nblocks,
           o.h2, o.h3);
    outline_free(&o);

    char *z = replace(zh, "make test", "make tests");
    expect_diff("a changed line", en, z, "code block 1 of 3", "line 3 of the block, from byte 10, is 'make test'");
    free(z);
    z = replace(zh, "```\nout 1", "```text\nout 1");
    expect_diff("a changed info string", en, z, "code block 2 of 3", "'```'");
    free(z);
    z = replace(zh, "x = 1\n", "x = 2\n");
    expect_diff("the last block", en, z, "code block 3 of 3", "first line 'x = 1'");
    free(z);
    z = replace(zh, "~~~python\nx = 1\n~~~\n", "");
    expect_diff("a missing block", en, z, "code block 3", "is missing from " README_ZH);
    free(z);
    z = replace(zh, "```sh\nmake\nmake test\n```\n", "");
    expect_diff("a missing block, not the last", en, z, "code block 1 of 3", "has 3 code blocks, " README_ZH " 2");
    free(z);
    z = t_fmt("%s\n```\nextra\n```\n", zh);
    expect_diff("an extra block", en, z, "code block 4", "is not in " README_EN);
    free(z);
    z = replace(zh, "### 乙", "乙");
    expect_diff("a lost ### heading", en, z, "1 '###'", "0 '###'");
    free(z);
    z = replace(zh, "## 丙", "### 丙");
    expect_diff("a ## turned ###", en, z, "2 '##' and 1 '###'", "1 '##' and 2 '###'");
    free(z);
    z = replace(zh, "[English](README.md)", "English");
    expect_diff("a lost link", en, z, "no link to " README_EN, NULL);
    free(z);
    z = replace(zh, "```\n\n## 丙", "\n\n## 丙");
    expect_diff("an unclosed fence", en, z, "code block 2 of 3", NULL);
    free(z);
}

void register_readme_tests(void) {
    t_register("readme_zh_in_step", test_readme_zh_in_step);
    t_register("readme_comparison_catches_drift", test_readme_comparison_catches_drift);
}
