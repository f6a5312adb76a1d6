"""charrnn checkpoints in PyTorch, and PyTorch models as charrnn checkpoints.

Needs only numpy and torch (Debian: python3-torch). Put python/ on sys.path:

    import charrnn_torch as ct
    m = ct.load("cv/best.safetensors")      # m.rnn: nn.LSTM/GRU/RNN, m.decoder: nn.Linear
    print(ct.loss(m, open("test.txt").read()))  # = charrnn eval cv/best.safetensors test.txt --streams 1
    ct.save("mine.safetensors", m.rnn, m.decoder, m.vocab, m.unit)

A charrnn model is an nn.LSTM / nn.GRU / nn.RNN(nonlinearity="tanh") with
input_size = vocabulary size (its input is the one-hot code of a character),
sequence-first, no bias-less or bidirectional variants, followed by
nn.Linear(hidden_size, vocabulary size) and a softmax. The vocabulary is the
ascending list of the characters' codes: Unicode code points (unit
"codepoint": the text is UTF-8 decoded) or byte values (unit "byte").

The file is safetensors: an 8-byte little-endian header length, a JSON header
whose "__metadata__" holds string values (each a JSON text: format, version,
config, vocabulary, training options and state, and a checksum), then the
little-endian float32 tensors, named as PyTorch names them (weight_ih_l0, ...,
decoder.weight, decoder.bias), followed by the training tensors (state.h,
state.c, history.train_loss and, for a charrnn run, the optimizer moments).
"""

import json
import math
import os
import struct
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Model", "load", "save", "build_vocab", "encode", "decode", "forward", "loss"]

FORMAT_VERSION = 1  # the newest checkpoint format this module reads and the one it writes
UNITS = ("codepoint", "byte")
MAX_LAYERS = 16  # charrnn's limits (src/defaults.h)
MAX_RNN_SIZE = 16384
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
CHECKSUMMED = ("format", "format_version", "config", "vocab", "train_options", "train_state")
_CELLS = {"lstm": (nn.LSTM, "LSTM"), "gru": (nn.GRU, "GRU"), "rnn": (nn.RNN, "RNN_TANH")}
_MODES = {mode: name for name, (_, mode) in _CELLS.items()}

# char-rnn's (and charrnn's) training defaults, written into exported checkpoints
# (train_options). The field set is that of write_options in src/checkpoint.c.
DEFAULT_TRAIN_OPTIONS = {
    "unit": "codepoint", "batch_size": 50, "seq_length": 50, "optim": "rmsprop", "clip_mode": "value",
    "train_frac": 0.95, "val_frac": 0.05, "learning_rate": 2e-3, "decay_rate": 0.95, "beta1": 0.9,
    "beta2": 0.999, "learning_rate_decay": 0.97, "learning_rate_decay_after": 10, "grad_clip": 5,
    "max_epochs": 50, "max_iters": 0, "eval_val_every": 1000, "skip_nonfinite": 0, "seed": "123",
}


class Model:
    """A charrnn model in PyTorch: rnn (nn.LSTM/GRU/RNN), decoder (nn.Linear),
    vocab (ascending int codes), unit ("codepoint" or "byte"); config and
    metadata (the checkpoint's, as dicts of parsed JSON) when loaded."""

    def __init__(self, rnn, decoder, vocab, unit="codepoint", config=None, metadata=None):
        self.rnn, self.decoder, self.vocab, self.unit = rnn, decoder, list(vocab), unit
        self.config = config if config is not None else {}
        self.metadata = metadata if metadata is not None else {}

    def __repr__(self):
        return "Model(%r, %r, vocab of %d, unit=%r)" % (self.rnn, self.decoder, len(self.vocab), self.unit)


# ---- safetensors + checksum -------------------------------------------------------------

def fnv1a64(data, h=FNV_OFFSET):
    """FNV-1a 64 of bytes, continuing from h (pure Python: about 5 MB/s; load(path,
    verify_checksum=False) skips it for large files)."""
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def _checksum(meta, data):
    h = FNV_OFFSET
    for k in CHECKSUMMED:
        if k in meta:
            h = fnv1a64(meta[k].encode("utf-8"), h)
    return "fnv1a64:%016x" % fnv1a64(data, h)


def _read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s is not a safetensors file: only %d bytes" % (path, len(raw)))
    (n,) = struct.unpack("<Q", raw[:8])
    if n < 2 or 8 + n > len(raw):
        raise ValueError("%s is not a safetensors file: header length %d does not fit its %d bytes" % (path, n, len(raw)))
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("%s: corrupt safetensors header: %s" % (path, e)) from None
    if not isinstance(header, dict):
        raise ValueError("%s: corrupt safetensors header: not a JSON object" % path)
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("%s: corrupt safetensors header: __metadata__ is not an object of strings" % path)
    return header, meta, raw[8 + n:]


def _tensor(path, header, data, name, shape):
    info = header.get(name)
    if info is None:
        raise ValueError("%s: tensor %r is missing" % (path, name))
    if info.get("dtype") != "F32" or list(info.get("shape", [])) != list(shape):
        raise ValueError("%s: tensor %r is %s %s, expected F32 %s for this config"
                         % (path, name, info.get("dtype"), info.get("shape"), list(shape)))
    b, e = info["data_offsets"]
    if not (0 <= b <= e <= len(data)) or e - b != 4 * int(np.prod(shape, dtype=np.int64)):
        raise ValueError("%s: tensor %r has bad data_offsets %s" % (path, name, info["data_offsets"]))
    return torch.from_numpy(np.frombuffer(data, dtype="<f4", count=(e - b) // 4, offset=b).astype(np.float32).reshape(shape))


def _param_names(num_layers):
    names = []
    for k in range(num_layers):
        names += ["weight_ih_l%d" % k, "weight_hh_l%d" % k, "bias_ih_l%d" % k, "bias_hh_l%d" % k]
    return names


def _meta_json(path, meta, key):
    if key not in meta:
        raise ValueError("%s is not a complete charrnn checkpoint: metadata %r is missing" % (path, key))
    try:
        return json.loads(meta[key])
    except json.JSONDecodeError as e:
        raise ValueError("%s: metadata %r is not valid JSON: %s" % (path, key, e)) from None


def load(path, verify_checksum=True):
    """Reads a charrnn checkpoint into a Model (rnn and decoder on the CPU, in
    eval mode, float32). Raises ValueError for a file that is not a charrnn
    checkpoint, has a newer format version, fails its checksum or whose tensors
    do not match its config."""
    header, meta, data = _read_safetensors(path)
    if meta.get("format") != "charrnn":
        raise ValueError("%s is a safetensors file but not a charrnn checkpoint (no \"format\": \"charrnn\" metadata)" % path)
    ver = meta.get("format_version", "")
    if not ver.isdigit() or int(ver) < 1:
        raise ValueError("%s: format_version %r is not a version number" % (path, ver))
    if int(ver) > FORMAT_VERSION:
        raise ValueError("%s was written in checkpoint format version %s; this module reads version %d at most"
                         % (path, ver, FORMAT_VERSION))
    if verify_checksum:
        if "checksum" not in meta:
            raise ValueError("%s has no checksum; the checkpoint is damaged or was edited" % path)
        mine = _checksum(meta, data)
        if meta["checksum"] != mine:
            raise ValueError("%s is corrupted: its checksum is %s but its contents give %s (truncated, damaged or edited)"
                             % (path, meta["checksum"], mine))
    cfg = _meta_json(path, meta, "config")
    vocab = _meta_json(path, meta, "vocab")
    try:
        cell, L, H, V, unit = cfg["model"], int(cfg["num_layers"]), int(cfg["rnn_size"]), int(cfg["vocab_size"]), cfg["unit"]
        dropout = float(cfg.get("dropout", 0))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError("%s: config %s is missing or invalid (%s)" % (path, meta["config"], e)) from None
    if cell not in _CELLS or unit not in UNITS or not (1 <= L <= MAX_LAYERS and 1 <= H <= MAX_RNN_SIZE and V >= 1):
        raise ValueError("%s: config %s is out of range" % (path, meta["config"]))
    if not isinstance(vocab, list) or len(vocab) != V or not all(isinstance(c, int) for c in vocab) \
            or any(b <= a for a, b in zip(vocab, vocab[1:])):
        raise ValueError("%s: the vocabulary is not %d ascending character codes" % (path, V))
    cls = _CELLS[cell][0]
    rnn = cls(V, H, L, dropout=dropout if L > 1 else 0.0)
    rnn.dropout = dropout  # kept for save(); PyTorch (like charrnn) applies it between layers only
    rnn.load_state_dict({k: _tensor(path, header, data, k, tuple(v.shape)) for k, v in rnn.state_dict().items()})
    decoder = nn.Linear(H, V)
    decoder.load_state_dict({"weight": _tensor(path, header, data, "decoder.weight", (V, H)),
                             "bias": _tensor(path, header, data, "decoder.bias", (V,))})
    rnn.eval()
    decoder.eval()
    parsed = {}
    for k, v in meta.items():
        try:
            parsed[k] = json.loads(v)
        except json.JSONDecodeError:
            parsed[k] = v
    return Model(rnn, decoder, vocab, unit, cfg, parsed)


def _num(v):
    """A float as charrnn writes it: integral values as integers."""
    v = float(v)
    if not math.isfinite(v):
        return None
    return int(v) if v == math.floor(v) and abs(v) < 1e17 else v


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def save(path, rnn, decoder, vocab, unit="codepoint", train_loss=None, *, train_options=None, epoch=0.0):
    """Writes rnn + decoder as a charrnn checkpoint that `charrnn info`, `sample`,
    `eval`, `viz` and `train --init-from` read.

    vocab: the ascending character codes the rows of decoder (and the columns of
    weight_ih_l0) stand for; a str (its characters), bytes (unit "byte") or a
    list of ints. For --init-from it must be exactly the corpus's vocabulary:
    build_vocab(corpus_text, unit). train_loss: None (an untrained run,
    iteration 0) or the per-iteration training losses (the iteration count is
    their number, the last one is shown by `charrnn info`). train_options:
    fields to change in the recorded options (char-rnn's defaults otherwise).
    The file is written to a temporary file in the same directory, fsynced and
    renamed over path. Raises ValueError for a model charrnn cannot represent.
    """
    if unit not in UNITS:
        raise ValueError("unit %r: use 'codepoint' or 'byte'" % (unit,))
    vocab = _vocab_codes(vocab, unit)
    V = len(vocab)
    limit = 0xFF if unit == "byte" else 0x10FFFF
    for i, c in enumerate(vocab):
        if not (0 <= c <= limit) or (unit == "codepoint" and 0xD800 <= c <= 0xDFFF) or (i and c <= vocab[i - 1]):
            raise ValueError("vocabulary entry %d (%r) is not a strictly ascending %s code; build it with build_vocab(text)"
                             % (i, c, "byte" if unit == "byte" else "Unicode scalar"))
    mode = getattr(rnn, "mode", None)
    if not isinstance(rnn, nn.RNNBase) or mode not in _MODES:
        raise ValueError("rnn must be an nn.LSTM, nn.GRU or nn.RNN(nonlinearity='tanh'), not %r" % (rnn,))
    cell = _MODES[mode]
    if rnn.bidirectional or not rnn.bias or getattr(rnn, "proj_size", 0):
        raise ValueError("charrnn has no bidirectional, bias-less or projected layers: %r" % (rnn,))
    L, H = rnn.num_layers, rnn.hidden_size
    if rnn.input_size != V:
        raise ValueError("rnn.input_size is %d but the vocabulary has %d characters (the input is one-hot)" % (rnn.input_size, V))
    if not (1 <= L <= MAX_LAYERS and 1 <= H <= MAX_RNN_SIZE):
        raise ValueError("charrnn takes 1 to %d layers of 1 to %d units, not %d x %d" % (MAX_LAYERS, MAX_RNN_SIZE, L, H))
    if not isinstance(decoder, nn.Linear) or decoder.in_features != H or decoder.out_features != V or decoder.bias is None:
        raise ValueError("decoder must be nn.Linear(%d, %d) with a bias, not %r" % (H, V, decoder))
    dropout = float(rnn.dropout)
    if not 0 <= dropout < 1:
        raise ValueError("dropout %g: charrnn takes 0 <= p < 1" % dropout)

    opts = dict(DEFAULT_TRAIN_OPTIONS, unit=unit)
    for k, v in (train_options or {}).items():
        if k not in opts:
            raise ValueError("unknown train option %r (known: %s)" % (k, ", ".join(opts)))
        opts[k] = str(v) if k == "seed" else v
    opts["unit"] = unit
    opts = {k: (_num(v) if isinstance(v, float) else v) for k, v in opts.items()}
    B = int(opts["batch_size"])

    losses = np.asarray([] if train_loss is None else list(train_loss), dtype="<f4")
    iteration = int(losses.size)
    config = {"model": cell, "num_layers": L, "rnn_size": H, "dropout": _num(dropout), "vocab_size": V, "unit": unit}
    state = {"iteration": iteration, "epoch": _num(epoch), "learning_rate": _num(opts["learning_rate"]),
             "optim_step": 0, "rng_dropout": ["853c49e6748fea9b", "da3e39cb94b95bdb"], "skipped_nonfinite": 0,
             "train_loss": _num(losses[-1]) if iteration else None, "corpus_chars": 0,
             "corpus_checksum": "0000000000000000", "run_id": "%016x" % (int.from_bytes(os.urandom(8), "little") | 1),
             "val_history": []}

    sd = rnn.state_dict()
    tensors = []  # (name, float32 array); parameters in charrnn's order, then the run's tensors
    for name in _param_names(L):
        tensors.append((name, sd[name]))
    tensors += [("decoder.weight", decoder.weight), ("decoder.bias", decoder.bias)]
    tensors = [(n, np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy(), dtype="<f4")) for n, t in tensors]
    for n, a in tensors:
        if not np.all(np.isfinite(a)):
            raise ValueError("%s holds NaN or infinite values; charrnn refuses such weights" % n)
    zeros = np.zeros((L, B, H), dtype="<f4")
    tensors += [("state.h", zeros), ("state.c", zeros), ("history.train_loss", losses)]

    meta = {"format": "charrnn", "format_version": str(FORMAT_VERSION), "config": _dumps(config),
            "vocab": _dumps(vocab), "train_options": _dumps(opts), "train_state": _dumps(state)}
    data = b"".join(a.tobytes() for _, a in tensors)
    meta["checksum"] = _checksum(meta, data)
    header, off = {"__metadata__": meta}, 0
    for n, a in tensors:
        header[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    htext = _dumps(header).encode("utf-8")
    htext += b" " * (-(8 + len(htext)) % 8)  # the data block 8-byte aligned, as the reference writer does

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(htext)))
            f.write(htext)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---- text ----------------------------------------------------------------------------------

def _units(text, unit):
    """The character codes of a text as charrnn reads it: code points of strict
    UTF-8 (unit "codepoint"), or bytes (unit "byte"; a str is UTF-8 encoded)."""
    if unit == "byte":
        return list(text.encode("utf-8") if isinstance(text, str) else bytes(text))
    if unit != "codepoint":
        raise ValueError("unit %r: use 'codepoint' or 'byte'" % (unit,))
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError("the text is not valid UTF-8 at byte offset %d; this model reads UTF-8 text" % e.start) from None
    return [ord(c) for c in text]


def _vocab_codes(vocab, unit):
    if isinstance(vocab, (str, bytes, bytearray)):
        return _units(vocab, unit)
    return [int(c) for c in vocab]


def build_vocab(text, unit="codepoint"):
    """The vocabulary charrnn builds from a corpus: its distinct codes, ascending."""
    return sorted(set(_units(text, unit)))


def encode(text, vocab, unit="codepoint"):
    """The indices into vocab of a text's characters, skipping those not in it
    (as charrnn eval, sample --primetext and viz do). text: str or bytes."""
    index = {c: i for i, c in enumerate(vocab)}
    return [index[c] for c in _units(text, unit) if c in index]


def decode(indices, vocab, unit="codepoint"):
    """Text from indices: a str (codepoint) or bytes (byte)."""
    codes = [vocab[i] for i in indices]
    return bytes(codes) if unit == "byte" else "".join(map(chr, codes))


# ---- the model ------------------------------------------------------------------------------

def forward(model, indices, state=None):
    """Logits (T x V) of one stream of T indices, and the state after them
    (None: a zero state, as charrnn starts every text). Gradients flow."""
    p = next(model.rnn.parameters())
    x = torch.as_tensor(indices, dtype=torch.long, device=p.device)
    onehot = F.one_hot(x, len(model.vocab)).to(p.dtype)
    if model.rnn.batch_first:
        out, state = model.rnn(onehot.unsqueeze(0), state)  # (1, T, V)
        return model.decoder(out[0]), state
    out, state = model.rnn(onehot.unsqueeze(1), state)  # (T, 1, V): sequence-first, batch 1
    return model.decoder(out[:, 0, :]), state


def loss(model, text, chunk=4096):
    """The mean cross-entropy of the model on a text, in nats, computed as
    `charrnn eval CHECKPOINT FILE --streams 1` computes it: the characters not
    in the vocabulary are dropped, and the rest is ONE stream from a zero state
    in which every character but the first is predicted from all the text
    before it (n characters: n - 1 predictions, each -log softmax(logits)[next]).
    The network runs in float32 (as charrnn does); the per-position losses are
    taken from its float32 logits in float64 and summed in float64. The state
    is carried across chunks of `chunk` characters, which bounds the memory."""
    ids = encode(text, model.vocab, model.unit)
    if len(ids) < 2:
        raise ValueError("the text has %d character(s) the model knows; at least 2 are needed to measure a loss" % len(ids))
    modules = (model.rnn, model.decoder)
    was_training = [m.training for m in modules]
    for m in modules:
        m.eval()
    total, state = 0.0, None
    try:
        with torch.no_grad():
            n = len(ids) - 1
            for pos in range(0, n, chunk):
                x = ids[pos:min(pos + chunk, n)]
                y = torch.as_tensor(ids[pos + 1:pos + 1 + len(x)], dtype=torch.long)
                logits, state = forward(model, x, state)
                logp = torch.log_softmax(logits.cpu().double(), dim=1)
                total += float(-logp.gather(1, y.unsqueeze(1)).sum())
    finally:
        for m, t in zip(modules, was_training):
            m.train(t)
    return total / (len(ids) - 1)
