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

static const char play_css[] =
    "body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }\n"
    "header { padding: 10px 18px; background: #fff; border-bottom: 1px solid #ddd; }\n"
    "h1 { font-size: 18px; margin: 0 0 4px; } header p { margin: 0; color: #666; font-size: 13px; }\n"
    "main { padding: 14px 18px; max-width: 1100px; }\n"
    ".controls { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: center; margin-bottom: 10px; }\n"
    "textarea { width: 100%; height: 60px; font: 14px/1.4 ui-monospace, monospace; box-sizing: border-box; }\n"
    "button { font-size: 14px; padding: 4px 12px; }\n"
    "#out { white-space: pre-wrap; font: 14px/1.5 ui-monospace, monospace; background: #fff; border: 1px solid #ddd;\n"
    "  padding: 10px; min-height: 240px; word-break: break-all; }\n"
    "#out .prime { color: #777; } #out .cursor { background: #ffe08a; }\n"
    "#guesses { margin-top: 8px; font: 13px ui-monospace, monospace; display: flex; gap: 6px; flex-wrap: wrap; }\n"
    "#guesses span { border: 1px solid #ccc; border-radius: 4px; padding: 1px 6px; background: #fff; }\n"
    "#status { color: #666; font-size: 13px; margin-top: 6px; }\n";

/* Plain ES5 with no backslashes in the C strings' content where avoidable. */
static const char play_js[] =
    "(function () {\n"
    "var root = document.documentElement;\n"
    "var M = JSON.parse(document.getElementById('model').textContent);\n"
    "function bytes(s) { var bin = atob(s), a = new Uint8Array(bin.length);\n"
    "  for (var i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i); return a; }\n"
    "function tensor(name) {\n"
    "  var t = M.tensors[name], n = t.rows * t.cols, out = new Float32Array(n), b = bytes(t.data);\n"
    "  if (t.q === 'f32') { var dv = new DataView(b.buffer); for (var i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true); }\n"
    "  else { var sc = bytes(t.scale), sv = new DataView(sc.buffer), q = new Int8Array(b.buffer);\n"
    "    for (var r = 0; r < t.rows; r++) { var s = sv.getFloat32(4 * r, true);\n"
    "      for (var c = 0; c < t.cols; c++) out[r * t.cols + c] = q[r * t.cols + c] * s; } }\n"
    "  return out; }\n"
    "var L = M.layers, H = M.size, V = M.vocab.length, G = M.cell === 'lstm' ? 4 : M.cell === 'gru' ? 3 : 1;\n"
    "var W = []; for (var l = 0; l < L; l++) W.push({ih: tensor('weight_ih_l' + l), hh: tensor('weight_hh_l' + l),\n"
    "  bih: tensor('bias_ih_l' + l), bhh: tensor('bias_hh_l' + l)});\n"
    "var DW = tensor('decoder.weight'), DB = tensor('decoder.bias');\n"
    "var h = [], c = [], h2 = [], c2 = [], gx = new Float32Array(G * H), gh = new Float32Array(G * H),\n"
    "  logits = new Float64Array(V), probs = new Float64Array(V);\n"
    "for (var l = 0; l < L; l++) { h.push(new Float32Array(H)); c.push(new Float32Array(H));\n"
    "  h2.push(new Float32Array(H)); c2.push(new Float32Array(H)); }\n"
    "function reset() { for (var l = 0; l < L; l++) { h[l].fill(0); c[l].fill(0); } for (var v = 0; v < V; v++) probs[v] = 1 / V; }\n"
    "function sig(x) { return 1 / (1 + Math.exp(-x)); }\n"
    "/* one character (a vocabulary index) through every layer and the decoder */\n"
    "function step(id) {\n"
    "  var x = null;\n"
    "  for (var l = 0; l < L; l++) {\n"
    "    var w = W[l], hp = h[l], In = l === 0 ? V : H, j, k, s, o;\n"
    "    for (j = 0; j < G * H; j++) {\n"
    "      s = w.bih[j];\n"
    "      if (l === 0) s += w.ih[j * V + id]; else { o = j * In; for (k = 0; k < In; k++) s += w.ih[o + k] * x[k]; }\n"
    "      gx[j] = s; s = w.bhh[j]; o = j * H;\n"
    "      for (k = 0; k < H; k++) s += w.hh[o + k] * hp[k];\n"
    "      gh[j] = s; }\n"
    "    var hn = h2[l];\n"
    "    if (M.cell === 'lstm') { var cp = c[l], cn = c2[l];\n"
    "      for (j = 0; j < H; j++) { var ig = sig(gx[j] + gh[j]), fg = sig(gx[H + j] + gh[H + j]),\n"
    "        gg = Math.tanh(gx[2 * H + j] + gh[2 * H + j]), og = sig(gx[3 * H + j] + gh[3 * H + j]);\n"
    "        cn[j] = fg * cp[j] + ig * gg; hn[j] = og * Math.tanh(cn[j]); } c2[l] = cp; c[l] = cn; }\n"
    "    else if (M.cell === 'gru') {\n"
    "      for (j = 0; j < H; j++) { var r = sig(gx[j] + gh[j]), z = sig(gx[H + j] + gh[H + j]),\n"
    "        n = Math.tanh(gx[2 * H + j] + r * gh[2 * H + j]); hn[j] = (1 - z) * n + z * hp[j]; } }\n"
    "    else { for (j = 0; j < H; j++) hn[j] = Math.tanh(gx[j] + gh[j]); }\n"
    "    h2[l] = hp; h[l] = hn; x = hn; }\n"
    "  var mx = -Infinity, v, sum = 0;\n"
    "  for (v = 0; v < V; v++) { var t = DB[v], off = v * H; for (var q = 0; q < H; q++) t += DW[off + q] * x[q];\n"
    "    logits[v] = t; if (t > mx) mx = t; }\n"
    "  for (v = 0; v < V; v++) { probs[v] = Math.exp(logits[v] - mx); sum += probs[v]; }\n"
    "  for (v = 0; v < V; v++) probs[v] /= sum; }\n"
    "/* text <-> vocabulary indices, by code point or by byte */\n"
    "var index = {}; for (var v = 0; v < V; v++) index[M.vocab[v]] = v;\n"
    "function ids(text) { var out = [], i;\n"
    "  if (M.unit === 'byte') { var b = new TextEncoder().encode(text); for (i = 0; i < b.length; i++) if (b[i] in index) out.push(index[b[i]]); }\n"
    "  else { for (var ch of text) { var cp = ch.codePointAt(0); if (cp in index) out.push(index[cp]); } }\n"
    "  return out; }\n"
    "var dec = M.unit === 'byte' ? new TextDecoder('utf-8') : null;\n"
    "function text_of(id) { var cp = M.vocab[id]; if (dec) return dec.decode(new Uint8Array([cp]), {stream: true});\n"
    "  return String.fromCodePoint(cp); }\n"
    "var seed = 12345;\n"
    "function rand() { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return ((seed >>> 0) % 16777216) / 16777216; }\n"
    "/* temperature, then top-k, then a draw */\n"
    "function draw(temp, topk) {\n"
    "  var v, best = 0;\n"
    "  if (temp <= 0) { for (v = 1; v < V; v++) if (probs[v] > probs[best]) best = v; return best; }\n"
    "  var w = new Float64Array(V), mx = -Infinity, s = 0;\n"
    "  for (v = 0; v < V; v++) if (logits[v] > mx) mx = logits[v];\n"
    "  for (v = 0; v < V; v++) w[v] = Math.exp((logits[v] - mx) / temp);\n"
    "  if (topk > 0 && topk < V) { var sorted = Array.prototype.slice.call(w).sort(function (a, b) { return b - a; });\n"
    "    var cut = sorted[topk - 1], kept = 0; for (v = 0; v < V; v++) { if (w[v] >= cut && kept < topk) kept++; else w[v] = 0; } }\n"
    "  for (v = 0; v < V; v++) s += w[v];\n"
    "  var u = rand() * s; for (v = 0; v < V; v++) { u -= w[v]; if (u < 0) return v; }\n"
    "  for (v = V - 1; v > 0 && w[v] === 0; v--); return v; }\n"
    "function top5() { var idx = []; for (var v = 0; v < V; v++) idx.push(v);\n"
    "  idx.sort(function (a, b) { return probs[b] - probs[a] || a - b; }); return idx.slice(0, 5); }\n"
    "function show(ch) { return ch === '\\n' ? '\\u21b5' : ch === ' ' ? '\\u2423' : ch === '\\t' ? '\\u21e5' : ch; }\n"
    "/* the test hook: #test=PREFIX&n=N */\n"
    "var args = {}; location.hash.slice(1).split('&').forEach(function (kv) { var i = kv.indexOf('=');\n"
    "  if (i > 0) args[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); });\n"
    "reset();\n"
    "if ('test' in args) {\n"
    "  var p = ids(args.test); for (var i = 0; i < p.length; i++) step(p[i]);\n"
    "  root.setAttribute('data-probs', JSON.stringify(Array.prototype.slice.call(probs)));\n"
    "  var n = +(args.n || 0), t0 = performance.now(), id = p.length ? p[p.length - 1] : 0;\n"
    "  for (var k = 0; k < n; k++) { id = draw(1, 0); step(id); }\n"
    "  var ms = performance.now() - t0; if (n) root.setAttribute('data-chars-per-s', (n / ms * 1000).toFixed(0));\n"
    "}\n"
    "/* the page */\n"
    "var out = document.getElementById('out'), guesses = document.getElementById('guesses'),\n"
    "  status = document.getElementById('status'), temp = document.getElementById('temp'),\n"
    "  topk = document.getElementById('topk'), tempv = document.getElementById('tempv'), running = false, made = 0, t0 = 0, cur = null;\n"
    "temp.oninput = function () { tempv.textContent = (+temp.value).toFixed(2); }; temp.oninput();\n"
    "function guess() { guesses.innerHTML = ''; top5().forEach(function (v) { var s = document.createElement('span');\n"
    "  s.textContent = show(text_of(v)) + ' ' + (100 * probs[v]).toFixed(1) + '%'; guesses.appendChild(s); }); }\n"
    "function cursor() { if (cur) cur.remove(); cur = document.createElement('span'); cur.className = 'cursor';\n"
    "  cur.textContent = ' '; out.appendChild(cur); }\n"
    "function start() {\n"
    "  reset(); out.textContent = ''; var pre = document.createElement('span'); pre.className = 'prime';\n"
    "  var prime = document.getElementById('prime').value; pre.textContent = prime; out.appendChild(pre);\n"
    "  var p = ids(prime); for (var i = 0; i < p.length; i++) step(p[i]);\n"
    "  seed = (+document.getElementById('seed').value | 0) || 12345; made = 0; t0 = performance.now();\n"
    "  running = true; cursor(); guess(); requestAnimationFrame(more); }\n"
    "function more() {\n"
    "  if (!running) return;\n"
    "  var until = performance.now() + 12, s = '', limit = +document.getElementById('length').value || 2000;\n"
    "  while (performance.now() < until && made < limit) { var id = draw(+temp.value, +topk.value | 0); s += text_of(id); step(id); made++; }\n"
    "  out.insertBefore(document.createTextNode(s), cur); guess();\n"
    "  status.textContent = made + ' characters, ' + (made / (performance.now() - t0) * 1000).toFixed(0) + ' per second';\n"
    "  if (made < limit) requestAnimationFrame(more); else running = false; }\n"
    "document.getElementById('go').onclick = start;\n"
    "document.getElementById('stop').onclick = function () { running = false; };\n"
    "guess();\n"
    "root.setAttribute('data-ready', '1');\n"
    "})();\n";

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
