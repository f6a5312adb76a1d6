(function () {
var root = document.documentElement;
var M = JSON.parse(document.getElementById('model').textContent);
function bytes(s) { var bin = atob(s), a = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i); return a; }
function tensor(name) {
  var t = M.tensors[name], n = t.rows * t.cols, out = new Float32Array(n), b = bytes(t.data);
  if (t.q === 'f32') { var dv = new DataView(b.buffer); for (var i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true); }
  else { var sc = bytes(t.scale), sv = new DataView(sc.buffer), q = new Int8Array(b.buffer);
    for (var r = 0; r < t.rows; r++) { var s = sv.getFloat32(4 * r, true);
      for (var c = 0; c < t.cols; c++) out[r * t.cols + c] = q[r * t.cols + c] * s; } }
  return out; }
var L = M.layers, H = M.size, V = M.vocab.length, G = M.cell === 'lstm' ? 4 : M.cell === 'gru' ? 3 : 1;
var W = []; for (var l = 0; l < L; l++) W.push({ih: tensor('weight_ih_l' + l), hh: tensor('weight_hh_l' + l),
  bih: tensor('bias_ih_l' + l), bhh: tensor('bias_hh_l' + l)});
var DW = tensor('decoder.weight'), DB = tensor('decoder.bias');
var h = [], c = [], h2 = [], c2 = [], gx = new Float32Array(G * H), gh = new Float32Array(G * H),
  logits = new Float64Array(V), probs = new Float64Array(V);
for (var l = 0; l < L; l++) { h.push(new Float32Array(H)); c.push(new Float32Array(H));
  h2.push(new Float32Array(H)); c2.push(new Float32Array(H)); }
function reset() { for (var l = 0; l < L; l++) { h[l].fill(0); c[l].fill(0); } for (var v = 0; v < V; v++) probs[v] = 1 / V; }
function sig(x) { return 1 / (1 + Math.exp(-x)); }
/* one character (a vocabulary index) through every layer and the decoder */
function step(id) {
  var x = null;
  for (var l = 0; l < L; l++) {
    var w = W[l], hp = h[l], In = l === 0 ? V : H, j, k, s, o;
    for (j = 0; j < G * H; j++) {
      s = w.bih[j];
      if (l === 0) s += w.ih[j * V + id]; else { o = j * In; for (k = 0; k < In; k++) s += w.ih[o + k] * x[k]; }
      gx[j] = s; s = w.bhh[j]; o = j * H;
      for (k = 0; k < H; k++) s += w.hh[o + k] * hp[k];
      gh[j] = s; }
    var hn = h2[l];
    if (M.cell === 'lstm') { var cp = c[l], cn = c2[l];
      for (j = 0; j < H; j++) { var ig = sig(gx[j] + gh[j]), fg = sig(gx[H + j] + gh[H + j]),
        gg = Math.tanh(gx[2 * H + j] + gh[2 * H + j]), og = sig(gx[3 * H + j] + gh[3 * H + j]);
        cn[j] = fg * cp[j] + ig * gg; hn[j] = og * Math.tanh(cn[j]); } c2[l] = cp; c[l] = cn; }
    else if (M.cell === 'gru') {
      for (j = 0; j < H; j++) { var r = sig(gx[j] + gh[j]), z = sig(gx[H + j] + gh[H + j]),
        n = Math.tanh(gx[2 * H + j] + r * gh[2 * H + j]); hn[j] = (1 - z) * n + z * hp[j]; } }
    else { for (j = 0; j < H; j++) hn[j] = Math.tanh(gx[j] + gh[j]); }
    h2[l] = hp; h[l] = hn; x = hn; }
  var mx = -Infinity, v, sum = 0;
  for (v = 0; v < V; v++) { var t = DB[v], off = v * H; for (var q = 0; q < H; q++) t += DW[off + q] * x[q];
    logits[v] = t; if (t > mx) mx = t; }
  for (v = 0; v < V; v++) { probs[v] = Math.exp(logits[v] - mx); sum += probs[v]; }
  for (v = 0; v < V; v++) probs[v] /= sum; }
/* text <-> vocabulary indices, by code point or by byte */
var index = {}; for (var v = 0; v < V; v++) index[M.vocab[v]] = v;
function ids(text) { var out = [], i;
  if (M.unit === 'byte') { var b = new TextEncoder().encode(text); for (i = 0; i < b.length; i++) if (b[i] in index) out.push(index[b[i]]); }
  else { for (var ch of text) { var cp = ch.codePointAt(0); if (cp in index) out.push(index[cp]); } }
  return out; }
var dec = M.unit === 'byte' ? new TextDecoder('utf-8') : null;
function text_of(id) { var cp = M.vocab[id]; if (dec) return dec.decode(new Uint8Array([cp]), {stream: true});
  return String.fromCodePoint(cp); }
var seed = 12345;
function rand() { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return ((seed >>> 0) % 16777216) / 16777216; }
/* temperature, then top-k, then a draw */
function draw(temp, topk) {
  var v, best = 0;
  if (temp <= 0) { for (v = 1; v < V; v++) if (probs[v] > probs[best]) best = v; return best; }
  var w = new Float64Array(V), mx = -Infinity, s = 0;
  for (v = 0; v < V; v++) if (logits[v] > mx) mx = logits[v];
  for (v = 0; v < V; v++) w[v] = Math.exp((logits[v] - mx) / temp);
  if (topk > 0 && topk < V) { var sorted = Array.prototype.slice.call(w).sort(function (a, b) { return b - a; });
    var cut = sorted[topk - 1], kept = 0; for (v = 0; v < V; v++) { if (w[v] >= cut && kept < topk) kept++; else w[v] = 0; } }
  for (v = 0; v < V; v++) s += w[v];
  var u = rand() * s; for (v = 0; v < V; v++) { u -= w[v]; if (u < 0) return v; }
  for (v = V - 1; v > 0 && w[v] === 0; v--); return v; }
function top5() { var idx = []; for (var v = 0; v < V; v++) idx.push(v);
  idx.sort(function (a, b) { return probs[b] - probs[a] || a - b; }); return idx.slice(0, 5); }
function show(ch) { return ch === '\n' ? '\u21b5' : ch === ' ' ? '\u2423' : ch === '\t' ? '\u21e5' : ch; }
/* the test hook: #test=PREFIX&n=N */
var args = {}; location.hash.slice(1).split('&').forEach(function (kv) { var i = kv.indexOf('=');
  if (i > 0) args[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); });
reset();
if ('test' in args) {
  var p = ids(args.test); for (var i = 0; i < p.length; i++) step(p[i]);
  root.setAttribute('data-probs', JSON.stringify(Array.prototype.slice.call(probs)));
  var n = +(args.n || 0), t0 = performance.now(), id = p.length ? p[p.length - 1] : 0;
  for (var k = 0; k < n; k++) { id = draw(1, 0); step(id); }
  var ms = performance.now() - t0; if (n) root.setAttribute('data-chars-per-s', (n / ms * 1000).toFixed(0));
}
/* the page */
var out = document.getElementById('out'), guesses = document.getElementById('guesses'),
  status = document.getElementById('status'), temp = document.getElementById('temp'),
  topk = document.getElementById('topk'), tempv = document.getElementById('tempv'), running = false, made = 0, t0 = 0, cur = null;
temp.oninput = function () { tempv.textContent = (+temp.value).toFixed(2); }; temp.oninput();
function guess() { guesses.innerHTML = ''; top5().forEach(function (v) { var s = document.createElement('span');
  s.textContent = show(text_of(v)) + ' ' + (100 * probs[v]).toFixed(1) + '%'; guesses.appendChild(s); }); }
function cursor() { if (cur) cur.remove(); cur = document.createElement('span'); cur.className = 'cursor';
  cur.textContent = ' '; out.appendChild(cur); }
function start() {
  reset(); out.textContent = ''; var pre = document.createElement('span'); pre.className = 'prime';
  var prime = document.getElementById('prime').value; pre.textContent = prime; out.appendChild(pre);
  var p = ids(prime); for (var i = 0; i < p.length; i++) step(p[i]);
  seed = (+document.getElementById('seed').value | 0) || 12345; made = 0; t0 = performance.now();
  running = true; cursor(); guess(); requestAnimationFrame(more); }
function more() {
  if (!running) return;
  var until = performance.now() + 12, s = '', limit = +document.getElementById('length').value || 2000;
  while (performance.now() < until && made < limit) { var id = draw(+temp.value, +topk.value | 0); s += text_of(id); step(id); made++; }
  out.insertBefore(document.createTextNode(s), cur); guess();
  status.textContent = made + ' characters, ' + (made / (performance.now() - t0) * 1000).toFixed(0) + ' per second';
  if (made < limit) requestAnimationFrame(more); else running = false; }
document.getElementById('go').onclick = start;
document.getElementById('stop').onclick = function () { running = false; };
guess();
root.setAttribute('data-ready', '1');
})();
