/* viz_html.c: the pages of `charrnn viz` and `charrnn cells`: text escaped for
 * HTML and for JSON inside <script>, int8 activations in base64, and the pages'
 * own CSS and JavaScript (files of cli/pages/, embedded when charrnn is built: no
 * network, no external files). The pages are pure ASCII, so they read the same
 * under any charset. */
#include "viz.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- escaping ------------------------------------------------------------------------- */

/* The next code point of s[*i..n), advancing *i; invalid UTF-8 gives U+FFFD
 * and skips one byte. */
static uint32_t next_cp(const char *s, size_t n, size_t *i) {
    uint32_t cp;
    int k = charrnn_utf8_decode(s + *i, n - *i, &cp);
    if (k <= 0) { *i += 1; return 0xFFFD; }
    *i += (size_t)k;
    return cp;
}

void html_text(jbuf *b, const char *s, size_t n) {
    char tmp[16];
    for (size_t i = 0; i < n;) {
        uint32_t c = next_cp(s, n, &i);
        switch (c) {
        case '&': jb_raw(b, "&amp;"); break;
        case '<': jb_raw(b, "&lt;"); break;
        case '>': jb_raw(b, "&gt;"); break;
        case '"': jb_raw(b, "&quot;"); break;
        case '\'': jb_raw(b, "&#39;"); break;
        default:
            if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t') {
                tmp[0] = (char)c, tmp[1] = 0;
            } else {
                if (c == 0 || (c < 0x20) || (c >= 0x7f && c < 0xa0)) c = 0xFFFD; /* not allowed in HTML text */
                snprintf(tmp, sizeof tmp, "&#x%X;", (unsigned)c);
            }
            jb_raw(b, tmp);
        }
    }
}

void json_u32_array(jbuf *b, const uint32_t *v, size_t n) {
    char tmp[4096];
    size_t len = 0;
    tmp[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (len > sizeof tmp - 16) { tmp[len] = 0; jb_raw(b, tmp); len = 0; }
        len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%u", i ? "," : "", (unsigned)v[i]);
    }
    tmp[len++] = ']';
    tmp[len] = 0;
    jb_raw(b, tmp);
}

void json_base64(jbuf *b, const void *data, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char tmp[4100];
    size_t len = 0;
    jb_raw(b, "\"");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        tmp[len++] = tab[v >> 18 & 63];
        tmp[len++] = tab[v >> 12 & 63];
        tmp[len++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        tmp[len++] = i + 2 < n ? tab[v & 63] : '=';
        if (len >= 4096) { tmp[len] = 0; jb_raw(b, tmp); len = 0; }
    }
    tmp[len] = 0;
    jb_raw(b, tmp);
    jb_raw(b, "\"");
}

int8_t quantize_act(float v) {
    if (!(v > -1.0f)) return v != v ? 0 : -127; /* NaN: 0 */
    if (v > 1.0f) v = 1.0f;
    return (int8_t)lrintf(v * 127.0f);
}

/* ---- the pages' CSS and JavaScript --------------------------------------------------------- */
/* Files of cli/pages/, embedded at build time (viz.h, PAGE_FILE). common.js is shared:
 * base64 and float32 decoding, the blue-white-green palette, how a character is drawn. */

PAGE_FILE(viz_onerror_script, "cli/pages/onerror.js");
PAGE_FILE(page_common_js, "cli/pages/common.js");
PAGE_FILE(viz_css, "cli/pages/viz.css");
PAGE_FILE(viz_js, "cli/pages/viz.js");
PAGE_FILE(cells_css, "cli/pages/cells.css");
PAGE_FILE(cells_js, "cli/pages/cells.js");

/* ---- the viz page ------------------------------------------------------------------------ */

static void page_head(jbuf *b, const char *title, const char *css) {
    jb_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    html_text(b, title, strlen(title));
    jb_raw(b, "</title>\n<script>\n");
    jb_raw(b, viz_onerror_script);
    jb_raw(b, "</script>\n<style>\n");
    jb_raw(b, css);
    jb_raw(b, "</style>\n</head>\n");
}

static void json_key_string(jbuf *b, const char *key, const char *val) {
    jb_printf(b, "\"%s\":", key);
    jb_ascii_string(b, val ? val : "", val ? strlen(val) : 0);
    jb_raw(b, ",\n");
}

/* Layer l of one quantity (h, or tanh(c) when take_tanh), neuron-major: out[j*n + i]. */
static void quantize_layer(int8_t *out, const float *x, int n, int L, int H, int l, int take_tanh) {
    for (int i = 0; i < n; i++) {
        const float *row = x + ((size_t)i * L + l) * H;
        for (int j = 0; j < H; j++) out[(size_t)j * n + i] = quantize_act(take_tanh ? tanhf(row[j]) : row[j]);
    }
}

void viz_write_page(jbuf *b, const viz_page *p) {
    const charrnn_trace *t = p->trace;
    const int n = t->n, L = t->num_layers, H = t->hidden;
    page_head(b, p->title, viz_css);
    jb_raw(b, "<body>\n<header><h1>");
    html_text(b, p->title, strlen(p->title));
    jb_raw(b, "</h1>\n<div class=\"meta\">");
    html_text(b, p->checkpoint, strlen(p->checkpoint));
    jb_printf(b, " (%d x %d %s) on ", L, H, charrnn_cell_name(t->cell));
    html_text(b, p->file, strlen(p->file));
    jb_printf(b, ", %d characters from character %ld%s", n, p->start, p->unit == CHARRNN_UNIT_BYTE ? " (bytes; shown as Latin-1)" : "");
    if (t->unknown) jb_printf(b, "; %ld outside the vocabulary were left out", t->unknown);
    jb_raw(b, "</div>\n<div class=\"controls\">\n"
              "<label>layer <select id=\"layer\"></select></label>\n"
              "<label>quantity <select id=\"qty\"></select></label>\n"
              "<label>neuron <button id=\"prev\" title=\"previous neuron ([)\">&minus;</button>"
              "<input id=\"neuron\" type=\"number\" min=\"0\" value=\"0\"><button id=\"next\" title=\"next neuron (])\">+</button></label>\n"
              "<label><input id=\"guesses\" type=\"checkbox\" checked> top-5 guesses</label>\n"
              "<span class=\"legend\">activation &minus;1<i></i>+1 &middot; guess probability 0<b></b>1 &middot; "
              "grey bar: probability of the actual next character</span>\n"
              "</div></header>\n<div id=\"text\"></div>\n"
              "<div id=\"info\">hover or tap a character for its numbers; [ and ] step through the neurons</div>\n"
              "<script id=\"data\" type=\"application/json\">{\n");
    json_key_string(b, "title", p->title);
    json_key_string(b, "checkpoint", p->checkpoint);
    json_key_string(b, "file", p->file);
    json_key_string(b, "cell", charrnn_cell_name(t->cell));
    json_key_string(b, "unit", p->unit == CHARRNN_UNIT_BYTE ? "byte" : "codepoint");
    jb_printf(b, "\"start\":%ld,\"n\":%d,\"layers\":%d,\"hidden\":%d,\"unknown\":%ld,\n", p->start, n, L, H, t->unknown);
    jb_raw(b, "\"text\":");
    json_u32_array(b, t->chars, (size_t)n);
    jb_raw(b, ",\n\"top\":");
    json_u32_array(b, t->top_chars, (size_t)n * CHARRNN_TOPK);
    jb_raw(b, ",\n\"top_p\":");
    json_base64(b, t->top_probs, sizeof(float) * (size_t)n * CHARRNN_TOPK); /* float32, little-endian on every target we build for */
    jb_raw(b, ",\n\"p_next\":");
    json_base64(b, t->p_next, sizeof(float) * (size_t)n);
    jb_raw(b, ",\n\"quantities\":[");
    int8_t *q = malloc((size_t)n * H);
    if (!q) { b->oom = 1; return; }
    for (int k = 0; k < (t->c ? 2 : 1); k++) {
        int cellq = t->c && k == 0; /* LSTM: tanh(c) first, as in the post */
        jb_printf(b, "%s\n{\"key\":\"%s\",\"name\":\"%s\",\"layers\":[", k ? "," : "", cellq ? "c" : "h", cellq ? "tanh(c)" : "h");
        for (int l = 0; l < L; l++) {
            quantize_layer(q, cellq ? t->c : t->h, n, L, H, l, cellq);
            if (l) jb_raw(b, ",\n");
            json_base64(b, q, (size_t)n * H);
        }
        jb_raw(b, "]}");
    }
    free(q);
    jb_raw(b, "]\n}</script>\n<script>\n");
    jb_raw(b, page_common_js);
    jb_raw(b, viz_js);
    jb_raw(b, "</script>\n</body></html>\n");
}

/* ---- the cells page ------------------------------------------------------------------------ */

static void cells_entries(jbuf *b, const cells_entry *e, int num) {
    jb_raw(b, "[");
    for (int k = 0; k < num; k++) {
        jb_printf(b, "%s\n{\"layer\":%d,\"neuron\":%d,\"prop\":\"%s\",\"r\":", k ? "," : "", e[k].layer, e[k].neuron,
                  text_prop_name(e[k].prop));
        jb_number(b, e[k].r);
        jb_raw(b, ",\"mean\":");
        jb_number(b, e[k].mean);
        jb_printf(b, ",\"start\":%d,\"len\":%d,\"act\":", e[k].start, e[k].len);
        json_base64(b, e[k].act, (size_t)e[k].len);
        uint8_t *le = malloc(2 * (size_t)e[k].len + 1);
        if (!le) { b->oom = 1; return; }
        for (int i = 0; i < e[k].len; i++) le[2 * i] = (uint8_t)(e[k].prop_v[i] & 255), le[2 * i + 1] = (uint8_t)(e[k].prop_v[i] >> 8);
        jb_raw(b, ",\"pv\":");
        json_base64(b, le, 2 * (size_t)e[k].len);
        free(le);
        jb_raw(b, "}");
    }
    jb_raw(b, "]");
}

void cells_write_page(jbuf *b, const cells_page *p) {
    page_head(b, p->title, cells_css);
    jb_raw(b, "<body>\n<h1>");
    html_text(b, p->title, strlen(p->title));
    jb_raw(b, "</h1>\n<div class=\"meta\">");
    html_text(b, p->checkpoint, strlen(p->checkpoint));
    jb_raw(b, " on ");
    html_text(b, p->file, strlen(p->file));
    jb_printf(b, ", %d characters from character %ld. Each neuron's activation (", p->n, p->start);
    html_text(b, p->quantity, strlen(p->quantity));
    jb_raw(b, ") is correlated (Pearson r) with simple properties of the text, each the state after reading a "
              "character. In the excerpts: blue &minus;1, green +1; a grey underline marks where the property is on "
              "(darker: larger).");
    if (p->absent && *p->absent) {
        jb_raw(b, " Not in this text: ");
        html_text(b, p->absent, strlen(p->absent));
        jb_raw(b, ".");
    }
    jb_raw(b, "</div>\n<div class=\"cols\"><div><h2>Best neuron for each property</h2><table id=\"best\"></table></div>\n"
              "<div><h2>Neurons ranked by |r|</h2><table id=\"top\"></table></div></div>\n"
              "<div id=\"gallery\"></div>\n<div id=\"info\">hover a character for its numbers</div>\n"
              "<script id=\"data\" type=\"application/json\">{\n");
    json_key_string(b, "title", p->title);
    json_key_string(b, "checkpoint", p->checkpoint);
    json_key_string(b, "file", p->file);
    json_key_string(b, "quantity", p->quantity);
    jb_printf(b, "\"start\":%ld,\"n\":%d,\n\"text\":", p->start, p->n);
    json_u32_array(b, p->chars, (size_t)p->n);
    jb_raw(b, ",\n\"best\":");
    cells_entries(b, p->best, p->num_best);
    jb_raw(b, ",\n\"top\":");
    cells_entries(b, p->top, p->num_top);
    jb_raw(b, "\n}</script>\n<script>\n");
    jb_raw(b, page_common_js);
    jb_raw(b, cells_js);
    jb_raw(b, "</script>\n</body></html>\n");
}
