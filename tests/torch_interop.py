#!/usr/bin/python3
"""charrnn <-> PyTorch interop test (python/charrnn_torch.py).

    /usr/bin/python3 tests/torch_interop.py [path/to/charrnn]      (default ./charrnn)

Self-contained: it writes its own corpus into a temporary directory. Checks:

  a. for lstm, gru and rnn: a model trained by `charrnn train` and loaded with
     charrnn_torch.load has, in PyTorch, the loss `charrnn eval --streams 1`
     prints, within 1e-4 nats, on a held-out text that also holds characters
     outside the vocabulary (both skip them); saving it back gives a file
     charrnn evaluates identically;
  b. a GRU built and trained in PyTorch and exported with charrnn_torch.save
     is described by `charrnn info`, samples 200 characters of its vocabulary
     in `charrnn sample`, has the same loss in `charrnn eval` as in PyTorch, and
     starts `charrnn train --init-from` (at a lower loss than a fresh model);
  c. the byte unit both ways: a charrnn byte model in PyTorch, and a PyTorch
     tanh-RNN exported as a byte model;
  d. damaged or foreign files are refused with ValueError;
  e. load() refuses exactly what `charrnn info` refuses, with the same
     message: a table of doctored checkpoints (one per check of the C loader:
     header length, JSON syntax, duplicate keys, depth, dtype, shape, offsets,
     metadata, format version, checksum, config, options, vocabulary, tensors,
     NaN weights, training state; and files both accept), every name and string
     a message quotes holding control bytes, C1, bidi overrides, zero widths or
     invalid UTF-8, or cut with "..." at each offset of an escape (no message
     holds any of them raw), random edits of the JSON, a config asking for
     133 GB refused under an address-space limit (nothing is allocated from
     it), a FIFO refused without blocking; save() writes nothing charrnn would
     refuse.

Both sides compute the same quantity: the whole text as ONE stream from a zero
state, the characters outside the vocabulary dropped, every remaining character
after the first predicted from all the text before it, the mean of -log p in
nats. charrnn prints it with 4 decimals, so the printed value alone may be
5e-5 off the exact one; the tolerance is 1e-4. charrnn evaluates (and samples,
where two samples are compared) with --precision fp32: PyTorch's float32 is
the reference, and --precision auto would take bf16 products on processors
with AVX512-BF16, 2^-8 per operand, far outside that tolerance.

Prints one line per check and ends with "N passed, N failed"; exit status 0
only if all passed. Without PyTorch (or numpy) it prints a skip line and
"0 passed, 0 failed" and exits 0. CHARRNN_TORCH_KEEP=1 keeps the temporary
directory (its path is printed).
"""

import importlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    line = "%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail else "")
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"), flush=True)  # messages may hold cut UTF-8
    return ok


def run(charrnn, *args, timeout=120):
    p = subprocess.run([charrnn] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


EVAL_RE = re.compile(r": (-?[0-9.]+|nan|inf) nats, (-?[0-9.]+|nan|inf) bpc over (\d+) predicted characters "
                     r"\((\d+) unknown skipped; (\d+) streams?\)\s*$")


def charrnn_eval(charrnn, ckpt, text_file):
    """(nats, predicted, unknown, output line) of `charrnn eval --streams 1`, or None."""
    rc, out, err = run(charrnn, "eval", ckpt, text_file, "--streams", "1", "--threads", "1", "--precision", "fp32")
    m = EVAL_RE.search(out.decode("utf-8", "replace"))
    if rc or not m:
        print("     charrnn eval: rc %d, stdout %r, stderr %r" % (rc, out[-300:], err[-300:]))
        return None
    return float(m.group(1)), int(m.group(3)), int(m.group(4)), m.group(0)[2:].strip()


def first_train_loss(log):
    """The loss of the first iteration in `charrnn train`'s progress (stderr)."""
    m = re.search(r"^1/\d+ .*?train_loss = ([0-9.]+) nats", log, re.M)
    return float(m.group(1)) if m else None


WORDS = ("the of and to in is that it was for on with as his he be at by this had not are but from or have an they "
         "which one you were her all she there would their we him been has when who will more no if out so said "
         "what up its about into than them can only other new some could time these two may then do first any my "
         "now such like our over man me even most made after also did many before must through back years where "
         "naïve café über façade déjà vu — «quoted» ünïcödé").split()


def make_text(seed, n_chars, extra=""):
    rng = random.Random(seed)
    lines, size = [], 0
    while size < n_chars:
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
        if extra and rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(extra))
        line = " ".join(words) + rng.choice([".", ",", ";", "!", "?", ""])
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


def value_error(fn, *args):
    """The message of the ValueError fn(*args) raises, or None if it returns."""
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    return None


def loss_check(ct, charrnn, label, model, ckpt, text_path):
    """PyTorch's loss() against charrnn eval --streams 1 on the same file."""
    with open(text_path, "rb") as f:
        raw = f.read()
    t0 = time.time()
    mine = ct.loss(model, raw)
    t_torch = time.time() - t0
    ids = ct.encode(raw, model.vocab, model.unit)
    total = len(raw) if model.unit == "byte" else len(raw.decode("utf-8"))
    r = charrnn_eval(charrnn, ckpt, text_path)
    if r is None:
        return check("%s: charrnn eval runs" % label, False)
    nats, predicted, unknown, _ = r
    diff = abs(mine - nats)
    check("%s: PyTorch loss equals charrnn eval --streams 1" % label, diff <= TOL and math.isfinite(mine),
          "torch %.7f, charrnn %.4f, |diff| %.1e (tolerance %g; %d predicted, %d unknown skipped; torch %.2f s)"
          % (mine, nats, diff, TOL, predicted, unknown, t_torch))
    check("%s: same characters predicted and skipped" % label,
          predicted == len(ids) - 1 and unknown == total - len(ids) and unknown > 0,
          "charrnn %d predicted / %d skipped, PyTorch %d / %d" % (predicted, unknown, len(ids) - 1, total - len(ids)))
    return mine


def round_trip(ct, torch, charrnn, label, model, ckpt, text_path, tmp):
    """save(load(ckpt)) holds the same weights and evaluates identically in charrnn."""
    again = os.path.join(tmp, label.replace(" ", "_") + "_resaved.safetensors")
    ct.save(again, model.rnn, model.decoder, model.vocab, model.unit)
    m2 = ct.load(again)
    same = m2.vocab == model.vocab and m2.unit == model.unit and type(m2.rnn) is type(model.rnn)
    sd1, sd2 = model.rnn.state_dict(), m2.rnn.state_dict()
    same = same and sd1.keys() == sd2.keys() and all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    same = same and torch.equal(model.decoder.weight, m2.decoder.weight) and torch.equal(model.decoder.bias, m2.decoder.bias)
    a, b = charrnn_eval(charrnn, ckpt, text_path), charrnn_eval(charrnn, again, text_path)
    check("%s: save(load()) round trip keeps weights, vocabulary and charrnn's loss" % label,
          same and a is not None and b is not None and a[3] == b[3], "%s" % (b[3] if b else "eval failed"))
    return again


def train_torch(torch, ct, cell, vocab, unit, corpus, layers, size, steps, dropout=0.0, seed=0):
    """A model built and trained in PyTorch: one-hot input, sequence-first, Adam."""
    torch.manual_seed(seed)
    V = len(vocab)
    cls = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}[cell]
    rnn = cls(V, size, layers, dropout=dropout)
    decoder = torch.nn.Linear(size, V)
    data = torch.tensor(ct.encode(corpus, vocab, unit), dtype=torch.long)
    params = list(rnn.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    B, T, losses = 16, 48, []
    gen = torch.Generator().manual_seed(seed)
    rnn.train()
    for _ in range(steps):
        starts = torch.randint(0, len(data) - T - 1, (B,), generator=gen)
        x = torch.stack([data[s:s + T] for s in starts], 1)  # (T, B)
        y = torch.stack([data[s + 1:s + T + 1] for s in starts], 1)
        out, _ = rnn(torch.nn.functional.one_hot(x, V).float())
        loss = torch.nn.functional.cross_entropy(decoder(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        losses.append(float(loss))
    rnn.eval()
    return rnn, decoder, losses



# ---- e. load() refuses exactly what charrnn refuses ------------------------------------------

class Raw(str):
    """A metadata value written as this JSON text, not as a string."""


def read_parts(path):
    """(metadata [[key, value]], tensors [[name, dtype, shape, bytes]] in data order;
    name, dtype and shape as JSON texts) of a checkpoint, to be doctored and rebuilt."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = [list(kv) for kv in header.pop("__metadata__").items()]
    data = raw[8 + n:]
    tensors = [[json.dumps(k), json.dumps(v["dtype"]), json.dumps(v["shape"]), data[v["data_offsets"][0]:v["data_offsets"][1]]]
               for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])]
    return meta, tensors


def build(ct, base, meta=None, tensors=None, offsets=None, header=None, raw=None, rechecksum=True, metadata=None,
          listing=None):
    """The bytes of a doctored copy of base, as anyone can make one: meta {key:
    new value, a function of the old one, or None to drop it}; tensors: a
    function of the tensor list; offsets {name JSON: data_offsets JSON};
    header: a function of the header text; raw: a function of the file's bytes;
    metadata: the JSON text of "__metadata__" instead of the object; listing: a
    function of the header's tensor entries (their order). The checksum is recomputed (it is not a signature) unless rechecksum is False."""
    m = [list(kv) for kv in base[0]]
    for k, v in (meta or {}).items():
        old = [kv for kv in m if kv[0] == k]
        if v is None:
            m = [kv for kv in m if kv[0] != k]
        elif old:
            old[0][1] = v(old[0][1]) if callable(v) else v
        else:
            m.insert(len(m) - 1, [k, v])
    ts = [list(t) for t in base[1]]
    ts = tensors(ts) if tensors else ts
    data = b"".join(t[3] for t in ts)
    if rechecksum:
        h = ct.FNV_OFFSET
        for k in ct.CHECKSUMMED:
            vals = [v for kk, v in m if kk == k and not isinstance(v, Raw)]
            if vals:
                h = ct.fnv1a64(vals[0].encode("utf-8"), h)
        for kv in m:
            if kv[0] == "checksum":
                kv[1] = "fnv1a64:%016x" % ct.fnv1a64(data, h)
    parts, off = ['"__metadata__":%s' % (metadata or "{%s}" % ",".join(
        "%s:%s" % (json.dumps(k), v if isinstance(v, Raw) else json.dumps(v)) for k, v in m))], 0
    entries = []
    for name, dt, shape, b in ts:
        o = (offsets or {}).get(name, "[%d,%d]" % (off, off + len(b)))
        entries.append('%s:{"dtype":%s,"shape":%s,"data_offsets":%s}' % (name, dt, shape, o))
        off += len(b)
    text = "{" + ",".join(parts + (listing(entries) if listing else entries)) + "}"
    text = header(text) if header else text
    hb = text.encode("utf-8", "surrogatepass")
    hb += b" " * (-len(hb) % 8)
    out = len(hb).to_bytes(8, "little") + hb + data
    return raw(out) if raw else out


def jset(field, raw):
    """A function of a JSON object text: field's value replaced by the JSON text
    raw (added if absent; None: removed)."""
    def edit(text):
        obj, out = json.loads(text), []
        for k, v in obj.items():
            if k != field:
                out.append((k, json.dumps(v)))
            elif raw is not None:
                out.append((k, raw))
        if field not in obj and raw is not None:
            out.append((field, raw))
        return "{" + ",".join("%s:%s" % (json.dumps(k), v) for k, v in out) + "}"
    return edit


def retensor(name, **changes):
    """A function of the tensor list: the tensor named name (JSON text) with
    dtype / shape (JSON texts), data (bytes) or name changed."""
    def edit(ts):
        for t in ts:
            if t[0] == name:
                t[0] = changes.get("rename", t[0])
                t[1] = changes.get("dtype", t[1])
                t[2] = changes.get("shape", t[2])
                t[3] = changes["data"](t[3]) if "data" in changes else t[3]
        return ts
    return edit


def c_refusal(charrnn, path):
    """(accepted, message) of `charrnn info path`: its error line without the prefix
    (bytes that are not UTF-8 kept as Python keeps them)."""
    p = subprocess.run([charrnn, "info", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    rc, err = p.returncode, p.stderr.decode("utf-8", "surrogateescape")
    lines = [l for l in err.split("\n") if l.startswith("charrnn: error: ")]  # not splitlines: U+0085 and U+2028 end no line
    return rc == 0, (lines[-1][len("charrnn: error: "):] if lines else err.strip())


def py_refusal(ct, path):
    try:
        ct.load(path)
        return True, ""
    except ValueError as e:
        return False, str(e)
    except Exception as e:  # any other exception is a failure of load(), reported as a differing message
        return False, "%s: %s" % (type(e).__name__, e)


def same_core(c_msg, py_msg):
    """The messages agree but for the program that reads: charrnn names its version."""
    return re.sub(r"this charrnn \([^)]*\)", "this charrnn_torch", c_msg) == py_msg


def compare(ct, charrnn, path):
    """'' if charrnn and load() both accept path, or both refuse it with the same
    message; else what differs."""
    (ca, cm), (pa, pm) = c_refusal(charrnn, path), py_refusal(ct, path)
    if ca and pa:
        return ""
    if ca != pa:
        return "charrnn %s, load() %s: %s" % ("accepts" if ca else "refuses", "accepts" if pa else "refuses", cm or pm)
    return "" if same_core(cm, pm) else "messages differ:\n       charrnn: %s\n       load():  %s" % (cm, pm)


def refusal_cases(base, V):
    """(label, whether charrnn takes it, build() arguments) for every check of the
    C loader (src/base/safetensors.c, src/base/json.c, src/run/checkpoint.c, src/nn/defaults.c)."""
    meta = dict(base[0])
    vocab = json.loads(meta["vocab"])
    cfg, opt, state = (lambda f, raw: {"config": jset(f, raw)}), (lambda f, raw: {"train_options": jset(f, raw)}), \
        (lambda f, raw: {"train_state": jset(f, raw)})
    vset = lambda v: {"vocab": json.dumps(v)}
    deep = "[" * 100000 + "]" * 100000
    nan32 = lambda b: b[:4] + bytes.fromhex("0000c07f") + b[8:]
    inf32 = lambda b: bytes.fromhex("0000807f") + b[4:]
    w_ih, dec_b, hist = '"weight_ih_l0"', '"decoder.bias"', '"history.train_loss"'
    it = json.loads(meta["train_state"])["iteration"]
    D = sum(len(t[3]) for t in base[1])
    return [
        # accepted, as charrnn accepts them
        ("the checkpoint as written", True, {}),
        ("vocabulary entries written as %d.0 and %de0" % (vocab[0], vocab[1]), True,
         {"vocab": "[%d.0,%de0,%s]" % (vocab[0], vocab[1], ",".join(map(str, vocab[2:])))}),
        ("rnn_size 8.0, num_layers 1e0", True, {"config": lambda t: jset("num_layers", "1e0")(jset("rnn_size", "8.0")(t))}),
        ("format_version \" +1\" (strtol reads it)", True, {"format_version": " +1"}),
        ("dropout 0.5 in a 1-layer model", True, cfg("dropout", "0.5")),
        ("a byte model of codes 0..V-1", True, {"config": jset("unit", '"byte"'), "vocab": json.dumps(list(range(V)))}),
        ("val_history with a null loss, train_loss null", True,
         {"train_state": lambda t: jset("train_loss", "null")(jset("val_history", "[[0,null]]")(t))}),
        ("skip_nonfinite and val_max_chars absent", True,
         {"train_options": lambda t: jset("val_max_chars", None)(jset("skip_nonfinite", None)(t))}),
        ("unknown metadata charrnn does not parse (deep, 1e400, duplicate keys)", True,
         {"note": deep, "note2": "1e400", "note3": '{"a":1,"a":2}'}),
        ("NaN in the carried state and the optimizer moments (not weights)", True,
         dict(tensors=lambda ts: retensor('"state.h"', data=nan32)(retensor('"optim.m1"', data=inf32)(ts)))),
        ("tensors listed out of data order, whitespace in the header", True,
         dict(listing=lambda e: e[::-1], header=lambda t: t.replace('":{"', '" :\n\t{ "'))),
        ("a zero-size extra tensor and an I64 one", True,
         dict(tensors=lambda ts: ts + [['"extra.empty"', '"U8"', "[0,7]", b""], ['"extra.i64"', '"I64"', "[2]", bytes(16)]])),
        # vocabulary
        ("vocabulary entry -1", False, vset([-1] + vocab[1:])),
        ("vocabulary entry 0x110000", False, vset(vocab[:-1] + [0x110000])),
        ("vocabulary entry 0xD800 (a surrogate)", False, vset(vocab[:-1] + [0xD800])),
        ("byte vocabulary entry 256", False, {"config": jset("unit", '"byte"'), "vocab": json.dumps(list(range(V - 1)) + [256])}),
        ("vocabulary entry 1.5", False, {"vocab": "[1.5,%s]" % ",".join(map(str, vocab[1:]))}),
        ("vocabulary entry true", False, {"vocab": "[true,%s]" % ",".join(map(str, vocab[1:]))}),
        ("vocabulary entry \"a\"", False, {"vocab": "[\"a\",%s]" % ",".join(map(str, vocab[1:]))}),
        ("vocabulary not ascending", False, vset([vocab[1], vocab[0]] + vocab[2:])),
        ("vocabulary one entry short", False, vset(vocab[:-1])),
        ("vocabulary not an array", False, {"vocab": "{}"}),
        ("vocabulary entry 1e400", False, {"vocab": "[1e400,%s]" % ",".join(map(str, vocab[1:]))}),
        ("vocabulary missing", False, {"vocab": None}),
        # config
        ("num_layers 1.5", False, cfg("num_layers", "1.5")),
        ("num_layers 17", False, cfg("num_layers", "17")),
        ("rnn_size \"8\"", False, cfg("rnn_size", '"8"')),
        ("rnn_size 0", False, cfg("rnn_size", "0")),
        ("rnn_size 16385", False, cfg("rnn_size", "16385")),
        ("rnn_size 1e400", False, cfg("rnn_size", "1e400")),
        ("vocab_size 9007199254740993", False, cfg("vocab_size", "9007199254740993")),
        ("vocab_size 0x110001", False, cfg("vocab_size", str(0x110001))),
        ("vocab_size 300 in a byte model", False, {"config": lambda t: jset("unit", '"byte"')(jset("vocab_size", "300")(t))}),
        ("dropout NaN", False, cfg("dropout", "NaN")),
        ("dropout 1", False, cfg("dropout", "1")),
        ("dropout 0.99999999999 (1 as a float)", False, cfg("dropout", "0.99999999999")),
        ("dropout -0.1", False, cfg("dropout", "-0.1")),
        ("dropout null", False, cfg("dropout", "null")),
        ("dropout missing", False, cfg("dropout", None)),
        ("model \"LSTM\"", False, cfg("model", '"LSTM"')),
        ("model \"lstm\\u0000x\" (C would read \"lstm\")", False, cfg("model", '"lstm\\u0000x"')),
        ("model \"\\ud800\" (a lone surrogate)", False, cfg("model", '"\\ud800"')),
        ("unit \"bytes\"", False, cfg("unit", '"bytes"')),
        ("config an array", False, {"config": "[]"}),
        ("config with \"model\" twice", False, {"config": lambda t: t[:-1] + ',"model":"gru"}'}),
        ("config nested 100000 deep", False, {"config": deep}),
        ("an unknown config field nested 64 deep, another 1e-400", True,
         {"config": lambda t: jset("y", "1e-400")(jset("x", "[" * 63 + "]" * 63)(t))}),
        ("config nested 65 deep", False, {"config": '{"x":' + "[" * 64 + "]" * 64 + "}"}),
        ("config not JSON", False, {"config": "{model: lstm}"}),
        ("config missing", False, {"config": None}),
        # training options (read_options, check_run_settings)
        ("batch_size 0", False, opt("batch_size", "0")),
        ("batch_size 1e6", False, opt("batch_size", "1e6")),
        ("seq_length 2.5", False, opt("seq_length", "2.5")),
        ("max_iters -1", False, opt("max_iters", "-1")),
        ("eval_val_every 0", False, opt("eval_val_every", "0")),
        ("train_frac 0", False, opt("train_frac", "0")),
        ("train_frac 1.5", False, opt("train_frac", "1.5")),
        ("val_frac 1", False, opt("val_frac", "1")),
        ("train_frac + val_frac 1.2", False, {"train_options": lambda t: jset("val_frac", "0.3")(jset("train_frac", "0.9")(t))}),
        ("learning_rate -1", False, opt("learning_rate", "-1")),
        ("learning_rate missing", False, opt("learning_rate", None)),
        ("decay_rate 1", False, opt("decay_rate", "1")),
        ("beta1 1", False, opt("beta1", "1")),
        ("beta2 -0.5", False, opt("beta2", "-0.5")),
        ("learning_rate_decay 0", False, opt("learning_rate_decay", "0")),
        ("learning_rate_decay_after 1e9", False, opt("learning_rate_decay_after", "1e9")),
        ("grad_clip 1e30", False, opt("grad_clip", "1e30")),
        ("max_epochs 0", False, opt("max_epochs", "0")),
        ("max_epochs \"50\"", False, opt("max_epochs", '"50"')),
        ("skip_nonfinite null", False, opt("skip_nonfinite", "null")),
        ("val_max_chars 1e13", False, opt("val_max_chars", "1e13")),
        ("optim \"adamw\"", False, opt("optim", '"adamw"')),
        ("clip_mode \"none\"", False, opt("clip_mode", '"none"')),
        ("unit 1", False, opt("unit", "1")),
        ("seed \"abc\"", False, opt("seed", '"abc"')),
        ("seed \"\"", False, opt("seed", '""')),
        ("seed 2^64", False, opt("seed", '"18446744073709551616"')),
        ("seed 123 as a number", False, opt("seed", "123")),
        ("lr_schedule \"linear\"", False, opt("lr_schedule", '"linear"')),
        ("warmup_iters 1.5", False, opt("warmup_iters", "1.5")),
        ("min_lr above learning_rate", False, opt("min_lr", "1")),
        ("weight_decay -1", False, opt("weight_decay", "-1")),
        ("lr_schedule cosine, warmup, weight decay", True, opt("lr_schedule", '"cosine"')),
        ("train_options missing", False, {"train_options": None}),
        # training state
        ("iteration %d with %d losses" % (it + 1, it), False, state("iteration", str(it + 1))),
        ("iteration 1.5", False, state("iteration", "1.5")),
        ("epoch -1", False, state("epoch", "-1")),
        ("epoch 1e18", False, state("epoch", "1e18")),
        ("learning_rate 0 (where a cosine schedule ends)", True, state("learning_rate", "0")),
        ("learning_rate -1", False, state("learning_rate", "-1")),
        ("val_history beyond the iteration", False, state("val_history", "[[%d,1.0]]" % (it + 1))),
        ("val_history loss \"x\"", False, state("val_history", '[[0,"x"]]')),
        ("val_history entry [1]", False, state("val_history", "[[1]]")),
        ("val_history null", False, state("val_history", "null")),
        ("train_state missing", False, {"train_state": None}),
        # metadata, format, checksum
        ("no format", False, {"format": None}),
        ("format \"other\"", False, {"format": "other"}),
        ("format_version \"2\" (newer)", False, {"format_version": "2"}),
        ("format_version \"0\"", False, {"format_version": "0"}),
        ("format_version \"1 \"", False, {"format_version": "1 "}),
        ("format_version 99999999999999999999999", False, {"format_version": "9" * 23}),
        ("format_version missing", False, {"format_version": None}),
        ("no checksum", False, {"checksum": None}),
        ("checksum not recomputed after an edit", False, dict(rechecksum=False, **{"config": cfg("dropout", "0.25")["config"]})),
        ("metadata value a number", False, {"note": Raw("1")}),
        ("metadata value with \\u0000", False, {"note": "a\0b"}),
        ("metadata key \"format\" twice", False, dict(header=lambda t: t.replace('"__metadata__":{', '"__metadata__":{"format":"x",'))),
        ("__metadata__ twice", False, dict(header=lambda t: t[:-1] + ',"__metadata__":{}}')),
        ("__metadata__ an array", False, dict(metadata="[]")),
        # the header (check_header_len, parse_file)
        ("an empty file", False, dict(raw=lambda b: b"")),
        ("a 5-byte file", False, dict(raw=lambda b: b[:5])),
        ("header length beyond the file", False, dict(raw=lambda b: (len(b)).to_bytes(8, "little") + b[8:])),
        ("header length 1", False, dict(raw=lambda b: (1).to_bytes(8, "little") + b[8:])),
        ("header starting with a space", False, dict(header=lambda t: " " + t)),
        ("header not JSON (cut short)", False, dict(header=lambda t: t[:len(t) // 2])),
        ("header with junk after the object", False, dict(header=lambda t: t + " x")),
        ("header with an invalid UTF-8 byte in a key", False,
         dict(raw=lambda b: b.replace(b'"decoder.bias"', b'"decoder\xffbias"'))),
        ("header with a control character in a string", False, dict(raw=lambda b: b.replace(b'"decoder.bias"', b'"decoder\x01bias"'))),
        ("header nested 70 deep", False, dict(header=lambda t: t[:-1] + ',"x":' + "[" * 70 + "]" * 70 + "}")),
        ("header with a lone surrogate key", False, dict(header=lambda t: t.replace('"decoder.bias"', '"\\udc00"'))),
        ("a tensor listed twice", False, dict(header=lambda t: t[:-1] + "," + re.search(r'"decoder\.bias":\{[^}]*\}', t).group(0) + "}")),
        ("tensor names equal up to \\u0000", False,
         dict(tensors=lambda ts: ts + [['"x\\u0000a"', '"U8"', "[1]", b"\0"], ['"x\\u0000b"', '"U8"', "[1]", b"\0"]])),
        ("a tensor with an empty name", False, dict(tensors=lambda ts: ts + [['""', '"U8"', "[1]", b"\0"]])),
        ("a tensor entry that is a number", False, dict(header=lambda t: t[:-1] + ',"x":3}')),
        ("dtype F16", False, dict(tensors=retensor(dec_b, dtype='"F16"'))),
        ("dtype 3", False, dict(tensors=retensor(dec_b, dtype="3"))),
        ("dtype \"F32\\u0000\"", False, dict(tensors=retensor(dec_b, dtype='"F32\\u0000"'))),
        ("no dtype", False, dict(header=lambda t: t.replace('"decoder.bias":{"dtype":"F32",', '"decoder.bias":{'))),
        ("shape [-1]", False, dict(tensors=retensor(dec_b, shape="[-1]"))),
        ("shape [1.5]", False, dict(tensors=retensor(dec_b, shape="[1.5]"))),
        ("shape of 5 dimensions", False, dict(tensors=retensor(dec_b, shape="[1,1,1,1,%d]" % V))),
        ("shape 7 (not an array)", False, dict(tensors=retensor(dec_b, shape="7"))),
        ("shape whose size overflows 64 bits", False, dict(tensors=retensor(dec_b, dtype='"I64"', shape="[4294967296,4294967296,4294967296,1]"))),
        ("shape [1e400]", False, dict(tensors=retensor(dec_b, shape="[1e400]"))),
        ("data_offsets [0]", False, dict(offsets={dec_b: "[0]"})),
        ("data_offsets [-4, 0]", False, dict(offsets={dec_b: "[-4,0]"})),
        ("data_offsets end before begin", False, dict(tensors=retensor(dec_b, shape="[0]", data=lambda b: b""), offsets={dec_b: "[8,4]"})),
        ("data_offsets beyond the data", False, dict(offsets={hist: "[100000000,100000016]"})),
        ("data_offsets that do not fit the shape", False, dict(tensors=retensor(dec_b, shape="[%d]" % (V - 1)))),
        ("overlapping tensors", False, dict(offsets={dec_b: "[0,%d]" % (4 * V)})),
        ("a gap in the data", False, dict(offsets={hist: "[%d,%d]" % (D - 4 * it + 4, D + 4)}, raw=lambda b: b + bytes(4))),
        ("trailing bytes after the last tensor", False, dict(raw=lambda b: b + b"\0\0\0\0")),
        ("the file cut short", False, dict(raw=lambda b: b[:-4])),
        ("a 1000-character tensor name with an unknown dtype (message cut as C cuts it)", False,
         dict(tensors=lambda ts: ts + [['"%s"' % ("é" * 1000), '"F16"', "[0]", b""]])),
        # tensors against the config (checkpoint_load)
        ("weights for 16 x 16384 in a tiny file", False, {"config": lambda t: jset("num_layers", "16")(jset("rnn_size", "16384")(t))}),
        ("decoder.bias missing", False, dict(tensors=retensor(dec_b, rename='"decoder.bias2"'))),
        ("weight_ih_l0 transposed", False, dict(tensors=retensor(w_ih, shape="[%d,32]" % V))),
        ("decoder.bias as I32", False, dict(tensors=retensor(dec_b, dtype='"I32"'))),
        ("history.train_loss as F64", False, dict(tensors=retensor(hist, dtype='"F64"', shape="[%d]" % (it // 2)))),
        ("a NaN weight", False, dict(tensors=retensor(w_ih, data=nan32))),
        ("an infinite weight", False, dict(tensors=retensor(dec_b, data=inf32))),
    ]


# What a terminal would not show as itself, or that reorders or hides the text
# around it: no message may hold it raw.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
                    "\U000e0000-\U000e007f]")
NASTY = "a\x1b[31m\\\n\t\r\x01\x7f\u009b\u0085\u202e\u200b\u00ad\u2066\U000E0041\ufeff\u2028\u00e9\u4e2d\U0001F600\"b"


def escape_cases(base, V):
    """(label, False, build() arguments) for every place a message quotes the
    file (src/base/safetensors.c's Q1 and Q2, format_version and checksum in
    src/run/checkpoint.c, a duplicate key in src/base/json.c): strings holding control
    bytes, DEL, C1, bidi overrides and isolates, zero widths, tags and
    backslashes, written as JSON escapes; invalid UTF-8 (refused by the JSON
    reader, which names the byte); and long strings cut with "..." at every
    offset of the escape or character the buffer ends in."""
    D = sum(len(t[3]) for t in base[1])
    dec_b = '"decoder.bias"'

    def extra(name, dtype='"U8"', shape="[1]", data=b"\0"):
        return lambda ts: ts + [[json.dumps(name), dtype, shape, data]]

    def bad_utf8(seq):
        """The file's first ZZZZZZZZ (a marker in a string) with the bytes seq written over it."""
        return lambda b: b.replace(b"ZZZZZZZZ", seq + b"Z" * (8 - len(seq)), 1)

    def tensor_sites(name):
        n = json.dumps(name)
        return [
            ("has dtype \"F16\"", dict(tensors=extra(name, '"F16"', "[0]", b""))),
            ("is a number", dict(header=lambda t: t[:-1] + ",%s:3}" % n)),
            ("has dtype 3", dict(tensors=extra(name, dtype="3"))),
            ("has shape 7", dict(tensors=extra(name, shape="7"))),
            ("has 5 dimensions", dict(tensors=extra(name, shape="[1,1,1,1,1]"))),
            ("has shape [-1]", dict(tensors=extra(name, shape="[-1]"))),
            ("has a shape that overflows", dict(tensors=extra(name, '"I64"', "[4294967296,4294967296,4294967296,1]", b""))),
            ("has data_offsets [0]", dict(tensors=extra(name), offsets={n: "[0]"})),
            ("ends before it begins", dict(tensors=extra(name, shape="[0]", data=b""), offsets={n: "[8,4]"})),
            ("ends beyond the data", dict(tensors=extra(name), offsets={n: "[%d,%d]" % (D + 100, D + 101)})),
            ("has data_offsets that do not fit its shape", dict(tensors=extra(name, shape="[2]"))),
            ("overlaps another", dict(tensors=extra(name), offsets={n: "[1,2]"})),
            ("follows a gap", dict(tensors=extra(name, data=b"\0\0"), offsets={n: "[%d,%d]" % (D + 1, D + 2)})),
            ("is listed twice", dict(tensors=lambda ts: extra(name)(extra(name)(ts)))),
        ]

    def meta_sites(key):
        k = json.dumps(key)
        return [
            ("holds a number", {key: Raw("1")}),
            ("holds \\u0000", {key: "a\0b"}),
            ("is there twice", dict(header=lambda t: t.replace('"__metadata__":{', '"__metadata__":{%s:"x",%s:"y",' % (k, k)))),
            ("is twice in the config", {"config": lambda t: t[:-1] + ",%s:1,%s:2}" % (k, k)}),
        ]

    cases = []
    for what, s in (("escapes", NASTY), ("50 times as many escapes (cut)", NASTY * 50)):
        cases += [("a tensor name with %s %s" % (what, site), False, kw) for site, kw in tensor_sites(s)]
        cases += [("a metadata key with %s %s" % (what, site), False, kw) for site, kw in meta_sites(s)]
        cases += [("a dtype with %s" % what, False, dict(tensors=retensor(dec_b, dtype=json.dumps("F" + s)))),
                  ("a format_version with %s" % what, False, {"format_version": "1" + s}),
                  ("a checksum with %s" % what, False, dict(rechecksum=False, checksum="fnv1a64:" + s))]
    # the cut at every offset of an escape (\u{202E}: 8 bytes, \x01: 4, a 4-byte character) and at
    # the exact capacity: C's buffers hold 159 bytes for a name or key, 63 for a dtype, 99 for
    # format_version and checksum, with room kept for the "..."
    for j in range(9):
        for body, size in (("\u202e" * 40, 8), ("\x01" * 60, 4), ("\U0001F600" * 60, 4)):
            if j < size:
                name = "x" * j + body
                cases += [("a tensor name of %d x + %d x U+%04X (cut)" % (j, len(body), ord(body[0])), False,
                           dict(tensors=extra(name, '"F16"', "[0]", b""))),
                          ("a duplicate metadata key of %d x + %d x U+%04X (cut)" % (j, len(body), ord(body[0])), False,
                           meta_sites(name)[2][1])]
        cases += [("a dtype of %d x F + 20 x U+200B (cut)" % j, False, dict(tensors=retensor(dec_b, dtype=json.dumps("F" * j + "\u200b" * 20)))),
                  ("a format_version of 1, %d x, 20 x U+202E (cut)" % j, False, {"format_version": "1" + "x" * j + "\u202e" * 20}),
                  ("a checksum of %d x + 20 x U+2066 (cut)" % j, False, dict(rechecksum=False, checksum="x" * j + "\u2066" * 20)),
                  ("a metadata key of %d x + 90 x \\n holding a number (cut)" % j, False, {"x" * j + "\n" * 90: Raw("1")})]
    for n in (156, 157, 158, 159, 160, 161):
        cases.append(("a tensor name of %d bytes" % n, False, dict(tensors=extra("n" * n, '"F16"', "[0]", b""))))
    for n in (60, 61, 62, 63, 64, 65):
        cases.append(("a dtype of %d bytes" % n, False, dict(tensors=retensor(dec_b, dtype=json.dumps("F" * n)))))
    for n in (96, 97, 98, 99, 100, 101):
        cases += [("a format_version of %d bytes" % n, False, {"format_version": "1" + "x" * (n - 1)}),
                  ("a checksum of %d bytes" % n, False, dict(rechecksum=False, checksum="f" * n))]
    # invalid UTF-8 (a stray continuation byte, 0xFF, an overlong NUL, backslash and newline, a
    # surrogate, beyond U+10FFFF, a sequence cut short) in a name, a key, a dtype, format_version and
    # checksum: the JSON reader refuses the header and names the byte, on both sides
    for seq in (b"\x80", b"\xff", b"\xc0\x80", b"\xe0\x81\x9c", b"\xe0\x80\x8a", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                b"\xe2\x80"):
        for where, kw in (("a tensor name", dict(tensors=extra("tZZZZZZZZ", '"F16"', "[0]", b""))),
                          ("a metadata key", {"kZZZZZZZZ": "v"}),
                          ("a dtype", dict(tensors=retensor(dec_b, dtype='"FZZZZZZZZ"'))),
                          ("format_version", {"format_version": "1ZZZZZZZZ"}),
                          ("a checksum", dict(rechecksum=False, checksum="fnv1a64:ZZZZZZZZ"))):
            cases.append(("invalid UTF-8 %s in %s" % (seq.hex(), where), False, dict(kw, raw=bad_utf8(seq))))
    return cases


def refusals(ct, charrnn, tmp, corpus_path):
    cv = os.path.join(tmp, "cv_tiny")
    rc, out, err = run(charrnn, "train", corpus_path, "--model", "lstm", "--num-layers", 1, "--rnn-size", 8, "--max-iters", 4,
                       "--batch-size", 4, "--seq-length", 8, "--eval-val-every", 2, "--print-every", 100, "--threads", 1,
                       "--precision", "fp32", "--checkpoint-dir", cv)
    ckpt = os.path.join(cv, "latest.safetensors")
    if not check("refusals: a tiny checkpoint to doctor (charrnn train, 1 x 8, 4 iterations)", rc == 0 and os.path.exists(ckpt),
                 err[-300:]):
        return
    base = read_parts(ckpt)
    V = json.loads(dict(base[0])["config"])["vocab_size"]
    for i, (label, accepted, kw) in enumerate(refusal_cases(base, V) + escape_cases(base, V)):
        kw = dict(kw)
        args = {k: kw.pop(k) for k in ("tensors", "offsets", "header", "raw", "rechecksum", "metadata", "listing") if k in kw}
        path = os.path.join(tmp, "doctored_%03d.safetensors" % i)
        with open(path, "wb") as f:
            f.write(build(ct, base, meta=kw, **args))
        ca = c_refusal(charrnn, path)
        diff = compare(ct, charrnn, path)
        raw = UNSAFE.search(ca[1])
        check("refusals: %s: %s" % (label, "both accept" if accepted else "both refuse, same message"),
              not diff and ca[0] == accepted and not raw,
              diff or ("U+%04X raw in: " % ord(raw.group(0)) if raw else "") + ca[1].replace(path, "FILE")[:120])

    # what is not a checkpoint file at all: a directory; a header length over
    # the 100 MB limit (a sparse file: neither side reads past the 8 bytes)
    big = os.path.join(tmp, "big_header.safetensors")
    with open(big, "wb") as f:
        f.write((100000001).to_bytes(8, "little") + b"{")
        f.truncate(100000016)
    for label, path in (("a directory", tmp), ("a header length over the 100 MB limit", big)):
        diff = compare(ct, charrnn, path)
        check("refusals: %s: both refuse, same message" % label, not diff and not c_refusal(charrnn, path)[0],
              diff or c_refusal(charrnn, path)[1].replace(path, "FILE"))
    os.unlink(big)

    # JSON as C reads it: random edits of the config's JSON text (checksum
    # recomputed) and of the header's bytes; charrnn and load() must agree on
    # every one, message included
    rng = random.Random(17)
    cfg_text = dict(base[0])["config"]
    alphabet = '{}[]",:\\ 0123456789.eE+-tfnulraxN\u00e9\x00\x1f\u2028'
    def mutate(text):
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text) + 1)
            op = rng.random()
            if op < 0.4:
                text = text[:i] + rng.choice(alphabet) + text[i:]
            elif op < 0.7:
                text = text[:i] + text[i + 1:]
            elif op < 0.85:
                j = rng.randrange(len(text) + 1)
                text = text[:i] + text[min(i, j):max(i, j)] + text[i:]
            else:
                text = text[:i] + rng.choice(['\\u', '\\ud800', '\\udc00\\ud800', '1e999', '-0', '01', '[' * 70,
                                               '"model":"gru",', 'true', 'nul', '"\\u0000":1,']) + text[i:]
        return text
    bad, agreed, refused = [], 0, 0
    path = os.path.join(tmp, "fuzzed.safetensors")
    good = build(ct, base)
    for i in range(240):
        if i % 2:
            blob = build(ct, base, meta={"config": mutate(cfg_text)})
        else:
            hl = int.from_bytes(good[:8], "little")
            head = bytearray(good[8:8 + hl])
            for _ in range(rng.randint(1, 2)):
                k = rng.randrange(len(head))
                head[k] = rng.choice(b'{}[]",:\\ 019.e-tu\x00\x01\x7f\x80\xc3\xed\xf4\xff')
            blob = good[:8] + bytes(head) + good[8 + hl:]
        with open(path, "wb") as f:
            f.write(blob)
        diff = compare(ct, charrnn, path)
        if diff:
            bad.append("edit %d: %s" % (i, diff))
        else:
            agreed += 1
            refused += not c_refusal(charrnn, path)[0]
    check("refusals: 240 random edits of the config JSON and of the header bytes: charrnn and load() agree",
          not bad and refused > 150, "%d agree (%d refused by both)%s" % (agreed, refused, "; " + "; ".join(bad[:3]) if bad else ""))

    # a config that asks for 133 GB of weights in a 16 KB file is refused from
    # the file's own size, before anything is allocated: under an address-space
    # limit of what the process already has plus 200 MB, the same load() that
    # reads the real checkpoint refuses the doctored one with the size message
    huge = os.path.join(tmp, "huge_config.safetensors")
    with open(huge, "wb") as f:
        f.write(build(ct, base, meta={"config": jset("num_layers", "16")(jset("rnn_size", "16384")(cfg_text))}))
    probe = ("import os, resource, sys\n"
             "sys.path.insert(0, %r)\n"
             "import charrnn_torch as ct\n"
             "vm = int([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmSize:')][0]) * 1024\n"
             "resource.setrlimit(resource.RLIMIT_AS, (vm + (200 << 20), vm + (200 << 20)))\n"
             "for p in sys.argv[1:]:\n"
             "    try:\n"
             "        ct.load(p)\n"
             "        print('loaded')\n"
             "    except ValueError as e:\n"
             "        print('refused:', e)\n"
             "    except MemoryError:\n"
             "        print('out of memory')\n") % os.path.join(HERE, "..", "python")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-c", probe, ckpt, huge], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120, env=env)
    lines = p.stdout.decode("utf-8", "replace").splitlines()
    check("refusals: a config asking for 133 GB in a small file is refused before any allocation (RLIMIT_AS)",
          p.returncode == 0 and len(lines) == 2 and lines[0] == "loaded"
          and lines[1].startswith("refused: %s: its config (16 x 16384 lstm" % huge) and "needs 133" in lines[1],
          " | ".join(lines)[-300:])

    # a FIFO is refused at once, not waited on (charrnn's own FIFO handling is tested in C)
    fifo = os.path.join(tmp, "fifo.safetensors")
    os.mkfifo(fifo)
    p = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import charrnn_torch as ct\n"
                        "try:\n    ct.load(%r)\nexcept ValueError as e:\n    print(e)" % (os.path.join(HERE, "..", "python"), fifo)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode("utf-8", "replace").strip()
    rc, _, c_err = run(charrnn, "info", fifo)
    c_msg = c_err.strip().replace("charrnn: error: ", "", 1)
    check("refusals: a FIFO is refused without blocking, with charrnn's message",
          rc != 0 and out == c_msg and "FIFO" in out, "load(): %s | charrnn: %s" % (out, c_msg))

    # an n-gram model is named as one (charrnn info describes it instead)
    ng = os.path.join(tmp, "model.ngram")
    rc, _, err = run(charrnn, "ngram", corpus_path, "--order", 3, "--save", ng)
    msg = value_error(ct.load, ng)
    check("refusals: an n-gram model is refused with charrnn's message",
          rc == 0 and msg == "%s is an n-gram model (charrnn ngram --save), not a network checkpoint; charrnn eval and "
          "charrnn sample read both, this needs a network" % ng, msg or err[-200:])

    # save() writes nothing charrnn would refuse, and sizes nothing from an option before checking it
    m = ct.load(ckpt)
    for opts, needle in (({"batch_size": 10 ** 9}, 'field "batch_size" is missing or invalid'),
                         ({"train_frac": 0.9, "val_frac": 0.2}, "add up to more than 1"),
                         ({"seed": "-1"}, 'field "seed"'), ({"learning_rate": float("nan")}, 'field "learning_rate"')):
        out = os.path.join(tmp, "never_%s.safetensors" % "_".join(opts))
        msg = value_error(lambda: ct.save(out, m.rnn, m.decoder, m.vocab, m.unit, train_options=opts))
        check("refusals: save() refuses train_options %s as charrnn would" % opts,
              msg is not None and needle in msg and not os.path.exists(out), msg or "saved")
    m.rnn.dropout = 0.99999999999
    msg = value_error(lambda: ct.save(os.path.join(tmp, "never.safetensors"), m.rnn, m.decoder, m.vocab, m.unit))
    check("refusals: save() refuses dropout 0.99999999999 (1 as a float)", msg is not None and "dropout" in msg, msg or "saved")


def main():
    charrnn = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "./charrnn")
    try:
        importlib.import_module("numpy")
        import torch
    except ImportError as e:
        print("skip: PyTorch interop needs numpy and torch (Debian: apt-get install python3-torch): %s" % e)
        print("0 passed, 0 failed")
        return 0
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    import charrnn_torch as ct

    if not check("charrnn binary %s exists" % charrnn, os.access(charrnn, os.X_OK)):
        print("%d passed, %d failed" % (passed, failed))
        return 1
    t_start = time.time()
    tmp = tempfile.mkdtemp(prefix="charrnn_torch.")
    try:
        corpus = make_text(1, 24000)
        held = make_text(2, 5000, extra=["Quebec", "€", "Zürich", "~"])  # Q, Z, €, ~ are not in the corpus
        corpus_path, held_path = os.path.join(tmp, "corpus.txt"), os.path.join(tmp, "heldout.txt")
        with open(corpus_path, "w", encoding="utf-8") as f:
            f.write(corpus)
        with open(held_path, "w", encoding="utf-8") as f:
            f.write(held)
        common = ["--batch-size", 16, "--seq-length", 32, "--eval-val-every", 100000, "--print-every", 100000,
                  "--threads", 1]

        # a. charrnn-trained models in PyTorch
        for cell in ("lstm", "gru", "rnn"):
            cv = os.path.join(tmp, "cv_" + cell)
            rc, out, err = run(charrnn, "train", corpus_path, "--model", cell, "--num-layers", 2, "--rnn-size", 32,
                               "--max-iters", 150, "--checkpoint-dir", cv, *common)
            ckpt = os.path.join(cv, "latest.safetensors")
            ok = rc == 0 and os.path.exists(ckpt)
            if not check("%s: charrnn train (2 x 32, 150 iterations)" % cell, ok, "" if ok else "rc %d %s" % (rc, err[-300:])):
                continue
            m = ct.load(ckpt)
            kinds = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
            check("%s: load gives %s(%d, 32, 2) + Linear(32, %d)" % (cell, kinds[cell].__name__, len(m.vocab), len(m.vocab)),
                  type(m.rnn) is kinds[cell] and m.rnn.num_layers == 2 and m.rnn.hidden_size == 32
                  and m.decoder.out_features == len(m.vocab) and m.unit == "codepoint"
                  and m.vocab == ct.build_vocab(corpus) and m.metadata["train_state"]["iteration"] == 150)
            loss_check(ct, charrnn, cell, m, ckpt, held_path)
            round_trip(ct, torch, charrnn, cell, m, ckpt, held_path, tmp)

        # b. a PyTorch-built GRU exported to charrnn
        vocab = ct.build_vocab(corpus)
        t0 = time.time()
        rnn, decoder, losses = train_torch(torch, ct, "gru", vocab, "codepoint", corpus, 2, 32, 150, dropout=0.1)
        check("torch gru: trained in PyTorch", losses[-1] < losses[0] - 0.5,
              "loss %.3f -> %.3f in %d steps, %.1f s" % (losses[0], losses[-1], len(losses), time.time() - t0))
        exp = os.path.join(tmp, "exported_gru.safetensors")
        ct.save(exp, rnn, decoder, vocab, "codepoint", train_loss=losses)
        rc, out, err = run(charrnn, "info", exp)
        info = out.decode("utf-8", "replace")
        ok = rc == 0 and "gru, 2 layers x 32, dropout 0.1" in info and "trained:        150 iterations" in info
        check("torch gru: charrnn info", ok, "rc %d, %s" % (rc, (err + info).strip()[-300:]) if not ok else
              " | ".join(l.strip() for l in info.splitlines()[1:4]))
        rc, out, err = run(charrnn, "sample", exp, "--length", 200, "--seed", 1)
        try:
            text = out.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text and text.endswith("\n"):
            text = text[:-1]  # sample ends its output with a newline of its own
        check("torch gru: charrnn sample --length 200 --seed 1 gives 200 characters of the vocabulary",
              rc == 0 and text is not None and len(text) == 200 and set(map(ord, text)) <= set(vocab),
              "rc %d, %s characters, e.g. %r" % (rc, len(text) if text is not None else "invalid UTF-8", (text or "")[:60]))
        model = ct.Model(rnn, decoder, vocab, "codepoint")
        loss_check(ct, charrnn, "torch gru", model, exp, held_path)
        init_args = [corpus_path, "--model", "gru", "--num-layers", 2, "--rnn-size", 32, "--max-iters", 2,
                     "--batch-size", 16, "--seq-length", 32, "--print-every", 1, "--threads", 1, "--precision", "fp32"]
        rc, out, err = run(charrnn, "train", *init_args, "--init-from", exp, "--checkpoint-dir", os.path.join(tmp, "cv_init"))
        warm = first_train_loss(err)
        rc0, _, err0 = run(charrnn, "train", *init_args, "--checkpoint-dir", os.path.join(tmp, "cv_fresh"))
        cold = first_train_loss(err0)
        check("torch gru: charrnn train --init-from starts from the exported weights",
              rc == 0 and rc0 == 0 and warm is not None and cold is not None and warm < cold - 0.3,
              "rc %d, first train loss %s (a fresh model: %s) %s" % (rc, warm, cold, err[-300:] if rc else ""))
        rc, out, err = run(charrnn, "train", corpus_path, "--model", "gru", "--num-layers", 1, "--rnn-size", 32,
                           "--max-iters", 1, "--init-from", exp, "--checkpoint-dir", os.path.join(tmp, "cv_bad"))
        check("torch gru: --init-from with another shape is refused", rc != 0 and "holds a 2 x 32 gru" in err, err.strip()[-200:])

        # c. the byte unit, both ways
        cv = os.path.join(tmp, "cv_byte")
        rc, out, err = run(charrnn, "train", corpus_path, "--unit", "byte", "--model", "lstm", "--num-layers", 1,
                           "--rnn-size", 32, "--max-iters", 150, "--checkpoint-dir", cv, *common)
        ckpt = os.path.join(cv, "latest.safetensors")
        ok = rc == 0 and os.path.exists(ckpt)
        if check("byte lstm: charrnn train --unit byte (1 x 32)", ok, "" if ok else "rc %d %s" % (rc, err[-300:])):
            m = ct.load(ckpt)
            check("byte lstm: load gives the byte vocabulary", m.unit == "byte" and m.vocab == ct.build_vocab(corpus, "byte")
                  and max(m.vocab) <= 255 and len(m.vocab) > len(set(corpus.encode()) & set(range(128))))
            loss_check(ct, charrnn, "byte lstm", m, ckpt, held_path)
            again = round_trip(ct, torch, charrnn, "byte lstm", m, ckpt, held_path, tmp)
            same = ["--length", 300, "--seed", 1, "--precision", "fp32"]
            s1, s2 = run(charrnn, "sample", ckpt, *same), run(charrnn, "sample", again, *same)
            check("byte lstm: the re-saved model samples the same bytes", s1[0] == 0 and s2[0] == 0 and s1[1] == s2[1]
                  and len(s1[1]) == 301, "%d bytes" % len(s1[1]))
        bvocab = ct.build_vocab(corpus, "byte")
        rnn, decoder, losses = train_torch(torch, ct, "rnn", bvocab, "byte", corpus, 1, 24, 60, seed=1)
        exp = os.path.join(tmp, "exported_rnn_byte.safetensors")
        ct.save(exp, rnn, decoder, bvocab, "byte")
        rc, out, err = run(charrnn, "sample", exp, "--length", 200, "--seed", 1)
        out = out[:-1] if out.endswith(b"\n") else out
        check("torch byte rnn: charrnn sample gives 200 bytes of the vocabulary",
              rc == 0 and len(out) == 200 and set(out) <= set(bvocab), "rc %d, %d bytes %s" % (rc, len(out), err[-200:] if rc else ""))
        loss_check(ct, charrnn, "torch byte rnn", ct.Model(rnn, decoder, bvocab, "byte"), exp, held_path)

        # d. refusals
        with open(exp, "rb") as f:
            blob = bytearray(f.read())
        blob[-5] ^= 0x10
        bad = os.path.join(tmp, "damaged.safetensors")
        with open(bad, "wb") as f:
            f.write(blob)
        msg = value_error(ct.load, bad)
        rc, _, err = run(charrnn, "info", bad)
        check("a damaged checkpoint is refused by load (and by charrnn)", msg is not None and "checksum" in msg and rc != 0,
              msg or "loaded")
        foreign = os.path.join(tmp, "foreign.safetensors")
        with open(foreign, "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{}              ")  # a valid, empty safetensors file
        msg = value_error(ct.load, foreign)
        check("a safetensors file that is not a charrnn checkpoint is refused", msg is not None and "not a charrnn" in msg,
              msg or "loaded")
        never = os.path.join(tmp, "never.safetensors")
        msg = value_error(ct.save, never, rnn, decoder, bvocab[:-1], "byte")
        check("save refuses a vocabulary that does not fit the model", msg is not None and not os.path.exists(never),
              msg or "saved")

        # e. exactly what charrnn refuses
        refusals(ct, charrnn, tmp, corpus_path)
    finally:
        if os.environ.get("CHARRNN_TORCH_KEEP"):
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("time: %.1f s" % (time.time() - t_start))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
