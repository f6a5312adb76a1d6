function b64bytes(s) {
  var bin = atob(s), a = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
  return a;
}
function f32(s) {
  var b = b64bytes(s), dv = new DataView(b.buffer), out = new Float32Array(b.length >> 2);
  for (var i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}
function mix(a, b, t) {
  return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * t); }).join(',') + ')';
}
/* activation -1..1 (int8 -127..127): blue, through near-white at 0, to green */
var BLUE = [60, 110, 225], MID = [238, 241, 238], GREEN = [40, 170, 60];
var pal = [], ink = [];
for (var q = -128; q < 128; q++) {
  var v = Math.max(-1, q / 127);
  pal.push(v < 0 ? mix(MID, BLUE, -v) : mix(MID, GREEN, v));
  ink.push(v < -0.55 || v > 0.8 ? '#fff' : '#000');
}
/* how a character is drawn in one cell: control characters get a picture */
function disp(cp, guess) {
  if (cp === 10) return String.fromCharCode(0x21B5);
  if (cp === 9) return String.fromCharCode(0x21E5);
  if (cp === 32) return guess ? String.fromCharCode(0x2423) : ' ';
  if (cp < 32) return String.fromCharCode(0x2400 + cp);
  if (cp === 127 || (cp >= 128 && cp < 160)) return String.fromCharCode(0xB7);
  return String.fromCodePoint(cp);
}
function esc(s) { return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }
function cpname(cp) {
  var h = cp.toString(16).toUpperCase();
  while (h.length < 4) h = '0' + h;
  return esc(disp(cp, true)) + ' <small>U+' + h + '</small>';
}
function signed(v) { return (v >= 0 ? '+' : '') + v.toFixed(3); }
