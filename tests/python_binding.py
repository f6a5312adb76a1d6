#!/usr/bin/python3
"""The Python binding (python/charrnn.py) against the library and the command.

    python3 tests/python_binding.py [path/to/charrnn]      (default ./charrnn)

The library is the one charrnn.py finds: CHARRNN_LIBRARY (the C suite,
tests/test_python.c, sets it to the build under test), else the build folder.
Self-contained: it writes its own corpus into a temporary directory and trains
its models through charrnn.train. Checks:

  a. the library loads, its version is the command's, and every struct the
     module mirrors has the library's size and field offsets (a copy with two
     fields swapped, or one too many, is refused with LayoutError); the
     defaults read through the mirrors are the documented ones;
  b. train(): the progress callback sees every step, validations and the
     checkpoint come when eval_val_every says; returning False stops the run
     with its work saved, a callback that raises propagates with the work
     saved, resume=True continues it; a corpus in memory trains too;
  c. sample(): a seed reproduces the text; it is the text `charrnn sample`
     prints for the same checkpoint, seed and controls (every control of
     charrnn_sample_config, and --stop), for a code-point and a byte model;
     stream() yields the same characters one at a time;
  d. score(): the numbers `charrnn eval` prints (--streams 1, and its default
     streams), the unknown characters; per-character log-probabilities that
     average to the loss and agree with next_probs();
  e. a Reader's distribution, state round trip (set_state restores the
     distribution exactly), hidden() layout;
  f. errors: a missing file, a file that is not a checkpoint, bad sampling
     values, settings the trainer refuses, a corpus too small, raise a
     charrnn.Error subclass carrying the message `charrnn` prints for the same
     case; Python arguments of the wrong type or value raise TypeError or
     ValueError; the library is looked up by CHARRNN_LIBRARY, then the build
     folder, then the system path.

Samples and losses are compared in fp32 (--precision fp32 for the command,
precision="fp32" here), so the processor's bf16 does not enter.

Prints one line per check and ends with "N passed, N failed"; exit status 0
only if all passed. CHARRNN_PYTHON_KEEP=1 keeps the temporary directory.
"""

import ctypes
import math
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
import charrnn  # noqa: E402

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    line = "%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + str(detail) if detail and not ok else "")
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"), flush=True)
    return ok


def raises(name, exc, fn, needle=None):
    """fn() raises exc (and its message holds needle); returns the exception."""
    try:
        fn()
    except exc as e:
        check(name, needle is None or needle in str(e), "message %r lacks %r" % (str(e), needle))
        return e
    except Exception as e:  # noqa: BLE001
        check(name, False, "raised %s: %s (want %s)" % (type(e).__name__, e, exc.__name__))
        return e
    check(name, False, "nothing raised (want %s)" % exc.__name__)
    return None


def cli(*args, text=True):
    p = subprocess.run([CHARRNN] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    out = p.stdout.decode("utf-8") if text else p.stdout
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def cli_error(*args):
    """The message of the command's one error line ("charrnn: error: MESSAGE")."""
    rc, _, err = cli(*args)
    for line in err.splitlines():
        if line.startswith("charrnn: error: "):
            return line[len("charrnn: error: "):]
    return "(exit %d, no error line: %s)" % (rc, err)


def part_a():
    lib = charrnn.library()
    rc, out, _ = cli("--version")
    check("version is the command's", rc == 0 and out.split()[1] == charrnn.version(), (out, charrnn.version()))
    try:
        charrnn._check_layout(lib)
        check("every mirrored struct has the library's layout", True)
    except charrnn.Error as e:
        check("every mirrored struct has the library's layout", False, e)

    class Swapped(ctypes.Structure):  # top_p and min_p swapped: same size, wrong offsets
        _fields_ = [("temperature", ctypes.c_float), ("top_k", ctypes.c_int), ("min_p", ctypes.c_float),
                    ("top_p", ctypes.c_float), ("repetition_penalty", ctypes.c_float),
                    ("repetition_window", ctypes.c_int)]

    class Longer(ctypes.Structure):
        _fields_ = charrnn._SampleConfig._fields_ + [("extra", ctypes.c_int)]

    class Shorter(ctypes.Structure):
        _fields_ = charrnn._TrainOptions._fields_[:-1]

    raises("a mirror with two fields swapped is refused", charrnn.LayoutError,
           lambda: charrnn._check_layout(lib, {"charrnn_sample_config": Swapped}), "charrnn_sample_config.min_p")
    raises("a mirror one field too long is refused", charrnn.LayoutError,
           lambda: charrnn._check_layout(lib, {"charrnn_sample_config": Longer}), "charrnn_sample_config is")
    raises("a mirror one field short is refused", charrnn.LayoutError,
           lambda: charrnn._check_layout(lib, {"charrnn_train_options": Shorter}), "charrnn_train_options is")
    check("the library knows no struct it was not built with",
          lib.charrnn_struct_layout(b"charrnn_nothing", None) == -1 and
          lib.charrnn_struct_layout(b"charrnn_sample_config", b"nothing") == -1)
    sc, to, mc = charrnn._SampleConfig(), charrnn._TrainOptions(), charrnn._ModelConfig()
    lib.charrnn_sample_config_default(ctypes.byref(sc))
    lib.charrnn_train_options_default(ctypes.byref(to))
    lib.charrnn_model_config_default(ctypes.byref(mc))
    got = (sc.temperature, sc.top_k, sc.top_p, sc.min_p, sc.repetition_penalty, sc.repetition_window,
           to.batch_size, to.seq_length, to.train_frac, to.learning_rate, to.max_epochs, to.eval_val_every, to.seed,
           to.val_max_chars, mc.num_layers, mc.rnn_size, mc.cell)
    want = (1.0, 0, 1.0, 0.0, 1.0, 64, 50, 50, 0.95, 2e-3, 50.0, 1000, 123, 2000000, 2, 128, 0)
    check("defaults read through the mirrors are the documented ones", got == want, (got, want))


SMALL = dict(num_layers=1, rnn_size=32, batch_size=8, seq_length=16, threads=1, precision="fp32", seed=7)


def part_b(tmp, corpus):
    ck = os.path.join(tmp, "m.safetensors")
    seen = []
    res = charrnn.train(corpus, ck, max_iters=60, eval_val_every=25, progress=seen.append, **SMALL)
    its = [s.iteration for s in seen]
    check("progress sees every step", its == list(range(1, 61)), its[:5])
    check("progress stats are filled", all(s.total_iters == 60 and math.isfinite(s.loss) and s.loss > 0 and
                                           s.grad_norm >= 0 and s.learning_rate > 0 for s in seen), seen[:2])
    vals = [s.iteration for s in seen if s.val_loss is not None]
    check("validation every eval_val_every and at the end", vals == [25, 50, 60], vals)
    check("train returns what it did", res.iterations == 60 and res.checkpoint == ck and not res.stopped and
          res.val_loss == seen[-1].val_loss and res.train_loss == seen[-1].loss, res)
    check("the trained model learned", seen[-1].loss < seen[0].loss - 0.2, (seen[0].loss, seen[-1].loss))
    with charrnn.Model(ck) as m:
        check("the checkpoint holds the run", m.iteration == 60 and m.num_layers == 1 and m.rnn_size == 32 and
              m.cell == "lstm" and m.unit == "codepoint", m)

    stop = os.path.join(tmp, "stopped.safetensors")
    res = charrnn.train(corpus, stop, max_iters=60, eval_val_every=1000, progress=lambda s: s.iteration < 5, **SMALL)
    with charrnn.Model(stop) as m:
        check("progress returning False stops, the work saved", res.stopped and res.iterations == 5 and
              m.iteration == 5, (res, m.iteration))
    res = charrnn.train(corpus, stop, resume=True, max_iters=9, threads=1)
    with charrnn.Model(stop) as m:
        check("resume=True continues the saved run", res.iterations == 9 and m.iteration == 9, (res, m.iteration))
    raises("resume keeps the run's own settings", ValueError,
           lambda: charrnn.train(corpus, stop, resume=True, rnn_size=64), "rnn_size")

    def boom(s):
        if s.iteration == 3:
            raise KeyError("boom")

    boomed = os.path.join(tmp, "boom.safetensors")
    raises("an exception in the callback propagates", KeyError,
           lambda: charrnn.train(corpus, boomed, max_iters=60, progress=boom, **SMALL))
    with charrnn.Model(boomed) as m:
        check("... with the work saved", m.iteration == 3, m.iteration)
    returns_none = []
    charrnn.train(corpus, boomed, max_iters=4, progress=lambda s: returns_none.append(s) or None, **SMALL)
    check("a callback returning None goes on", len(returns_none) == 4)

    mem = os.path.join(tmp, "mem.safetensors")
    with open(corpus, "rb") as f:
        data = f.read()
    res = charrnn.train(data, mem, max_iters=60, eval_val_every=25, **SMALL)
    with charrnn.Model(mem) as a, charrnn.Model(ck) as b:
        same = a.sample("the ", 100, seed=3) == b.sample("the ", 100, seed=3)
    check("a corpus in memory trains as the same file does", res.iterations == 60 and same)

    nov = os.path.join(tmp, "noval.safetensors")
    seen = []
    res = charrnn.train(corpus, nov, max_iters=10, eval_val_every=5, train_frac=1.0, val_frac=0.0,
                        progress=seen.append, **SMALL)
    check("without a validation block: no validation, checkpoints still written", res.val_loss is None and
          all(s.val_loss is None for s in seen) and charrnn.Model(nov).iteration == 10, res)

    cos = os.path.join(tmp, "cosine.safetensors")
    seen = []
    charrnn.train(corpus, cos, max_iters=12, eval_val_every=1000, optim="adam", learning_rate=4e-3,
                  lr_schedule="cosine", min_lr=4e-4, warmup_iters=4, weight_decay=0.1, progress=seen.append, **SMALL)
    want = [4e-3 * (i + 1) / 4 if i < 4 else 4e-4 + (4e-3 - 4e-4) * (1 + math.cos(math.pi * (i - 4) / 8)) / 2
            for i in range(1, 13)]
    check("lr_schedule, min_lr and warmup_iters reach the trainer: its rates are the cosine's",
          all(abs(s.learning_rate - w) <= 1e-12 for s, w in zip(seen, want)) and len(seen) == 12,
          [s.learning_rate for s in seen])
    raises("an unknown lr_schedule is refused", ValueError,
           lambda: charrnn.train(corpus, cos, lr_schedule="linear", **SMALL), "lr_schedule")
    raises("a negative weight_decay is refused by the library, in one line", charrnn.InvalidArgumentError,
           lambda: charrnn.train(corpus, cos, weight_decay=-1.0, **SMALL), "--weight-decay -1 is out of range")

    byte = os.path.join(tmp, "byte.safetensors")
    charrnn.train(corpus, byte, unit="byte", max_iters=40, cell="gru", **SMALL)
    return ck, byte


SETTINGS = [
    dict(),
    dict(temperature=0.5, top_k=5),
    dict(temperature=1.3, top_p=0.9, min_p=0.05),
    dict(repetition_penalty=1.3, repetition_window=16),
    dict(temperature=0.0),
    dict(temperature=0.8, top_k=3, top_p=0.95, min_p=0.01, repetition_penalty=1.1, repetition_window=8),
]


def cli_flags(kw):
    out = []
    for k, v in kw.items():
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


def part_c(ck, byte):
    m = charrnn.Model(ck, precision="fp32")
    a = m.sample("the ", 300, seed=11)
    check("sample returns length characters", isinstance(a, str) and len(a) == 300, len(a))
    check("a seed reproduces the sample", a == m.sample("the ", 300, seed=11))
    check("another seed gives another sample", a != m.sample("the ", 300, seed=12))
    for kw in SETTINGS:
        for prime, seed in (("the c", 5), ("", 9)):
            got = m.sample(prime, 200, seed=seed, **kw)
            rc, out, err = cli("sample", ck, "--length", 200, "--seed", seed, "--verbose", 0, "--precision", "fp32",
                               "--threads", 1, *(["--primetext", prime] if prime else []), *cli_flags(kw))
            want = out[len(prime):]
            if want.endswith("\n") and not got.endswith("\n"):
                want = want[:-1]  # the command ends the last line
            check("sample = charrnn sample (prime %r, seed %d, %s)" % (prime, seed, kw or "defaults"),
                  rc == 0 and out.startswith(prime) and got == want, (got[:60], want[:60], err))
            streamed = m.stream(prime, 200, seed=seed, **kw)
            check("stream = sample (prime %r, %s)" % (prime, kw or "defaults"),
                  isinstance(streamed, types.GeneratorType) and "".join(streamed) == got)
    got = m.sample("the ", 500, seed=2, stop=["at", "\n"])
    rc, out, _ = cli("sample", ck, "--length", 500, "--seed", 2, "--verbose", 0, "--precision", "fp32",
                     "--primetext", "the ", "--stop", "at", "--stop", "\\n")
    check("stop strings end the sample as --stop does",
          (got.endswith("at") or got.endswith("\n")) and len(got) < 500 and ("the " + got).rstrip("\n") ==
          out.rstrip("\n"), (got, out))
    g = m.stream("the ", 100, seed=4)
    first = [next(g) for _ in range(10)]
    g.close()
    check("a stream read in part, then closed", "".join(first) == m.sample("the ", 10, seed=4))
    unread = m.stream("the ", 100, seed=4)  # never read: its sampler goes with it
    del unread
    import warnings
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m.sample("the QZ cat", 5)
    check("prime characters outside the vocabulary are skipped with a warning",
          len(w) == 1 and "2 character(s)" in str(w[0].message) and "'Q'" in str(w[0].message), [str(x.message) for x in w])
    m.close()
    m.close()
    raises("a closed model refuses work", ValueError, lambda: m.sample("x", 3), "closed")

    with charrnn.Model(byte, precision="fp32") as b:
        got = b.sample(b"the ", 200, seed=6, temperature=0.9)
        rc, out, _ = cli("sample", byte, "--length", 200, "--seed", 6, "--verbose", 0, "--precision", "fp32",
                         "--primetext", "the ", "--temperature", 0.9, text=False)
        want = out[4:]
        if want.endswith(b"\n") and not got.endswith(b"\n"):
            want = want[:-1]
        check("a byte model samples bytes, as charrnn sample does", isinstance(got, bytes) and got == want,
              (got[:40], want[:40]))
        check("a byte model streams 1-byte bytes", b"".join(b.stream("the ", 50, seed=6, temperature=0.9)) ==
              got[:50] and all(isinstance(x, bytes) and len(x) == 1 for x in b.stream("the ", 5)))
        check("a byte model's vocabulary is bytes", all(isinstance(v, bytes) for v in b.vocab))


def parse_eval(out):
    # "NAME: X nats, Y bpc over N predicted characters (U unknown skipped; S streams)"
    rest = out[out.rindex(": ", 0, out.index(" nats")) + 2:].split()
    return float(rest[0]), float(rest[2]), int(rest[5]), int(rest[8][1:]), int(rest[11])


def part_d(tmp, ck):
    text = "the cat sat on the mat. the dog ran in the fog.\nthe QUIZ cat sat.\n" * 3
    path = os.path.join(tmp, "held.txt")
    with open(path, "w") as f:
        f.write(text)
    with charrnn.Model(ck, precision="fp32") as m:
        for streams, flags in ((1, ["--streams", 1]), (0, [])):
            s = m.score(text, streams=streams)
            rc, out, err = cli("eval", ck, path, "--precision", "fp32", "--threads", 1, *flags)
            nats, bpc, pred, unk, st = parse_eval(out)
            # the command prints 4 decimals: within half a unit of the last
            check("score = charrnn eval (streams %d)" % streams,
                  rc == 0 and abs(s.nats - nats) <= 5.01e-5 and abs(s.bpc - bpc) <= 5.01e-5 and s.predicted == pred
                  and s.unknown == unk and s.streams == st, (s, out, err))
        check("bpc is nats / ln 2", abs(s.bpc - s.nats / math.log(2)) < 1e-12)
        s = m.score(text, logprobs=True)
        check("the unknown characters are named", s.unknown == 12 and s.unknown_chars == ["Q", "U", "I", "Z"],
              (s.unknown, s.unknown_chars))
        lp = s.logprobs
        known = [ch for ch in text if ch not in "QUIZ"]
        check("a log-probability for every predicted character", len(lp) == s.predicted and
              [c for c, _ in lp] == known[1:], (len(lp), s.predicted))
        mean = -sum(v for _, v in lp) / len(lp)
        check("the log-probabilities average to the loss", abs(mean - s.nats) < 1e-4, (mean, s.nats))
        p = m.next_probs("the ca")
        k = len("the ca")
        check("next_probs agrees with the log-probability of the next character",
              abs(math.log(p[text[k]]) - lp[k - 1][1]) < 1e-4, (math.log(p[text[k]]), lp[k - 1]))
        check("score of bytes = score of str", m.score(text.encode()).nats == m.score(text).nats)
        check("score(logprobs=False) has none", m.score(text).logprobs is None)
        raises("a text with no known character is refused with the library's message", charrnn.Error,
               lambda: m.score("QQQZZZ"), "at least 2")


def part_e(ck):
    with charrnn.Model(ck) as m, m.reader() as r:
        p0 = r.probs(as_list=True)
        check("a fresh reader's distribution is uniform", max(abs(x - 1 / m.vocab_size) for x in p0) < 1e-6)
        r.feed("the c")
        d = r.probs()
        check("probs: a dict over the vocabulary summing to 1", sorted(d) == sorted(m.vocab) and
              abs(sum(d.values()) - 1) < 1e-5)
        check("probs as a list in vocabulary order", r.probs(as_list=True) == [d[c] for c in m.vocab])
        check("logprobs are their logs", all(abs(math.exp(v) - d[c]) < 1e-5 for c, v in r.logprobs().items()))
        check("Model.next_probs = a reader's", m.next_probs("the c") == d)
        st = r.get_state()
        check("state_size: h and c of every layer, then the logits",
              len(st) == r.state_size == m.num_layers * m.rnn_size * 2 + m.vocab_size)
        hid = r.hidden()
        check("hidden(): (h, c) per layer", len(hid) == 1 and hid[0][0] == st[:32] and hid[0][1] == st[32:64])
        check("feed counts the unknown characters", r.feed("at QZ") == 2)
        check("reading on changes the distribution", r.probs() != d)
        r.set_state(st)
        check("set_state restores the distribution exactly", r.probs() == d)
        try:
            import numpy
            arr = r.get_state(numpy=True)
            r.reset()
            r.set_state(arr)
            check("numpy state round trip", arr.dtype == numpy.float32 and r.probs() == d)
        except ImportError:
            check("numpy state round trip (numpy absent: lists only)", True)
        r.reset()
        check("reset: nothing read", r.probs(as_list=True) == p0)
        raises("set_state of the wrong length", ValueError, lambda: r.set_state([0.0] * 3), str(r.state_size))
        raises("set_state of non-numbers", TypeError, lambda: r.set_state(5))
        raises("set_state of strings", ValueError, lambda: r.set_state(["x"] * r.state_size))


def part_f(tmp, corpus, ck):
    missing = os.path.join(tmp, "missing.safetensors")
    e = raises("a missing checkpoint", charrnn.Error, lambda: charrnn.Model(missing))
    want = cli_error("info", missing)
    check("... carries the library's message", e is not None and str(e) == want and type(e) is charrnn._ERRORS[e.code], (str(e), want))
    e = raises("a file that is not a checkpoint", charrnn.FormatError, lambda: charrnn.Model(corpus))
    want = cli_error("info", corpus)
    check("... carries the library's message", e is not None and str(e) == want and "\n" not in str(e),
          (str(e), want))
    with charrnn.Model(ck) as m:
        e = raises("temperature out of range: the library refuses it", charrnn.InvalidArgumentError,
                   lambda: m.sample("x", 5, temperature=-1.0), "temperature")
        raises("top_p 0: the library refuses it", charrnn.InvalidArgumentError, lambda: m.sample("x", 5, top_p=0.0),
               "top-p 0")
        raises("repetition_window 0: the library refuses it", charrnn.InvalidArgumentError,
               lambda: m.sample("x", 5, repetition_penalty=1.2, repetition_window=0), "repetition window 0")
        raises("a stream checks before the first character", charrnn.InvalidArgumentError,
               lambda: m.stream("x", 5, min_p=1.5), "min-p 1.5")
        raises("every library error is a charrnn.Error", charrnn.Error, lambda: m.sample("x", 5, min_p=-1.0))
        raises("length of the wrong type", TypeError, lambda: m.sample("x", "5"))
        raises("length below 0", ValueError, lambda: m.sample("x", -1))
        raises("top_k of the wrong type", TypeError, lambda: m.sample("x", 5, top_k=1.5))
        raises("temperature NaN", ValueError, lambda: m.sample("x", 5, temperature=float("nan")))
        raises("a seed below 0", ValueError, lambda: m.sample("x", 5, seed=-1))
        raises("a seed of the wrong type", TypeError, lambda: m.sample("x", 5, seed="1"))
        raises("a prime of the wrong type", TypeError, lambda: m.sample(5, 5))
        raises("a prime with a lone surrogate", ValueError, lambda: m.sample("a\udc80", 5))
        raises("an unknown sampling control", TypeError, lambda: m.stream("x", 5, top_q=1))
        raises("an empty stop string", ValueError, lambda: m.sample("x", 5, stop=""))
        raises("score of a non-text", TypeError, lambda: m.score(3))
        raises("score logprobs with streams", ValueError, lambda: m.score("abc", streams=4, logprobs=True))
        raises("invalid UTF-8 to score: the library's message", charrnn.FormatError, lambda: m.score(b"ab\xffcd"))
    raises("a path of the wrong type", TypeError, lambda: charrnn.Model(5))
    raises("an unknown precision", ValueError, lambda: charrnn.Model(ck, precision="fp8"))
    out = os.path.join(tmp, "bad.safetensors")
    raises("an unknown training option", TypeError, lambda: charrnn.train(corpus, out, rnn_sise=4), "rnn_sise")
    raises("an unknown cell", ValueError, lambda: charrnn.train(corpus, out, cell="lstn"), "lstm, gru, rnn")
    raises("an option of the wrong type", TypeError, lambda: charrnn.train(corpus, out, batch_size="8"))
    raises("a progress that is not callable", TypeError, lambda: charrnn.train(corpus, out, progress=3))
    e = raises("settings the trainer refuses", charrnn.InvalidArgumentError,
               lambda: charrnn.train(corpus, out, rnn_size=0, max_iters=1), "rnn")
    rc, _, err = cli("train", corpus, "--rnn-size", 0, "--max-iters", 1, "--checkpoint-dir", os.path.join(tmp, "cv0"))
    check("... with the message charrnn train gives", e is not None and str(e) in err, (str(e), err))
    tiny = os.path.join(tmp, "tiny.txt")
    with open(tiny, "w") as f:
        f.write("abc")
    raises("a corpus too small", charrnn.DataError, lambda: charrnn.train(tiny, out, max_iters=1, **SMALL))
    raises("a missing corpus", charrnn.FileError,
           lambda: charrnn.train(os.path.join(tmp, "nope.txt"), out, max_iters=1), "nope.txt")
    check("nothing was written by the failed runs", not os.path.exists(out))

    # the library's lookup, in fresh interpreters
    code = "import charrnn; print(charrnn.library()._name)"
    env = dict(os.environ)
    env.pop("CHARRNN_LIBRARY", None)
    lib = os.environ.get("CHARRNN_LIBRARY") or charrnn.library()._name
    r = subprocess.run([sys.executable, "-c", code], cwd=os.path.join(ROOT, "python"), env=dict(
        env, CHARRNN_LIBRARY=os.path.join(tmp, "nowhere.so")), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode()
    check("CHARRNN_LIBRARY is used, and only it", r.returncode != 0 and "charrnn.Error" in err and "nowhere.so" in err,
          err[-300:])
    alone = os.path.join(tmp, "alone")
    os.mkdir(alone)
    shutil.copy(os.path.join(ROOT, "python", "charrnn.py"), alone)
    r = subprocess.run([sys.executable, "-c", code], cwd=alone, env=dict(
        env, LD_LIBRARY_PATH=os.path.dirname(os.path.abspath(lib))), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check("without a build folder: the system's library path", r.returncode == 0 and
          r.stdout.decode().strip() in ("libcharrnn.so.0", "libcharrnn.so"), r.stdout + r.stderr)
    r = subprocess.run([sys.executable, "-c", code], cwd=alone, env=dict(env, LD_LIBRARY_PATH=""),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode()
    check("no library anywhere: an Error saying how to get one", r.returncode != 0 and "make lib" in err and
          "CHARRNN_LIBRARY" in err, err[-300:])


def part(name, fn, *args):
    """Runs one part; an exception it did not expect fails it (named, with where) and the others go on."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        tb = traceback.extract_tb(e.__traceback__)[-1]
        check("part %s ran to its end" % name, False, "%s: %s at line %d" % (type(e).__name__, e, tb.lineno))
        return None


def main():
    global CHARRNN
    CHARRNN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "charrnn"))
    tmp = tempfile.mkdtemp(prefix="charrnn-python-")
    try:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w") as f:
            f.write("the cat sat on the mat. the dog ran in the fog.\n" * 120)
        part("a", part_a)
        ck, byte = part("b", part_b, tmp, corpus) or (None, None)
        if ck:
            part("c", part_c, ck, byte)
            part("d", part_d, tmp, ck)
            part("e", part_e, ck)
            part("f", part_f, tmp, corpus, ck)
    finally:
        if os.environ.get("CHARRNN_PYTHON_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
