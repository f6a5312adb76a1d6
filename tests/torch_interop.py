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
  d. damaged or foreign files are refused with ValueError.

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
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail else ""), flush=True)
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
