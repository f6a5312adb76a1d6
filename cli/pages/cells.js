(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var all = D.best.concat(D.top), info = document.getElementById('info');
  function u16(s) {
    var b = b64bytes(s), out = new Uint16Array(b.length >> 1);
    for (var i = 0; i < out.length; i++) out[i] = b[2 * i] | (b[2 * i + 1] << 8);
    return out;
  }
  all.forEach(function (e) { e.a = new Int8Array(b64bytes(e.act).buffer); e.v = u16(e.pv); });
  function bar(r) {
    return '<span class="bar"><i style="width:' + Math.round(Math.abs(r) * 60) + 'px;background:' + (r < 0 ? pal[0] : pal[255]) + '"></i></span>';
  }
  function row(cells) { return '<tr><td>' + cells.join('</td><td>') + '</td></tr>'; }
  var h = ['<tr><th>property</th><th>mean</th><th>layer</th><th>neuron</th><th>r</th><th></th></tr>'];
  D.best.forEach(function (e, k) {
    h.push(row(['<a href="#e' + k + '">' + e.prop + '</a>', e.mean.toPrecision(3), e.layer, e.neuron, signed(e.r), bar(e.r)]));
  });
  document.getElementById('best').innerHTML = h.join('');
  h = ['<tr><th>rank</th><th>layer</th><th>neuron</th><th>property</th><th>r</th><th></th></tr>'];
  D.top.forEach(function (e, k) {
    h.push(row([k + 1, e.layer, e.neuron, '<a href="#e' + (D.best.length + k) + '">' + e.prop + '</a>', signed(e.r), bar(e.r)]));
  });
  document.getElementById('top').innerHTML = h.join('');

  /* one excerpt per neuron: the text coloured by the neuron, the property as a grey underline */
  function excerpt(e, k) {
    var vmax = 0, out = [], i;
    for (i = 0; i < e.len; i++) vmax = Math.max(vmax, e.v[i]);
    for (i = 0; i < e.len; i++) {
      var cp = D.text[e.start + i], a = e.a[i] + 128, u = vmax > 0 ? e.v[i] / vmax : 0;
      out.push('<span data-e="' + k + '" data-i="' + i + '" style="background:' + pal[a] + ';color:' + ink[a] +
               (u > 0 ? ';box-shadow:inset 0 -3px rgba(0,0,0,' + (0.15 + 0.6 * u).toFixed(2) + ')' : '') + '">' +
               esc(disp(cp, false)) + '</span>' + (cp === 10 ? '<br>' : ''));
    }
    return out.join('');
  }
  h = [];
  all.forEach(function (e, k) {
    if (k === 0 && D.best.length) h.push('<h2>Best neuron for each property</h2>');
    if (k === D.best.length) h.push('<h2>Top ' + D.top.length + ' neurons</h2>');
    h.push('<section class="cell" id="e' + k + '"><h3>layer ' + e.layer + ' neuron ' + e.neuron + ' &middot; ' + e.prop +
           ' &middot; r = ' + signed(e.r) + ' <small>(characters ' + e.start + '&ndash;' + (e.start + e.len) + ')</small></h3><div class="ex">' +
           excerpt(e, k) + '</div></section>');
  });
  document.getElementById('gallery').innerHTML = h.join('');
  document.getElementById('gallery').addEventListener('mouseover', function (ev) {
    var t = ev.target.closest('[data-e]');
    if (!t) return;
    var e = all[+t.getAttribute('data-e')], i = +t.getAttribute('data-i');
    info.innerHTML = '<b>char ' + (e.start + i) + '</b> ' + cpname(D.text[e.start + i]) + ' &middot; layer ' + e.layer + ' neuron ' +
      e.neuron + ' ' + esc(D.quantity) + ' = <b>' + signed(e.a[i] / 127) + '</b> &middot; ' + e.prop + ' = ' + e.v[i];
  });
  document.documentElement.setAttribute('data-ready', '1');
})();
