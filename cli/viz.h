/* viz.h: looking inside a model: the `viz`, `cells` and `report` commands and
 * the pieces they share (named properties of a text, escaping for HTML pages,
 * compact activation storage, the page writers). The pure parts live in
 * viz_props.c and viz_html.c, which tests/test_viz.c compiles in directly. */
#ifndef CHARRNN_VIZ_H
#define CHARRNN_VIZ_H

#include "charrnn.h"
#include "cli.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- commands (cli/viz.c, cli/viz_report.c) ---------------------------------------- */
int cmd_viz(int argc, char **argv);
int cmd_cells(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_play(int argc, char **argv);
/* The playground page of model m (cli/viz_play.c): weights float32, or int8 with a scale per row. */
void play_write_page(jbuf *b, charrnn_model *m, const char *title, const char *prime, int int8);

/* ---- named properties of a text, and correlation with them (cli/viz_props.c) ------ */
/* Each is the value after reading character i, i.e. what a neuron that tracks it
 * could know at that point: an opening quote is inside, a closing one outside;
 * the second '[' of "[[" enters a wiki link, the first does not. */
typedef enum {
    TP_IN_QUOTES,     /* inside "..." (or curly quotes); \" escapes; '"' is a C char literal; a blank line ends it */
    TP_IN_PARENS,     /* inside ( ) */
    TP_IN_BRACKETS,   /* inside [ ] */
    TP_IN_BRACES,     /* inside { } */
    TP_NESTING_DEPTH, /* ( ) [ ] { } nesting depth, all kinds together */
    TP_PAREN_DEPTH,   /* ( ) nesting depth */
    TP_BRACE_DEPTH,   /* { } nesting depth */
    TP_IN_WIKI_LINK,  /* inside [[ ]] */
    TP_IN_TAG,        /* inside <tag ...> (a '<' followed by a letter, '/', '!' or '?') */
    TP_IN_COMMENT,    /* inside a C comment, slash-star or slash-slash */
    TP_LINE_POS,      /* characters since the last newline */
    TP_INDENT,        /* leading whitespace of the current line so far (a tab counts to the next multiple of 8) */
    TP_WORD_START,    /* the first character of a word (letters, digits, '_') */
    TP_COUNT
} text_prop;

const char *text_prop_name(int p);
/* props: (TP_COUNT, n): props[p * n + i] is property p after character i.
 * Brackets, quotes and tags are not counted inside comments; brackets inside
 * quotes are. Depths never go below 0 (a stray closer is ignored). */
void text_props(float *props, const uint32_t *chars, int n);
/* Pearson correlation of K neurons with every property over n characters:
 * r[p * K + k], NaN where the neuron or the property is constant; prop_mean[p]
 * the property's mean. act: (n, K), tanh taken first when take_tanh. Since a
 * neuron's deviations from its mean sum to zero, sum (x - mx)(y - my) equals
 * sum (x - mx) y: characters where a yes/no property is off cost nothing.
 * Returns 0, or -1 when out of memory. */
int props_correlate(double *r, double *prop_mean, const float *act, int n, int K, int take_tanh, const float *props);

/* ---- text for pages (cli/viz_html.c) ------------------------------------------------- */
/* UTF-8 text as HTML text or attribute value, pure ASCII: & < > " ' as entities,
 * everything else outside printable ASCII, newline and tab as &#xHEX; (invalid
 * UTF-8 and control characters, which HTML cannot carry, become U+FFFD). */
void html_text(jbuf *b, const char *utf8, size_t n);
/* A JSON array of numbers: [104,105]. */
void json_u32_array(jbuf *b, const uint32_t *v, size_t n);
/* Standard base64 (with padding) of n bytes, as a JSON string. */
void json_base64(jbuf *b, const void *data, size_t n);
/* Activation v in [-1, 1] as int8 (v * 127, rounded, clamped). */
int8_t quantize_act(float v);

/* The page of `charrnn viz`: everything about one traced text. */
typedef struct viz_page {
    const char *title;       /* shown at the top (UTF-8) */
    const char *checkpoint;  /* for the header */
    const char *file;
    long start;              /* first character of the window in the file */
    charrnn_unit unit;
    const charrnn_trace *trace;
} viz_page;
/* Writes the self-contained HTML page (no network, no external files). The data
 * is one JSON object in <script id="data" type="application/json">: the text as
 * code points, per (quantity, layer) int8 activations stored neuron-major and
 * base64-encoded, top guesses as code points and probabilities as float32. */
void viz_write_page(jbuf *b, const viz_page *p);

/* One neuron of the `cells` page, with the excerpt of the text it is shown on. */
typedef struct cells_entry {
    int layer, neuron, prop;
    double r;                /* Pearson correlation of the neuron with the property */
    double mean;             /* the property's mean over the text (the share of characters for a yes/no one) */
    int start, len;          /* the excerpt of the traced text */
    const int8_t *act;       /* (len) quantised activation over the excerpt */
    const uint16_t *prop_v;  /* (len) the property over the excerpt (capped at 65535) */
} cells_entry;
typedef struct cells_page {
    const char *title, *checkpoint, *file;
    const char *quantity;    /* "tanh(c)" or "h" */
    long start;
    const uint32_t *chars;   /* the traced text */
    int n;
    const cells_entry *best; /* the best neuron for each property present in the text */
    int num_best;
    const cells_entry *top;  /* the neurons ranked by their best |r| */
    int num_top;
    const char *absent;      /* properties never seen in the text, e.g. "in_comment, in_tag" */
} cells_page;
void cells_write_page(jbuf *b, const cells_page *p);

/* A file of cli/pages/ (the pages' CSS and JavaScript, kept as the browser gets
 * them) as the NUL-terminated string NAME, embedded at build time with .incbin as
 * default_corpus.c embeds the corpus; the Makefile rebuilds the object when the
 * file changes. PATH is from the repository root, where make compiles. */
#define PAGE_FILE(name, path)                                                                              \
    extern const char name[];                                                                              \
    __asm__(".section .rodata\n.global " #name "\n.hidden " #name "\n.type " #name ", @object\n" #name \
            ":\n.incbin \"" path "\"\n.byte 0\n.size " #name ", . - " #name "\n.previous\n")

/* The script both pages start with: errors end up in <html data-error="...">. */
extern const char viz_onerror_script[];

#endif
