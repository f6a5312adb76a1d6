"use strict";
const $ = (id) => document.getElementById(id);
let abort = null;
function headers() {
  const h = {"Content-Type": "application/json"};
  if ($("key").value) h.Authorization = "Bearer " + $("key").value;
  return h;
}
fetch("/v1/models", {headers: headers()}).then((r) => r.json()).then((j) => {
  const m = j.data[0];
  $("model").textContent = m.id + ": " + m.charrnn.num_layers + " x " + m.charrnn.rnn_size + " " + m.charrnn.cell +
    ", vocabulary " + m.charrnn.vocab_size + ". The model runs on the server; this page streams what it writes.";
}).catch(() => {});
$("viz").onclick = (e) => {
  e.preventDefault();
  const t = $("prime").value + $("out").textContent.slice($("prime").value.length);
  if (t) window.open("/viz?text=" + encodeURIComponent(t.slice(0, 2000)));
};
$("stop").onclick = () => { if (abort) abort.abort(); };
$("go").onclick = async () => {
  const prime = $("prime").value, out = $("out");
  out.textContent = "";
  const p = document.createElement("span");
  p.className = "prime";
  p.textContent = prime;
  out.appendChild(p);
  const gen = document.createTextNode("");
  out.appendChild(gen);
  const body = {prompt: prime, max_tokens: +$("length").value, temperature: +$("temperature").value,
                top_p: +$("top_p").value, stream: true};
  if ($("seed").value !== "") body.seed = +$("seed").value;
  abort = new AbortController();
  $("go").disabled = true; $("stop").disabled = false;
  $("status").textContent = "writing...";
  let n = 0;
  const t0 = performance.now();
  try {
    const r = await fetch("/v1/completions", {method: "POST", headers: headers(), body: JSON.stringify(body),
                                              signal: abort.signal});
    if (!r.ok) { const j = await r.json(); throw new Error(j.error.message); }
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = "", done = false;
    while (!done) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buf += dec.decode(chunk.value, {stream: true});
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!ev.startsWith("data: ")) continue;
        const data = ev.slice(6);
        if (data === "[DONE]") { done = true; break; }
        const j = JSON.parse(data);
        if (j.error) throw new Error(j.error.message);
        gen.appendData(j.choices[0].text);
        n += [...j.choices[0].text].length;
      }
      $("status").textContent = n + " characters, " + (n / ((performance.now() - t0) / 1000)).toFixed(0) + " per second";
    }
    $("status").textContent += " (done)";
    document.documentElement.dataset.done = n;
  } catch (e) {
    $("status").textContent = e.name === "AbortError" ? "stopped" : "error: " + e.message;
    document.documentElement.dataset.error = $("status").textContent;
  }
  $("go").disabled = false; $("stop").disabled = true;
};
/* #type=TEXT&length=N&seed=S: types TEXT into the prime, sets the controls and presses Write (how a
 * headless browser drives the page in tests/test_browser.c); <html data-done=N> when the stream ends. */
(() => {
  const f = new URLSearchParams(location.hash.slice(1));
  if (!f.has("type")) return;
  for (const k of ["length", "seed", "temperature"]) if (f.has(k)) $(k).value = f.get(k);
  const prime = $("prime");
  prime.focus();
  for (const ch of f.get("type")) {
    prime.value += ch;
    prime.dispatchEvent(new InputEvent("input", {data: ch, inputType: "insertText", bubbles: true}));
  }
  $("go").click();
})();
