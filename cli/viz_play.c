/* viz_play.c: `charrnn play CHECKPOINT -o play.html`: one self-contained page
 * (no network) that holds the model and runs it in the browser: type a prime,
 * choose the temperature and top-k, and watch text stream character by
 * character, with the model's five likeliest guesses for the character under
 * the cursor. The weights are base64 in the page, float32 (the page's
 * probabilities then agree with charrnn's) or int8 with a scale per row (a
 * quarter of the size). The page's forward pass is plain JavaScript over
 * Float32Arrays, the same equations as PyTorch's LSTM, GRU and tanh RNN.
 * With #test=PREFIX&n=N in the address it feeds PREFIX, writes the
 * next-character probabilities into <html data-probs>, times N sampled
 * characters into data-chars-per-s, and sets data-ready (the browser test). */
#include "viz.h"
#include "options.h"
#include "signals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the page's own CSS and JavaScript, embedded from cli/pages/ (viz.h, PAGE_FILE) */
PAGE_FILE(play_css, "cli/pages/play.css");
PAGE_FILE(play_js, "cli/pages/play.js");

/* Writes one parameter tensor as float32 or int8 with a float32 scale per row. */
static void put_tensor(jbuf *b, const char *name, const float *w, int rows, int cols, int int8, int first) {
    jb_printf(b, "%s\"%s\":{\"rows\":%d,\"cols\":%d,\"q\":\"%s\",\"data\":", first ? "" : ",\n", name, rows, cols,
              int8 ? "i8" : "f32");
    size_t n = (size_t)rows * cols;
    if (!int8) {
        unsigned char *le = malloc(n * 4 + 1);
        if (!le) cli_die(1, "out of memory");
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &w[i], 4);
            for (int k = 0; k < 4; k++) le[4 * i + k] = (unsigned char)(u >> (8 * k));
        }
        json_base64(b, le, n * 4);
        free(le);
    } else {
        int8_t *q = malloc(n + 1);
        unsigned char *sc = malloc((size_t)rows * 4 + 1);
        if (!q || !sc) cli_die(1, "out of memory");
        for (int r = 0; r < rows; r++) {
            float mx = 0;
            for (int c = 0; c < cols; c++) mx = fabsf(w[(size_t)r * cols + c]) > mx ? fabsf(w[(size_t)r * cols + c]) : mx;
            float s = mx > 0 ? mx / 127.0f : 1.0f;
            for (int c = 0; c < cols; c++) q[(size_t)r * cols + c] = (int8_t)lrintf(w[(size_t)r * cols + c] / s);
            uint32_t u;
            memcpy(&u, &s, 4);
            for (int k = 0; k < 4; k++) sc[4 * (size_t)r + k] = (unsigned char)(u >> (8 * k));
        }
        json_base64(b, q, n);
        jb_raw(b, ",\"scale\":");
        json_base64(b, sc, (size_t)rows * 4);
        free(q);
        free(sc);
    }
    jb_raw(b, "}");
}

void play_write_page(jbuf *b, charrnn_model *m, const char *title, const char *prime, int int8) {
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    jb_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    html_text(b, title, strlen(title));
    jb_raw(b, "</title>\n<script>\n");
    jb_raw(b, viz_onerror_script);
    jb_raw(b, "</script>\n<style>\n");
    jb_raw(b, play_css);
    jb_raw(b, "</style>\n</head>\n<body>\n<header><h1>");
    html_text(b, title, strlen(title));
    char desc[256];
    snprintf(desc, sizeof desc, "%d x %d %s, %zu parameters (%s), vocabulary %d %s, trained %ld iterations",
             in.config.num_layers, in.config.rnn_size, charrnn_cell_name(in.config.cell), in.num_params,
             int8 ? "int8 with a scale per row" : "float32", in.vocab_size,
             in.unit == CHARRNN_UNIT_BYTE ? "bytes" : "characters", in.iteration);
    jb_raw(b, "</h1><p>");
    html_text(b, desc, strlen(desc));
    jb_raw(b, ". It runs in this page: nothing is sent anywhere.</p></header>\n<main>\n"
              "<textarea id=\"prime\" spellcheck=\"false\">");
    html_text(b, prime, strlen(prime));
    jb_raw(b, "</textarea>\n<div class=\"controls\">\n"
              "<label>temperature <input id=\"temp\" type=\"range\" min=\"0\" max=\"2\" step=\"0.05\" value=\"0.8\"> "
              "<span id=\"tempv\"></span></label>\n"
              "<label>top-k <input id=\"topk\" type=\"number\" min=\"0\" value=\"0\" style=\"width:5em\"></label>\n"
              "<label>characters <input id=\"length\" type=\"number\" min=\"1\" value=\"2000\" style=\"width:6em\"></label>\n"
              "<label>seed <input id=\"seed\" type=\"number\" value=\"12345\" style=\"width:7em\"></label>\n"
              "<button id=\"go\">Generate</button><button id=\"stop\">Stop</button>\n</div>\n"
              "<div id=\"out\"></div>\n<div id=\"guesses\" title=\"the model's five likeliest next characters\"></div>\n"
              "<div id=\"status\"></div>\n</main>\n<script type=\"application/json\" id=\"model\">{");
    jb_printf(b, "\"cell\":\"%s\",\"layers\":%d,\"size\":%d,\"unit\":\"%s\",\"vocab\":", charrnn_cell_name(in.config.cell),
              in.config.num_layers, in.config.rnn_size, in.unit == CHARRNN_UNIT_BYTE ? "byte" : "codepoint");
    uint32_t *vocab = malloc(sizeof(uint32_t) * (size_t)in.vocab_size);
    if (!vocab) cli_die(1, "out of memory");
    for (int i = 0; i < in.vocab_size; i++) vocab[i] = charrnn_model_vocab(m, i);
    json_u32_array(b, vocab, (size_t)in.vocab_size);
    free(vocab);
    jb_raw(b, ",\"tensors\":{\n");
    for (int i = 0; i < charrnn_model_num_tensors(m); i++) {
        const char *name;
        int rows, cols;
        const float *w = charrnn_model_tensor(m, i, &name, &rows, &cols);
        put_tensor(b, name, w, rows, cols, int8 && cols > 1, i == 0);
    }
    jb_raw(b, "}}</script>\n<script>\n");
    jb_raw(b, play_js);
    jb_raw(b, "</script>\n</body></html>\n");
}

int cmd_play(int argc, char **argv) {
    const char *out = "play.html", *title = NULL, *prime = "The ";
    int quant = 0;
    optdef opts[] = {
        {"output", O_STR, &out, 0, "the page to write (default play.html; - for stdout)", 0},
        {"o", O_STR, &out, 0, "the same as --output", 0},
        {"weights", O_CHOICE, &quant, "f32|int8", "float32 weights (default; the page agrees with charrnn) or int8 (a quarter of the size)", 0},
        {"primetext", O_STR, &prime, 0, "the prime shown in the page at first (default \"The \")", 0},
        {"title", O_STR, &title, 0, "the page's title (default: the checkpoint's name)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    if (cli_parse(argc, argv, "play", "play CHECKPOINT [-o play.html] [--weights f32|int8]", opts, pos, 1) < 1)
        cli_die(2, "play needs a checkpoint: charrnn play cv/best.safetensors -o play.html");
    cli_check_output(out, "-o", 0, pos, 1);
    sig_install("stopping", 0);
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    char deftitle[600];
    const char *base = strrchr(pos[0], '/');
    snprintf(deftitle, sizeof deftitle, "charrnn playground: %s", base ? base + 1 : pos[0]);
    jbuf b;
    jb_init(&b);
    play_write_page(&b, m, title ? title : deftitle, prime, quant == 1);
    if (b.oom) cli_die(1, "out of memory building the page");
    cli_write_file_atomic(out, b.buf, b.len);
    if (strcmp(out, "-"))
        fprintf(stderr, "wrote %s (%.2f MB, weights %s); open it in a browser\n", out, b.len / 1e6, quant ? "int8" : "float32");
    jb_free(&b);
    charrnn_model_close(m);
    return 0;
}
