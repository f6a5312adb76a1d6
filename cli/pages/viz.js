(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var n = D.n, H = D.hidden, CW = 13, TH = 20, GH = 13, PH = 9, GAP = 9, K = 5;
  var topP = f32(D.top_p), pNext = f32(D.p_next), cache = {};
  var gpal = [];
  for (var k = 0; k <= 20; k++) gpal.push('rgba(178,24,43,' + (k / 20).toFixed(2) + ')');
  var textS = D.text.map(function (cp) { return esc(disp(cp, false)); });
  var gmemo = {};
  function gdisp(cp) { return gmemo[cp] || (gmemo[cp] = esc(disp(cp, true))); }
  /* int8 activations of (quantity, layer), neuron-major, decoded on first use */
  function acts(q, l) {
    var key = q + ':' + l;
    if (!cache[key]) cache[key] = new Int8Array(b64bytes(D.quantities[q].layers[l]).buffer);
    return cache[key];
  }
  var el = function (id) { return document.getElementById(id); };
  var view = el('text'), info = el('info'), selL = el('layer'), selQ = el('qty'), inN = el('neuron'), chkG = el('guesses');
  var st = { q: 0, l: 0, j: 0, guesses: true }, rows = [0], RH = 1, drawn = '', pinned = -1;

  for (var l = 0; l < D.layers; l++) selL.add(new Option(String(l), String(l)));
  D.quantities.forEach(function (q, i) { selQ.add(new Option(q.name, String(i))); });
  inN.max = String(H - 1);
  (location.hash.slice(1).split('&')).forEach(function (kv) {
    var p = kv.split('='), v = parseInt(p[1], 10);
    if (p[0] === 'layer' && v >= 0 && v < D.layers) selL.value = String(v);
    if (p[0] === 'neuron' && v >= 0 && v < H) inN.value = String(v);
    if (p[0] === 'q') D.quantities.forEach(function (q, i) { if (q.key === p[1]) selQ.value = String(i); });
  });

  function readControls() {
    var j = parseInt(inN.value, 10);
    if (!(j >= 0)) j = 0;
    if (j > H - 1) j = H - 1;
    inN.value = String(j);
    st.l = +selL.value; st.q = +selQ.value; st.j = j; st.guesses = chkG.checked;
    document.documentElement.setAttribute('data-view', st.l + ' ' + j + ' ' + D.quantities[st.q].key);
    try { history.replaceState(null, '', '#layer=' + st.l + '&neuron=' + j + '&q=' + D.quantities[st.q].key); } catch (e) { /* file: URLs may refuse */ }
  }

  function layout() {
    var W = Math.max(16, Math.floor((view.clientWidth - 2) / CW)), col = 0;
    rows = [0];
    for (var i = 0; i < n; i++) {
      col++;
      /* a row ends after a newline (blank lines stay on it) or when full */
      if (i + 1 < n && ((D.text[i] === 10 && D.text[i + 1] !== 10) || col >= W)) { rows.push(i + 1); col = 0; }
    }
    RH = st.guesses ? TH + K * GH + PH + GAP : TH + 2;
    view.style.height = rows.length * RH + 'px';
    render(true);
  }

  /* only the rows on screen (and a few around them) exist in the page */
  function render(force) {
    var top = -view.getBoundingClientRect().top, vh = window.innerHeight;
    var r0 = Math.max(0, Math.floor(top / RH) - 3), r1 = Math.min(rows.length, Math.ceil((top + vh) / RH) + 3);
    var key = r0 + ':' + r1;
    if (!force && key === drawn) return;
    drawn = key;
    var a = acts(st.q, st.l), base = st.j * n, h = [], i, v;
    for (var r = r0; r < r1; r++) {
      var s = rows[r], e = r + 1 < rows.length ? rows[r + 1] : n;
      h.push('<div class="row" style="top:' + r * RH + 'px"><div class="t">');
      for (i = s; i < e; i++) {
        v = a[base + i] + 128;
        h.push('<span data-i="' + i + '" style="background:' + pal[v] + ';color:' + ink[v] + '">' + textS[i] + '</span>');
      }
      h.push('</div>');
      if (st.guesses) {
        for (var k = 0; k < K; k++) {
          h.push('<div class="g">');
          for (i = s; i < e; i++) {
            var p = topP[i * K + k], cp = D.top[i * K + k];
            h.push('<span data-i="' + i + '" class="' + (i + 1 < n && cp === D.text[i + 1] ? 'hit' : '') + '" style="background:' +
                   gpal[Math.round(p * 20)] + (p > 0.45 ? ';color:#fff' : '') + '">' + gdisp(cp) + '</span>');
          }
          h.push('</div>');
        }
        h.push('<div class="p">');
        for (i = s; i < e; i++) {
          var pn = pNext[i];
          h.push('<span data-i="' + i + '"><i style="height:' + (pn >= 0 ? Math.max(1, Math.round(pn * PH)) : 0) + 'px"></i></span>');
        }
        h.push('</div>');
      }
      h.push('</div>');
    }
    view.innerHTML = h.join('');
    if (pinned >= 0) mark(pinned);
  }

  function mark(i) {
    view.querySelectorAll('.sel').forEach(function (x) { x.classList.remove('sel'); });
    if (i >= 0) view.querySelectorAll('[data-i="' + i + '"]').forEach(function (x) { x.classList.add('sel'); });
  }

  function show(i) {
    var a = acts(st.q, st.l)[st.j * n + i] / 127, g = [];
    for (var k = 0; k < K; k++) g.push(cpname(D.top[i * K + k]) + ' ' + topP[i * K + k].toFixed(4));
    var next = i + 1 < n ? 'next ' + cpname(D.text[i + 1]) + ' p = ' + pNext[i].toPrecision(3) : 'end of the window';
    info.innerHTML = '<b>char ' + i + '</b> ' + cpname(D.text[i]) + ' &middot; layer ' + st.l + ' neuron ' + st.j + ' ' +
      esc(D.quantities[st.q].name) + ' = <b>' + signed(a) + '</b> &middot; ' + next + ' &middot; guesses: ' + g.join(', ');
  }

  view.addEventListener('mouseover', function (e) {
    var t = e.target.closest('[data-i]');
    if (t && pinned < 0) show(+t.getAttribute('data-i'));
  });
  view.addEventListener('click', function (e) {
    var t = e.target.closest('[data-i]');
    if (!t) return;
    var i = +t.getAttribute('data-i');
    pinned = pinned === i ? -1 : i;
    mark(pinned);
    show(i);
  });
  function changed() { var g = st.guesses; readControls(); if (g !== st.guesses) layout(); else render(true); if (pinned >= 0) show(pinned); }
  [selL, selQ, inN, chkG].forEach(function (c) { c.addEventListener('change', changed); });
  inN.addEventListener('input', changed);
  el('prev').addEventListener('click', function () { inN.value = String(Math.max(0, st.j - 1)); changed(); });
  el('next').addEventListener('click', function () { inN.value = String(Math.min(H - 1, st.j + 1)); changed(); });
  document.addEventListener('keydown', function (e) {
    if (e.target === inN) return;
    if (e.key === ']') el('next').click();
    if (e.key === '[') el('prev').click();
  });
  var pending = false;
  window.addEventListener('scroll', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; render(false); });
  }, { passive: true });
  var resizeTimer = 0;
  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(layout, 100); });

  var root = document.documentElement, bench = location.hash.indexOf('bench') >= 0;
  readControls();
  layout();
  root.setAttribute('data-rows', String(rows.length));
  root.setAttribute('data-ready-ms', performance.now().toFixed(0));
  if (bench) { /* #bench: the mean time of 20 neuron steps and a layer change, for the tests */
    var t0 = performance.now();
    for (var b = 0; b < 20; b++) { inN.value = String((st.j + 1) % H); changed(); }
    selL.value = String(D.layers - 1);
    changed();
    root.setAttribute('data-bench-ms', ((performance.now() - t0) / 21).toFixed(1));
  }
  root.setAttribute('data-ready', '1');
})();
