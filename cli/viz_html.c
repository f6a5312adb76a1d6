/* viz_html.c: the pages of `charrnn viz` and `charrnn cells`: text escaped for
 * HTML and for JSON inside <script>, int8 activations in base64, and the pages'
 * own CSS and JavaScript (no network, no external files). The pages are pure
 * ASCII, so they read the same under any charset. */
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

void json_ascii_string(jbuf *b, const char *s, size_t n) {
    char tmp[16];
    jb_raw(b, "\"");
    for (size_t i = 0; i < n;) {
        uint32_t c = next_cp(s, n, &i);
        if (c == '"') jb_raw(b, "\\\"");
        else if (c == '\\') jb_raw(b, "\\\\");
        else if (c == '\n') jb_raw(b, "\\n");
        else if (c == '\t') jb_raw(b, "\\t");
        else if (c >= 0x20 && c < 0x7f && c != '<' && c != '>' && c != '&') {
            tmp[0] = (char)c, tmp[1] = 0;
            jb_raw(b, tmp);
        } else if (c < 0x10000) {
            snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)c);
            jb_raw(b, tmp);
        } else { /* a UTF-16 surrogate pair */
            uint32_t v = c - 0x10000;
            snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)), (unsigned)(0xDC00 + (v & 0x3FF)));
            jb_raw(b, tmp);
        }
    }
    jb_raw(b, "\"");
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
/* Plain ES5 with no backslashes, so each line below reads as the browser gets it
 * (only the double quotes are escaped). page_common_js is shared: base64 and
 * float32 decoding, the blue-white-green palette, how a character is drawn. */

const char viz_onerror_script[] =
    "window.onerror = function (msg, src, line) {\n"
    "  document.documentElement.setAttribute('data-error', String(msg) + ' (line ' + line + ')');\n"
    "};\n";

static const char page_common_js[] =
    "function b64bytes(s) {\n"
    "  var bin = atob(s), a = new Uint8Array(bin.length);\n"
    "  for (var i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);\n"
    "  return a;\n"
    "}\n"
    "function f32(s) {\n"
    "  var b = b64bytes(s), dv = new DataView(b.buffer), out = new Float32Array(b.length >> 2);\n"
    "  for (var i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);\n"
    "  return out;\n"
    "}\n"
    "function mix(a, b, t) {\n"
    "  return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * t); }).join(',') + ')';\n"
    "}\n"
    "/* activation -1..1 (int8 -127..127): blue, through near-white at 0, to green */\n"
    "var BLUE = [60, 110, 225], MID = [238, 241, 238], GREEN = [40, 170, 60];\n"
    "var pal = [], ink = [];\n"
    "for (var q = -128; q < 128; q++) {\n"
    "  var v = Math.max(-1, q / 127);\n"
    "  pal.push(v < 0 ? mix(MID, BLUE, -v) : mix(MID, GREEN, v));\n"
    "  ink.push(v < -0.55 || v > 0.8 ? '#fff' : '#000');\n"
    "}\n"
    "/* how a character is drawn in one cell: control characters get a picture */\n"
    "function disp(cp, guess) {\n"
    "  if (cp === 10) return String.fromCharCode(0x21B5);\n"
    "  if (cp === 9) return String.fromCharCode(0x21E5);\n"
    "  if (cp === 32) return guess ? String.fromCharCode(0x2423) : ' ';\n"
    "  if (cp < 32) return String.fromCharCode(0x2400 + cp);\n"
    "  if (cp === 127 || (cp >= 128 && cp < 160)) return String.fromCharCode(0xB7);\n"
    "  return String.fromCodePoint(cp);\n"
    "}\n"
    "function esc(s) { return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }\n"
    "function cpname(cp) {\n"
    "  var h = cp.toString(16).toUpperCase();\n"
    "  while (h.length < 4) h = '0' + h;\n"
    "  return esc(disp(cp, true)) + ' <small>U+' + h + '</small>';\n"
    "}\n"
    "function signed(v) { return (v >= 0 ? '+' : '') + v.toFixed(3); }\n";

static const char viz_css[] =
    "body{margin:0;font:14px/1.4 'DejaVu Sans',system-ui,sans-serif;color:#222;background:#fff}\n"
    "header{position:sticky;top:0;z-index:2;background:#f7f7f5;border-bottom:1px solid #ddd;padding:8px 14px}\n"
    "h1{font-size:17px;margin:0 0 2px}\n"
    ".meta{color:#555;font-size:12px}\n"
    ".controls{margin-top:6px;display:flex;flex-wrap:wrap;gap:16px;align-items:center;font-size:13px}\n"
    ".controls input[type=number]{width:5em}\n"
    ".legend{color:#555;font-size:12px}\n"
    ".legend i,.legend b{display:inline-block;height:10px;vertical-align:middle;margin:0 4px}\n"
    ".legend i{width:110px;background:linear-gradient(to right,rgb(60,110,225),rgb(238,241,238),rgb(40,170,60))}\n"
    ".legend b{width:50px;background:linear-gradient(to right,rgba(178,24,43,0),rgb(178,24,43))}\n"
    "#text{position:relative;margin:10px 14px 70px;font:13px/20px 'DejaVu Sans Mono',monospace}\n"
    ".row{position:absolute;left:0;right:0}\n"
    ".row>div{display:flex}\n"
    ".row span{flex:none;width:13px;text-align:center;overflow:hidden;white-space:pre;cursor:default}\n"
    ".t span{height:20px;line-height:20px}\n"
    ".g span{height:13px;line-height:13px;font-size:10px}\n"
    ".g span.hit{text-decoration:underline;font-weight:bold}\n"
    ".p span{height:9px;position:relative}\n"
    ".p i{position:absolute;bottom:0;left:2px;right:2px;background:#555}\n"
    ".sel{outline:2px solid #e60;outline-offset:-1px}\n"
    "#info{position:fixed;left:0;right:0;bottom:0;background:rgba(255,255,255,.96);border-top:1px solid #ccc;padding:6px 14px;font:12px/1.5 'DejaVu Sans Mono',monospace;min-height:18px;z-index:3}\n";

static const char viz_js[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var D = JSON.parse(document.getElementById('data').textContent);\n"
    "  var n = D.n, H = D.hidden, CW = 13, TH = 20, GH = 13, PH = 9, GAP = 9, K = 5;\n"
    "  var topP = f32(D.top_p), pNext = f32(D.p_next), cache = {};\n"
    "  var gpal = [];\n"
    "  for (var k = 0; k <= 20; k++) gpal.push('rgba(178,24,43,' + (k / 20).toFixed(2) + ')');\n"
    "  var textS = D.text.map(function (cp) { return esc(disp(cp, false)); });\n"
    "  var gmemo = {};\n"
    "  function gdisp(cp) { return gmemo[cp] || (gmemo[cp] = esc(disp(cp, true))); }\n"
    "  /* int8 activations of (quantity, layer), neuron-major, decoded on first use */\n"
    "  function acts(q, l) {\n"
    "    var key = q + ':' + l;\n"
    "    if (!cache[key]) cache[key] = new Int8Array(b64bytes(D.quantities[q].layers[l]).buffer);\n"
    "    return cache[key];\n"
    "  }\n"
    "  var el = function (id) { return document.getElementById(id); };\n"
    "  var view = el('text'), info = el('info'), selL = el('layer'), selQ = el('qty'), inN = el('neuron'), chkG = el('guesses');\n"
    "  var st = { q: 0, l: 0, j: 0, guesses: true }, rows = [0], RH = 1, drawn = '', pinned = -1;\n"
    "\n"
    "  for (var l = 0; l < D.layers; l++) selL.add(new Option(String(l), String(l)));\n"
    "  D.quantities.forEach(function (q, i) { selQ.add(new Option(q.name, String(i))); });\n"
    "  inN.max = String(H - 1);\n"
    "  (location.hash.slice(1).split('&')).forEach(function (kv) {\n"
    "    var p = kv.split('='), v = parseInt(p[1], 10);\n"
    "    if (p[0] === 'layer' && v >= 0 && v < D.layers) selL.value = String(v);\n"
    "    if (p[0] === 'neuron' && v >= 0 && v < H) inN.value = String(v);\n"
    "    if (p[0] === 'q') D.quantities.forEach(function (q, i) { if (q.key === p[1]) selQ.value = String(i); });\n"
    "  });\n"
    "\n"
    "  function readControls() {\n"
    "    var j = parseInt(inN.value, 10);\n"
    "    if (!(j >= 0)) j = 0;\n"
    "    if (j > H - 1) j = H - 1;\n"
    "    inN.value = String(j);\n"
    "    st.l = +selL.value; st.q = +selQ.value; st.j = j; st.guesses = chkG.checked;\n"
    "    document.documentElement.setAttribute('data-view', st.l + ' ' + j + ' ' + D.quantities[st.q].key);\n"
    "    try { history.replaceState(null, '', '#layer=' + st.l + '&neuron=' + j + '&q=' + D.quantities[st.q].key); } catch (e) { /* file: URLs may refuse */ }\n"
    "  }\n"
    "\n"
    "  function layout() {\n"
    "    var W = Math.max(16, Math.floor((view.clientWidth - 2) / CW)), col = 0;\n"
    "    rows = [0];\n"
    "    for (var i = 0; i < n; i++) {\n"
    "      col++;\n"
    "      /* a row ends after a newline (blank lines stay on it) or when full */\n"
    "      if (i + 1 < n && ((D.text[i] === 10 && D.text[i + 1] !== 10) || col >= W)) { rows.push(i + 1); col = 0; }\n"
    "    }\n"
    "    RH = st.guesses ? TH + K * GH + PH + GAP : TH + 2;\n"
    "    view.style.height = rows.length * RH + 'px';\n"
    "    render(true);\n"
    "  }\n"
    "\n"
    "  /* only the rows on screen (and a few around them) exist in the page */\n"
    "  function render(force) {\n"
    "    var top = -view.getBoundingClientRect().top, vh = window.innerHeight;\n"
    "    var r0 = Math.max(0, Math.floor(top / RH) - 3), r1 = Math.min(rows.length, Math.ceil((top + vh) / RH) + 3);\n"
    "    var key = r0 + ':' + r1;\n"
    "    if (!force && key === drawn) return;\n"
    "    drawn = key;\n"
    "    var a = acts(st.q, st.l), base = st.j * n, h = [], i, v;\n"
    "    for (var r = r0; r < r1; r++) {\n"
    "      var s = rows[r], e = r + 1 < rows.length ? rows[r + 1] : n;\n"
    "      h.push('<div class=\"row\" style=\"top:' + r * RH + 'px\"><div class=\"t\">');\n"
    "      for (i = s; i < e; i++) {\n"
    "        v = a[base + i] + 128;\n"
    "        h.push('<span data-i=\"' + i + '\" style=\"background:' + pal[v] + ';color:' + ink[v] + '\">' + textS[i] + '</span>');\n"
    "      }\n"
    "      h.push('</div>');\n"
    "      if (st.guesses) {\n"
    "        for (var k = 0; k < K; k++) {\n"
    "          h.push('<div class=\"g\">');\n"
    "          for (i = s; i < e; i++) {\n"
    "            var p = topP[i * K + k], cp = D.top[i * K + k];\n"
    "            h.push('<span data-i=\"' + i + '\" class=\"' + (i + 1 < n && cp === D.text[i + 1] ? 'hit' : '') + '\" style=\"background:' +\n"
    "                   gpal[Math.round(p * 20)] + (p > 0.45 ? ';color:#fff' : '') + '\">' + gdisp(cp) + '</span>');\n"
    "          }\n"
    "          h.push('</div>');\n"
    "        }\n"
    "        h.push('<div class=\"p\">');\n"
    "        for (i = s; i < e; i++) {\n"
    "          var pn = pNext[i];\n"
    "          h.push('<span data-i=\"' + i + '\"><i style=\"height:' + (pn >= 0 ? Math.max(1, Math.round(pn * PH)) : 0) + 'px\"></i></span>');\n"
    "        }\n"
    "        h.push('</div>');\n"
    "      }\n"
    "      h.push('</div>');\n"
    "    }\n"
    "    view.innerHTML = h.join('');\n"
    "    if (pinned >= 0) mark(pinned);\n"
    "  }\n"
    "\n"
    "  function mark(i) {\n"
    "    view.querySelectorAll('.sel').forEach(function (x) { x.classList.remove('sel'); });\n"
    "    if (i >= 0) view.querySelectorAll('[data-i=\"' + i + '\"]').forEach(function (x) { x.classList.add('sel'); });\n"
    "  }\n"
    "\n"
    "  function show(i) {\n"
    "    var a = acts(st.q, st.l)[st.j * n + i] / 127, g = [];\n"
    "    for (var k = 0; k < K; k++) g.push(cpname(D.top[i * K + k]) + ' ' + topP[i * K + k].toFixed(4));\n"
    "    var next = i + 1 < n ? 'next ' + cpname(D.text[i + 1]) + ' p = ' + pNext[i].toPrecision(3) : 'end of the window';\n"
    "    info.innerHTML = '<b>char ' + i + '</b> ' + cpname(D.text[i]) + ' &middot; layer ' + st.l + ' neuron ' + st.j + ' ' +\n"
    "      esc(D.quantities[st.q].name) + ' = <b>' + signed(a) + '</b> &middot; ' + next + ' &middot; guesses: ' + g.join(', ');\n"
    "  }\n"
    "\n"
    "  view.addEventListener('mouseover', function (e) {\n"
    "    var t = e.target.closest('[data-i]');\n"
    "    if (t && pinned < 0) show(+t.getAttribute('data-i'));\n"
    "  });\n"
    "  view.addEventListener('click', function (e) {\n"
    "    var t = e.target.closest('[data-i]');\n"
    "    if (!t) return;\n"
    "    var i = +t.getAttribute('data-i');\n"
    "    pinned = pinned === i ? -1 : i;\n"
    "    mark(pinned);\n"
    "    show(i);\n"
    "  });\n"
    "  function changed() { var g = st.guesses; readControls(); if (g !== st.guesses) layout(); else render(true); if (pinned >= 0) show(pinned); }\n"
    "  [selL, selQ, inN, chkG].forEach(function (c) { c.addEventListener('change', changed); });\n"
    "  inN.addEventListener('input', changed);\n"
    "  el('prev').addEventListener('click', function () { inN.value = String(Math.max(0, st.j - 1)); changed(); });\n"
    "  el('next').addEventListener('click', function () { inN.value = String(Math.min(H - 1, st.j + 1)); changed(); });\n"
    "  document.addEventListener('keydown', function (e) {\n"
    "    if (e.target === inN) return;\n"
    "    if (e.key === ']') el('next').click();\n"
    "    if (e.key === '[') el('prev').click();\n"
    "  });\n"
    "  var pending = false;\n"
    "  window.addEventListener('scroll', function () {\n"
    "    if (pending) return;\n"
    "    pending = true;\n"
    "    requestAnimationFrame(function () { pending = false; render(false); });\n"
    "  }, { passive: true });\n"
    "  var resizeTimer = 0;\n"
    "  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(layout, 100); });\n"
    "\n"
    "  var root = document.documentElement, bench = location.hash.indexOf('bench') >= 0;\n"
    "  readControls();\n"
    "  layout();\n"
    "  root.setAttribute('data-rows', String(rows.length));\n"
    "  root.setAttribute('data-ready-ms', performance.now().toFixed(0));\n"
    "  if (bench) { /* #bench: the mean time of 20 neuron steps and a layer change, for the tests */\n"
    "    var t0 = performance.now();\n"
    "    for (var b = 0; b < 20; b++) { inN.value = String((st.j + 1) % H); changed(); }\n"
    "    selL.value = String(D.layers - 1);\n"
    "    changed();\n"
    "    root.setAttribute('data-bench-ms', ((performance.now() - t0) / 21).toFixed(1));\n"
    "  }\n"
    "  root.setAttribute('data-ready', '1');\n"
    "})();\n";

static const char cells_css[] =
    "body{margin:0 auto;max-width:1150px;padding:10px 18px 70px;font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;color:#222}\n"
    "h1{font-size:19px;margin:6px 0 2px}\n"
    "h2{font-size:16px;margin:22px 0 6px}\n"
    ".meta{color:#555;font-size:12px}\n"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}\n"
    "td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}\n"
    "td:first-child,th:first-child{text-align:left}\n"
    ".bar{display:inline-block;width:62px;text-align:left}\n"
    ".bar i{display:block;height:9px}\n"
    ".cols{display:flex;flex-wrap:wrap;gap:30px;align-items:flex-start}\n"
    ".cell h3{font-size:14px;font-weight:normal;margin:14px 0 4px}\n"
    ".ex{font:12px/18px 'DejaVu Sans Mono',monospace;white-space:pre-wrap;word-break:break-all;border:1px solid #ddd;padding:6px;max-height:240px;overflow:auto}\n"
    "#info{position:fixed;left:0;right:0;bottom:0;background:rgba(255,255,255,.96);border-top:1px solid #ccc;padding:6px 14px;font:12px/1.5 'DejaVu Sans Mono',monospace;min-height:18px}\n";

static const char cells_js[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var D = JSON.parse(document.getElementById('data').textContent);\n"
    "  var all = D.best.concat(D.top), info = document.getElementById('info');\n"
    "  function u16(s) {\n"
    "    var b = b64bytes(s), out = new Uint16Array(b.length >> 1);\n"
    "    for (var i = 0; i < out.length; i++) out[i] = b[2 * i] | (b[2 * i + 1] << 8);\n"
    "    return out;\n"
    "  }\n"
    "  all.forEach(function (e) { e.a = new Int8Array(b64bytes(e.act).buffer); e.v = u16(e.pv); });\n"
    "  function bar(r) {\n"
    "    return '<span class=\"bar\"><i style=\"width:' + Math.round(Math.abs(r) * 60) + 'px;background:' + (r < 0 ? pal[0] : pal[255]) + '\"></i></span>';\n"
    "  }\n"
    "  function row(cells) { return '<tr><td>' + cells.join('</td><td>') + '</td></tr>'; }\n"
    "  var h = ['<tr><th>property</th><th>mean</th><th>layer</th><th>neuron</th><th>r</th><th></th></tr>'];\n"
    "  D.best.forEach(function (e, k) {\n"
    "    h.push(row(['<a href=\"#e' + k + '\">' + e.prop + '</a>', e.mean.toPrecision(3), e.layer, e.neuron, signed(e.r), bar(e.r)]));\n"
    "  });\n"
    "  document.getElementById('best').innerHTML = h.join('');\n"
    "  h = ['<tr><th>rank</th><th>layer</th><th>neuron</th><th>property</th><th>r</th><th></th></tr>'];\n"
    "  D.top.forEach(function (e, k) {\n"
    "    h.push(row([k + 1, e.layer, e.neuron, '<a href=\"#e' + (D.best.length + k) + '\">' + e.prop + '</a>', signed(e.r), bar(e.r)]));\n"
    "  });\n"
    "  document.getElementById('top').innerHTML = h.join('');\n"
    "\n"
    "  /* one excerpt per neuron: the text coloured by the neuron, the property as a grey underline */\n"
    "  function excerpt(e, k) {\n"
    "    var vmax = 0, out = [], i;\n"
    "    for (i = 0; i < e.len; i++) vmax = Math.max(vmax, e.v[i]);\n"
    "    for (i = 0; i < e.len; i++) {\n"
    "      var cp = D.text[e.start + i], a = e.a[i] + 128, u = vmax > 0 ? e.v[i] / vmax : 0;\n"
    "      out.push('<span data-e=\"' + k + '\" data-i=\"' + i + '\" style=\"background:' + pal[a] + ';color:' + ink[a] +\n"
    "               (u > 0 ? ';box-shadow:inset 0 -3px rgba(0,0,0,' + (0.15 + 0.6 * u).toFixed(2) + ')' : '') + '\">' +\n"
    "               esc(disp(cp, false)) + '</span>' + (cp === 10 ? '<br>' : ''));\n"
    "    }\n"
    "    return out.join('');\n"
    "  }\n"
    "  h = [];\n"
    "  all.forEach(function (e, k) {\n"
    "    if (k === 0 && D.best.length) h.push('<h2>Best neuron for each property</h2>');\n"
    "    if (k === D.best.length) h.push('<h2>Top ' + D.top.length + ' neurons</h2>');\n"
    "    h.push('<section class=\"cell\" id=\"e' + k + '\"><h3>layer ' + e.layer + ' neuron ' + e.neuron + ' &middot; ' + e.prop +\n"
    "           ' &middot; r = ' + signed(e.r) + ' <small>(characters ' + e.start + '&ndash;' + (e.start + e.len) + ')</small></h3><div class=\"ex\">' +\n"
    "           excerpt(e, k) + '</div></section>');\n"
    "  });\n"
    "  document.getElementById('gallery').innerHTML = h.join('');\n"
    "  document.getElementById('gallery').addEventListener('mouseover', function (ev) {\n"
    "    var t = ev.target.closest('[data-e]');\n"
    "    if (!t) return;\n"
    "    var e = all[+t.getAttribute('data-e')], i = +t.getAttribute('data-i');\n"
    "    info.innerHTML = '<b>char ' + (e.start + i) + '</b> ' + cpname(D.text[e.start + i]) + ' &middot; layer ' + e.layer + ' neuron ' +\n"
    "      e.neuron + ' ' + esc(D.quantity) + ' = <b>' + signed(e.a[i] / 127) + '</b> &middot; ' + e.prop + ' = ' + e.v[i];\n"
    "  });\n"
    "  document.documentElement.setAttribute('data-ready', '1');\n"
    "})();\n";

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
    json_ascii_string(b, val ? val : "", val ? strlen(val) : 0);
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
