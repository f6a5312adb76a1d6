"""charrnn checkpoints in PyTorch, and PyTorch models as charrnn checkpoints.

Needs only numpy and torch (Debian: python3-torch). Put python/ on sys.path:

    import charrnn_torch as ct
    m = ct.load("cv/best.safetensors")      # m.rnn: nn.LSTM/GRU/RNN, m.decoder: nn.Linear
    print(ct.loss(m, open("test.txt").read()))  # = charrnn eval cv/best.safetensors test.txt --streams 1
    ct.save("mine.safetensors", m.rnn, m.decoder, m.vocab, m.unit)

load() refuses, with charrnn's own message, exactly the files `charrnn info`
refuses (tests/torch_interop.py compares the two on every check), and sizes
nothing from a file before the file's own bytes are known to hold it.

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
import re
import stat
import struct
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Model", "load", "save", "build_vocab", "encode", "decode", "forward", "loss"]

FORMAT_VERSION = 1  # the newest checkpoint format this module reads and the one it writes
UNITS = ("codepoint", "byte")
MAX_LAYERS = 16  # charrnn's limits (src/nn/defaults.h)
MAX_RNN_SIZE = 16384
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
CHECKSUMMED = ("format", "format_version", "config", "vocab", "train_options", "train_state")
_CELLS = {"lstm": (nn.LSTM, "LSTM"), "gru": (nn.GRU, "GRU"), "rnn": (nn.RNN, "RNN_TANH")}
_MODES = {mode: name for name, (_, mode) in _CELLS.items()}

# char-rnn's (and charrnn's) training defaults, written into exported checkpoints
# (train_options). The field set is that of write_options in src/run/checkpoint.c.
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


# ---- JSON as charrnn reads it (src/base/json.c) ----------------------------------------------
#
# load() must refuse exactly the files `charrnn` refuses, with its messages, so
# JSON is taken as src/base/json.c takes it: numbers are doubles and must be finite
# (no NaN, Infinity or 1e400), strings valid UTF-8 without lone surrogates,
# nesting at most 64 deep, and an object's keys distinct and free of \u0000.
# Python's json (fast) parses; where it fails or yields something C refuses,
# _CJSON, a step-for-step copy of the C parser, finds the message C gives.

JSON_MAX_DEPTH = 64


class _JSONError(Exception):
    pass


def _finite(text):
    v = float(text)
    if not math.isfinite(v):
        raise ValueError("number out of range")
    return v


def _finite_int(text):
    _finite(text)
    return int(text)


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def _unique_object(pairs):
    d = dict(pairs)
    if len(d) != len(pairs) or any("\0" in k for k in d):
        raise ValueError("duplicate key or \\u0000 in a key")
    return d


def _json_fits(v):
    """Whether a value from json.loads is one src/base/json.c accepts too: no
    container deeper than 64, no lone surrogate in a string or key."""
    stack = [(v, 0)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(x, (list, dict)):
            if depth + 1 > JSON_MAX_DEPTH:
                return False
            items = x if isinstance(x, list) else list(x) + list(x.values())
            stack.extend((y, depth + 1) for y in items if isinstance(y, (str, list, dict)))
    return True


def _json(data):
    """The value of JSON bytes, or _JSONError with src/base/json.c's message."""
    try:
        v = json.loads(data.decode("utf-8"), parse_float=_finite, parse_int=_finite_int,
                       parse_constant=_no_constant, object_pairs_hook=_unique_object)
        if _json_fits(v):
            return v
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        pass
    _CJSON(data).parse()  # raises C's message
    raise _JSONError("invalid JSON")  # not reached: both parsers refuse the same texts


_ESCAPES = {ord(k): ord(v) for k, v in zip('"\\/bfnrt', '"\\/\b\f\n\r\t')}
_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]*')
_DIGITS = re.compile(rb"[0-9]*")


class _CJSON:
    """src/base/json.c's parser, check for check, for the message it gives (it
    builds no values)."""

    def __init__(self, s):
        self.s, self.n, self.pos = s, len(s), 0

    def fail(self, at, msg):
        raise _JSONError("invalid JSON at byte %d: %s" % (at, msg))

    def describe(self, at):
        if at >= self.n:
            return "end of input"
        c = self.s[at]
        return "'%c'" % c if 0x20 <= c < 0x7F else "byte 0x%02X" % c

    def ws(self):
        while self.pos < self.n and self.s[self.pos] in b" \t\n\r":
            self.pos += 1

    def digit(self, at):
        return at < self.n and 0x30 <= self.s[at] <= 0x39

    def parse(self):
        self.value(0)
        self.ws()
        if self.pos < self.n:
            self.fail(self.pos, "unexpected %s after the JSON value" % self.describe(self.pos))

    def value(self, depth):
        self.ws()
        if self.pos >= self.n:
            self.fail(self.pos, "unexpected end of input, expected a value")
        c = self.s[self.pos]
        if c in b"{[":
            if depth + 1 > JSON_MAX_DEPTH:
                self.fail(self.pos, "nesting deeper than %d levels" % JSON_MAX_DEPTH)
            return self.container(depth + 1, c == ord("{"))
        if c == ord('"'):
            return self.string()
        if c in b"tfn":
            for word in (b"true", b"false", b"null"):
                if self.s.startswith(word, self.pos):
                    self.pos += len(word)
                    return None
            self.fail(self.pos, "unknown literal (expected true, false or null)")
        if c == ord("-") or self.digit(self.pos):
            return self.number()
        self.fail(self.pos, "unexpected %s, expected a value" % self.describe(self.pos))

    def u4(self, at):
        if at + 6 > self.n:
            self.fail(at, "truncated \\u escape (need 4 hex digits)")
        for i in range(at + 2, at + 6):
            if self.s[i] not in b"0123456789abcdefABCDEF":
                self.fail(i, "invalid hex digit in \\u escape")
        return int(self.s[at + 2:at + 6], 16)

    def string(self):
        s, start = self.s, self.pos
        i = start + 1
        while True:
            i = _STRING_RUN.match(s, i).end()
            if i >= self.n:
                self.fail(start, "unterminated string (no closing '\"')")
            if s[i] == ord('"'):
                break
            if s[i] < 0x20:
                self.fail(i, "control character 0x%02X in string (escape it)" % s[i])
            i += 2  # a backslash and the byte it escapes
        end, out, i = i, bytearray(), start + 1
        while i < end:
            j = s.find(b"\\", i, end)
            j = end if j < 0 else j
            if j > i:
                try:
                    s[i:j].decode("utf-8")
                except UnicodeDecodeError as e:
                    self.fail(i + e.start, "invalid UTF-8 byte 0x%02X in string" % s[i + e.start])
                out += s[i:j]
                i = j
                continue
            e = s[i + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                i += 2
                continue
            if e != ord("u"):
                self.fail(i, "invalid escape '\\%c' in string" % (e if 0x20 <= e < 0x7F else ord("?")))
            cp = self.u4(i)
            if 0xDC00 <= cp <= 0xDFFF:
                self.fail(i, "lone low surrogate \\u%04X in string" % cp)
            if 0xD800 <= cp <= 0xDBFF:
                if i + 12 > end or s[i + 6] != ord("\\") or s[i + 7] != ord("u"):
                    self.fail(i, "lone high surrogate \\u%04X in string (not followed by \\uDC00-\\uDFFF)" % cp)
                lo = self.u4(i + 6)
                if not 0xDC00 <= lo <= 0xDFFF:
                    self.fail(i, "high surrogate \\u%04X followed by \\u%04X, not a low surrogate" % (cp, lo))
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                i += 6
            out += chr(cp).encode("utf-8")
            i += 6
        self.pos = end + 1
        return bytes(out)

    def number(self):
        s, start = self.s, self.pos
        i = start + (s[start] == ord("-"))
        if not self.digit(i):
            self.fail(i, "expected a digit in number")
        if s[i] == ord("0"):
            i += 1
            if self.digit(i):
                self.fail(start, "leading zeros are not allowed in numbers")
        else:
            i = _DIGITS.match(s, i).end()
        if i < self.n and s[i] == ord("."):
            i += 1
            if not self.digit(i):
                self.fail(i, "expected a digit after '.' in number")
            i = _DIGITS.match(s, i).end()
        if i < self.n and s[i] in b"eE":
            i += 1
            if i < self.n and s[i] in b"+-":
                i += 1
            if not self.digit(i):
                self.fail(i, "expected a digit in exponent")
            i = _DIGITS.match(s, i).end()
        if not math.isfinite(float(s[start:i])):
            self.fail(start, "number out of range for a double")
        self.pos = i

    def container(self, depth, is_obj):
        close, what = (ord("}"), "object") if is_obj else (ord("]"), "array")
        keys = []
        self.pos += 1
        self.ws()
        if self.pos < self.n and self.s[self.pos] == close:
            self.pos += 1
            return None
        while True:
            if is_obj:
                if self.pos >= self.n or self.s[self.pos] != ord('"'):
                    self.fail(self.pos, "expected a \"quoted\" object key, found %s" % self.describe(self.pos))
                kpos = self.pos
                key = self.string()
                if b"\0" in key:
                    self.fail(kpos, "object key contains \\u0000, which no key may hold")
                self.ws()
                if self.pos >= self.n or self.s[self.pos] != ord(":"):
                    self.fail(self.pos, "expected ':' after object key, found %s" % self.describe(self.pos))
                self.pos += 1
                keys.append((key, kpos))
            self.value(depth)
            self.ws()
            if self.pos >= self.n:
                self.fail(self.pos, "unexpected end of input in %s (missing '%c')" % (what, close))
            c = self.s[self.pos]
            if c == close:
                self.pos += 1
                break
            if c != ord(","):
                self.fail(self.pos, "expected ',' or '%c' in %s, found %s" % (close, what, self.describe(self.pos)))
            comma = self.pos
            self.pos += 1
            self.ws()
            if self.pos < self.n and self.s[self.pos] == close:
                self.fail(comma, "trailing comma before '%c'" % close)
        seen = set()
        for key, kpos in keys:
            if key in seen:
                self.fail(kpos, "duplicate key \"%s\" in object" % _esc(key, 160))
            seen.add(key)
        return None


# ---- the checks of charrnn's loader (src/base/safetensors.c, src/run/checkpoint.c) -----------------
#
# In the C loader's order, with its messages; each message is cut where C's
# buffer cuts it, and what it quotes from the file is escaped and cut as
# cr_esc escapes and cuts it, in a buffer of the size C gives it. Sizes are checked against the file's own bytes before
# anything is sized from them.

ST_MAX_HEADER = 100000000
ST_MAX_FILE = 64 << 30
ST_MAX_DIMS = 4
ST_MAX_EXACT = 1 << 53
U64_MAX = (1 << 64) - 1
DTYPES = {"F32": 4, "I32": 4, "F64": 8, "U8": 1, "I64": 8}
NGRAM_FORMAT = "charrnn-ngram"
MAX_ITERS = 1e15
_GATES = {"lstm": 4, "gru": 3, "rnn": 1}
_MISSING = object()  # an absent key (JSON null is None)


def _unsafe_codepoint(c):
    """A code point a terminal would not show as itself, or that reorders or
    hides the text around it (unsafe_codepoint in src/base/common.c)."""
    return (c < 0x20 or c == 0x7F or 0x80 <= c < 0xA0 or c in (0xAD, 0x061C, 0x180E, 0xFEFF)
            or 0x200B <= c <= 0x200F or 0x2028 <= c <= 0x202E or 0x2060 <= c <= 0x206F
            or 0xFFF9 <= c <= 0xFFFB or 0xE0000 <= c <= 0xE007F)


def _utf8_at(s, i):
    """(length, code point) of the well-formed UTF-8 sequence at s[i:], or (0, None)."""
    c = s[i]
    k = 2 if 0xC2 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF else 4 if 0xF0 <= c <= 0xF4 else 0
    if not k or i + k > len(s) or any(x & 0xC0 != 0x80 for x in s[i + 1:i + k]):
        return 0, None
    cp = c & (0x7F >> k)
    for x in s[i + 1:i + k]:
        cp = cp << 6 | (x & 0x3F)
    if (k == 3 and cp < 0x800) or 0xD800 <= cp <= 0xDFFF or (k == 4 and not 0x10000 <= cp <= 0x10FFFF):
        return 0, None  # overlong, a surrogate, beyond U+10FFFF
    return k, cp


_NAMED_ESCAPES = {0x5C: b"\\\\", 0x0A: b"\\n", 0x09: b"\\t", 0x0D: b"\\r"}


def _esc(s, cap):
    """File contents quoted for a message exactly as cr_esc(out, cap, ...) in
    src/base/common.c quotes them into a buffer of cap bytes: \\n, \\t, \\r, a doubled
    backslash, \\xNN for other control bytes and bytes that are not UTF-8,
    \\u{NNNN} for code points a terminal would not show as themselves (C1, bidi
    overrides, zero widths); cut with "..." at an escape or character boundary
    where the rest does not fit (room is kept for the "...")."""
    b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else bytes(s)
    room, out, i, n = cap - 1, bytearray(), 0, len(b)  # cap - 1: C's NUL
    while i < n:
        c = b[i]
        k, cp = (1, c) if c < 0x80 else _utf8_at(b, i)
        if not k:
            k, piece = 1, b"\\x%02x" % c
        elif cp in _NAMED_ESCAPES:
            piece = _NAMED_ESCAPES[cp]
        elif cp < 0x20 or cp == 0x7F:
            piece = b"\\x%02x" % c
        elif _unsafe_codepoint(cp):
            piece = b"\\u{%04X}" % cp
        else:
            piece = b[i:i + k]
        if len(out) + len(piece) + (3 if i + k < n else 0) > room:
            out += b"..."
            break
        out += piece
        i += k
    return out.decode("utf-8", "surrogateescape")


def _c_msg(text, size):
    """text as a C buffer of size bytes holds it (vsnprintf cuts at size - 1 bytes)."""
    b = text.encode("utf-8", "surrogateescape")
    return text if len(b) < size else b[:size - 1].decode("utf-8", "surrogateescape")


def _q1(name):
    """A name from the file (tensor, metadata key) as parse_file quotes it: Q1, a 160-byte buffer."""
    return _esc(name, 160)


def _q2(dtype):
    """A dtype from the file as parse_file quotes it: Q2, a 64-byte buffer."""
    return _esc(dtype, 64)


def _fail(msg):
    raise ValueError(_c_msg(msg, 768))  # charrnn_error.msg


def _st_fail(msg):
    raise ValueError(_c_msg(msg, 600))  # the safetensors reader's buffer


def _get(obj, key):
    return obj.get(key, _MISSING) if isinstance(obj, dict) else _MISSING


def _number(v):
    """A JSON number as the double C holds, or None (bool, null, string...)."""
    return float(v) if type(v) in (int, float) else None


def _string(v):
    """A JSON string C reads whole (json_get_string), or None."""
    return v if type(v) is str and "\0" not in v else None


def _get_int(obj, key, lo, hi):
    v = _number(_get(obj, key))
    return v if v is not None and v == math.floor(v) and lo <= v <= hi else None


def _as_index(v):
    d = _number(v)
    return int(d) if d is not None and 0 <= d <= ST_MAX_EXACT and d == math.floor(d) else None


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


def _check_size(size, path):
    if size == 0:
        _st_fail("%s is empty (0 bytes), not a safetensors file" % path)
    if size < 8:
        _st_fail("%s is not a safetensors file: only %d bytes, less than the 8-byte header length" % (path, size))


def _check_header_len(hl, size, path):
    if hl > size - 8:
        _st_fail("%s is not a safetensors file: header length %d exceeds file size %d" % (path, hl, size))
    if hl > ST_MAX_HEADER:
        _st_fail("%s: header length %d exceeds the limit of %d bytes (corrupt file?)" % (path, hl, ST_MAX_HEADER))
    if hl < 2:
        _st_fail("%s is not a safetensors file: header length %d is too small for a JSON object" % (path, hl))


def _file_kind(mode):
    """What a path names, in charrnn's words (src/base/files.c file_kind)."""
    for test, kind in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _check_regular(path, st):
    """st_open's refusal of what is not a regular file (file_open_read's -2)."""
    if not stat.S_ISREG(st.st_mode):
        _st_fail("%s is %s, not a checkpoint%s" % (path, _file_kind(st.st_mode), "" if stat.S_ISDIR(st.st_mode) else
                                                   " (charrnn reads checkpoints and n-gram models from regular files)"))


def _read_file(path):
    """The bytes of a checkpoint file, with st_open's checks (a FIFO or device is
    refused without blocking, the header length before the rest is read)."""
    try:  # stat first, as src/base/files.c: a FIFO or device is refused without being opened
        _check_regular(path, os.stat(path))
    except OSError:
        pass
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        _check_regular(path, st)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        size = st.st_size
        _check_size(size, path)
        if size > ST_MAX_FILE:
            _st_fail("%s: %d bytes is larger than the 64 GiB limit for a checkpoint" % (path, size))
        head = f.read(8)
        if len(head) < 8:
            _st_fail("cannot read %s: file shrank while reading" % path)
        _check_header_len(struct.unpack("<Q", head)[0], size, path)
        raw = head + f.read(size - 8)
        if len(raw) < size:
            _st_fail("cannot read %s: file shrank while reading" % path)
    return raw


def _bad_tensor(path, key, what):
    _st_fail("%s: corrupt safetensors header: tensor \"%s\" %s" % (path, _q1(key), what))


def _parse_safetensors(raw, path):
    """(tensors {name: (dtype, shape, begin, end)} in header order, metadata
    {key: str}, data block) of a safetensors file, checked as parse_file in
    src/base/safetensors.c checks it."""
    size = len(raw)
    _check_size(size, path)
    (hl,) = struct.unpack_from("<Q", raw)
    _check_header_len(hl, size, path)
    if raw[8] != ord("{"):
        _st_fail("%s is not a safetensors file: the header at byte 8 does not start with '{'" % path)
    try:
        root = _json(bytes(raw[8:8 + hl]))
    except _JSONError as e:
        _st_fail("%s: corrupt safetensors header (header starts at file byte 8): %s" % (path, _c_msg(str(e), 300)))
    if not isinstance(root, dict):
        _st_fail("%s: corrupt safetensors header: not a JSON object" % path)
    data, dsize = memoryview(raw)[8 + hl:], size - 8 - hl
    tensors, meta, spans = {}, {}, []
    for key, v in root.items():
        if key == "__metadata__":
            if not isinstance(v, dict):
                _st_fail("%s: corrupt safetensors header: \"__metadata__\" is not an object" % path)
            for k, mv in v.items():
                if type(mv) is not str:
                    _st_fail("%s: corrupt safetensors header: metadata value for \"%s\" is not a string" % (path, _q1(k)))
                if "\0" in mv:
                    _st_fail("%s: corrupt safetensors header: metadata value for \"%s\" contains a NUL character"
                             % (path, _q1(k)))
            meta = v
            continue
        if not key:
            _st_fail("%s: corrupt safetensors header: a tensor has an empty name" % path)
        if not isinstance(v, dict):
            _st_fail("%s: corrupt safetensors header: entry \"%s\" is not an object" % (path, _q1(key)))
        dt = _string(_get(v, "dtype"))
        if dt is None:
            _bad_tensor(path, key, "has no \"dtype\" string")
        if dt not in DTYPES:
            _st_fail("%s: tensor \"%s\" has dtype \"%s\", which this program does not support (supported: F32, F64, I32, "
                     "I64, U8)" % (path, _q1(key), _q2(dt)))
        shape = _get(v, "shape")
        if type(shape) is not list:
            _bad_tensor(path, key, "has no \"shape\" array")
        if len(shape) > ST_MAX_DIMS:
            _st_fail("%s: tensor \"%s\" has %d dimensions; at most %d are supported"
                     % (path, _q1(key), len(shape), ST_MAX_DIMS))
        dims = []
        for d, x in enumerate(shape):
            dims.append(_as_index(x))
            if dims[-1] is None:
                _bad_tensor(path, key, "dimension %d is not a non-negative integer" % d)
        nb = DTYPES[dt]
        for d in dims:
            if d and nb > U64_MAX // d:
                _bad_tensor(path, key, "shape is too large (size overflows)")
            nb *= d
        offs = _get(v, "data_offsets")
        b = e = None
        if type(offs) is list and len(offs) == 2:
            b, e = _as_index(offs[0]), _as_index(offs[1])
        if b is None or e is None:
            _bad_tensor(path, key, "needs \"data_offsets\": [begin, end] with non-negative integers")
        if e < b:
            _bad_tensor(path, key, "data_offsets [%d, %d] end before begin" % (b, e))
        if e > dsize:
            _st_fail("%s: truncated or corrupt: tensor \"%s\" ends at data byte %d (file byte %d) but the file has only %d "
                     "bytes of data" % (path, _q1(key), e, e + 8 + hl, dsize))
        if e - b != nb:
            _bad_tensor(path, key, "has %d bytes in data_offsets but its dtype %s and shape need %d" % (e - b, _q2(dt), nb))
        tensors[key] = (dt, dims, b, e)
        spans.append((b, e, len(spans), key))
    expect = 0
    for b, e, _, key in sorted(spans):  # equal spans in header order, as C sorts them
        if b < expect:
            _st_fail("%s: corrupt safetensors header: tensor \"%s\" at data bytes [%d, %d) overlaps the previous tensor"
                     % (path, _q1(key), b, e))
        if b > expect:
            _st_fail("%s: corrupt safetensors header: gap in the data block before tensor \"%s\" (data bytes [%d, %d) hold "
                     "no tensor)" % (path, _q1(key), expect, b))
        expect = e
    if expect != dsize:
        _st_fail("%s: corrupt safetensors file: %d trailing bytes after the last tensor (file byte %d)"
                 % (path, dsize - expect, 8 + hl + expect))
    return tensors, meta, data


def _strtol(s):
    """C's strtol(s, &end, 10) when it reads all of s, else None."""
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", s)
    if not m:
        return None
    digits = m.group(2).lstrip("0") or "0"
    v = int(digits) if len(digits) <= 19 else 1 << 63
    v = -v if m.group(1) == "-" else v
    return max(-(1 << 63), min((1 << 63) - 1, v))


def _meta_json(path, meta, key):
    if key not in meta:
        _fail("%s is not a complete charrnn checkpoint: metadata \"%s\" is missing" % (path, key))
    try:
        return _json(meta[key].encode("utf-8"))
    except _JSONError as e:
        _fail("%s: metadata \"%s\" is not valid JSON: %s" % (path, key, _c_msg(str(e), 300)))


def _bad_field(path, where, field):
    _fail("%s: %s field \"%s\" is missing or invalid; the checkpoint is damaged" % (path, where, field))


def _out_of_range(path, field, v, use, group="train_options"):
    _fail("%s: %s field \"%s\" is %.17g, out of range (%s); the checkpoint was damaged or edited"
          % (path, group, field, v, use))


def _read_config(path, meta):
    r = _meta_json(path, meta, "config")
    cell, unit = _string(_get(r, "model")), _string(_get(r, "unit"))
    L, H = _get_int(r, "num_layers", -2**31, 2**31 - 1), _get_int(r, "rnn_size", -2**31, 2**31 - 1)
    dropout, V = _number(_get(r, "dropout")), _get_int(r, "vocab_size", 1, 0x110000)
    bad = "model" if cell not in _CELLS else "num_layers" if L is None else "rnn_size" if H is None else \
        "dropout" if dropout is None or not (dropout >= 0 and np.float32(dropout) < 1) else \
        "vocab_size" if V is None else "unit" if unit not in UNITS else "vocab_size" if unit == "byte" and V > 256 else None
    if bad:  # dropout is kept as a float32: 0.99999999999 would be 1
        _bad_field(path, "config", bad)
    # the shape's limits, said in the message (check_model_config)
    if not 1 <= L <= MAX_LAYERS:
        _out_of_range(path, "num_layers", L, "use 1 to %d" % MAX_LAYERS, "config")
    if not 1 <= H <= MAX_RNN_SIZE:
        _out_of_range(path, "rnn_size", H, "use 1 to %d" % MAX_RNN_SIZE, "config")
    return r, cell, int(L), int(H), dropout, int(V), unit


def _read_options(path, meta):
    """The checks of read_options and check_run_settings (src/run/checkpoint.c, src/nn/defaults.c)."""
    r = _meta_json(path, meta, "train_options")
    o = {}
    for k in ("train_frac", "val_frac", "learning_rate", "decay_rate", "beta1", "beta2", "learning_rate_decay",
              "learning_rate_decay_after", "grad_clip", "max_epochs"):
        o[k] = _number(_get(r, k))
        if o[k] is None:
            _bad_field(path, "train_options", k)
    for k, lo, hi in (("batch_size", 1, 100000), ("seq_length", 1, 100000), ("max_iters", 0, MAX_ITERS),
                      ("eval_val_every", 1, MAX_ITERS)):
        o[k] = _get_int(r, k, lo, hi)
        if o[k] is None:
            _bad_field(path, "train_options", k)
    for k, hi in (("skip_nonfinite", MAX_ITERS), ("val_max_chars", 1e12)):
        o[k] = 0.0
        if _get(r, k) is not _MISSING:
            o[k] = _get_int(r, k, 0, hi)
            if o[k] is None:
                _bad_field(path, "train_options", k)
    # the schedule and weight decay: absent from checkpoints made before them (char-rnn's step, none)
    if _get(r, "warmup_iters") is not _MISSING and _get_int(r, "warmup_iters", 0, MAX_ITERS) is None:
        _bad_field(path, "train_options", "warmup_iters")
    for k in ("min_lr", "weight_decay"):
        o[k] = 0.0
        if _get(r, k) is not _MISSING:
            o[k] = _number(_get(r, k))
            if o[k] is None:
                _bad_field(path, "train_options", k)
    if _get(r, "lr_schedule") is not _MISSING and _string(_get(r, "lr_schedule")) not in ("step", "cosine"):
        _bad_field(path, "train_options", "lr_schedule")
    for k, names in (("unit", UNITS), ("optim", ("rmsprop", "adam", "adagrad", "sgd")), ("clip_mode", ("value", "norm"))):
        if _string(_get(r, k)) not in names:
            _bad_field(path, "train_options", k)
    seed = _string(_get(r, "seed"))
    if not seed or len(seed.encode("utf-8")) > 20 or not re.fullmatch("[0-9]+", seed) or int(seed) > U64_MAX:
        _bad_field(path, "train_options", "seed")
    # check_run_settings; the integer fields were range-checked above
    for k, ok, use in (
            ("train_frac", 0 < o["train_frac"] <= 1, "use 0 < f <= 1"),
            ("val_frac", 0 <= o["val_frac"] < 1, "use 0 <= f < 1"),
            (None, o["train_frac"] + o["val_frac"] <= 1 + 1e-9, None),
            ("learning_rate", 0 < o["learning_rate"] < 1e3, "use a positive value below 1000, such as 2e-3"),
            ("decay_rate", 0 < o["decay_rate"] < 1, "use 0 < r < 1 (char-rnn: 0.95)"),
            ("beta1", 0 <= o["beta1"] < 1, "use 0 <= b < 1"),
            ("beta2", 0 <= o["beta2"] < 1, "use 0 <= b < 1"),
            ("learning_rate_decay", 0 < o["learning_rate_decay"] <= 1, "use 0 < d <= 1"),
            ("learning_rate_decay_after", 0 <= o["learning_rate_decay_after"] < 1e9, "use 0 or more epochs"),
            ("grad_clip", 0 <= o["grad_clip"] < 1e30, "use 0 (off) or a positive value"),
            ("max_epochs", 0 < o["max_epochs"] < 1e9, "use a positive number of epochs below 1e9"),
            ("min_lr", 0 <= o["min_lr"] <= o["learning_rate"], "use 0 up to the learning rate (%s)" % _num(o["learning_rate"])),
            ("weight_decay", 0 <= o["weight_decay"] <= 1e6, "use 0 (off) or a positive value such as 0.1")):
        if ok:
            continue
        if k is None:
            _fail("%s: train_options fields \"train_frac\" %g and \"val_frac\" %g add up to more than 1; the checkpoint "
                  "was damaged or edited" % (path, o["train_frac"], o["val_frac"]))
        _out_of_range(path, k, o[k], use)
    return r


def _read_vocab(path, meta, V, unit):
    r = _meta_json(path, meta, "vocab")
    if type(r) is not list or len(r) != V:
        _fail("%s: the vocabulary does not hold vocab_size = %d entries; the checkpoint is damaged" % (path, V))
    limit, vocab = (255 if unit == "byte" else 0x10FFFF), []
    for i, e in enumerate(r):
        x = _number(e)
        if x is None or not 0 <= x <= limit or x != math.floor(x) or (unit != "byte" and 0xD800 <= x <= 0xDFFF) \
                or (i and int(x) <= vocab[-1]):
            _fail("%s: vocabulary entry %d is not a strictly ascending character code; the checkpoint is damaged" % (path, i))
        vocab.append(int(x))
    return vocab


def _param_shapes(cell, L, H, V):
    """charrnn's parameters in its order: (name, shape)."""
    GH, shapes = _GATES[cell] * H, []
    for k in range(L):
        shapes += [("weight_ih_l%d" % k, [GH, V if k == 0 else H]), ("weight_hh_l%d" % k, [GH, H]),
                   ("bias_ih_l%d" % k, [GH]), ("bias_hh_l%d" % k, [GH])]
    return shapes + [("decoder.weight", [V, H]), ("decoder.bias", [V])]


def _read_weights(path, tensors, data, cell, L, H, V):
    """The float32 parameters, by name, after checking that the file's bytes
    can hold what the config asks for (before anything is sized from it)."""
    Hf, GH = float(H), float(_GATES[cell] * H)
    n = float(V) * (Hf + 1)
    for k in range(L):
        n += GH * ((V if k == 0 else Hf) + Hf + 2)
    want, have = 4.0 * n, float(sum(e - b for _, _, b, e in tensors.values()))
    if want > have:
        _fail("%s: its config (%d x %d %s, vocabulary %d) needs %.0f bytes of weights but the file holds %.0f; the "
              "checkpoint is damaged" % (path, L, H, cell, V, want, have))
    params = {}
    for name, shape in _param_shapes(cell, L, H, V):
        t = tensors.get(name)
        if t is None:
            _fail("%s: tensor \"%s\" is missing; the checkpoint is damaged or not from charrnn" % (path, name))
        dt, dims, b, e = t
        if dt != "F32" or dims != shape:
            _fail("%s: tensor \"%s\" is %s [%s], expected F32 [%s] for this model's config"
                  % (path, name, dt, ", ".join(map(str, dims)), ", ".join(map(str, shape))))
        a = np.frombuffer(data, dtype="<f4", count=(e - b) // 4, offset=b).astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:  # as charrnn: the first tensor, in the model's order, and the first element
            _fail("%s: tensor \"%s\" holds NaN or infinite values (element %d); the checkpoint is damaged: use an "
                  "earlier one" % (path, name, bad[0]))
        params[name] = a.reshape(shape)
    return params


def _read_train_state(path, meta, tensors):
    r = _meta_json(path, meta, "train_state")
    it = _get_int(r, "iteration", 0, MAX_ITERS)
    ep, lr = _number(_get(r, "epoch")), _number(_get(r, "learning_rate"))
    for field, ok in (("iteration", it is not None), ("epoch", ep is not None and 0 <= ep < 1e18),
                      ("learning_rate", lr is not None and 0 <= lr < 1e3)):  # a cosine schedule may end at 0
        if not ok:
            _bad_field(path, "train_state", field)
    t = tensors.get("history.train_loss")
    if t is None or t[0] != "F32" or len(t[1]) != 1 or t[1][0] != it:
        _fail("%s: train_state field \"iteration\" is %.0f but tensor \"history.train_loss\" does not hold that many "
              "losses; the checkpoint was damaged or edited" % (path, it))
    h = _get(r, "val_history")
    if type(h) is not list:
        _bad_field(path, "train_state", "val_history")
    for e in h:
        x = _number(e[0]) if type(e) is list and len(e) == 2 else None
        if x is None or not 0 <= x <= it or x != math.floor(x) or not (e[1] is None or _number(e[1]) is not None):
            _bad_field(path, "train_state", "val_history")
    return r


def _check(raw, path, verify_checksum=True):
    """Everything `charrnn info` checks, in its order, with its messages:
    (cell, layers, size, vocabulary, unit, dropout, parameters by name,
    metadata strings). ValueError for what charrnn refuses."""
    tensors, meta, data = _parse_safetensors(raw, path)
    fmt = meta.get("format")
    if fmt == NGRAM_FORMAT:
        _fail("%s is an n-gram model (charrnn ngram --save), not a network checkpoint; charrnn eval and charrnn sample "
              "read both, this needs a network" % path)
    if fmt != "charrnn":
        _fail("%s is a safetensors file but not a charrnn checkpoint (no \"format\": \"charrnn\" metadata)" % path)
    ver = meta.get("format_version")
    v = None if ver is None else _strtol(ver)
    if v is None or v < 1:
        _fail("%s: format_version \"%s\" is not a version number; the checkpoint is damaged"
              % (path, "(missing)" if ver is None else _esc(ver, 100)))
    if v > FORMAT_VERSION:
        _fail("%s was written in checkpoint format version %d, but this charrnn_torch reads version %d at most; upgrade "
              "charrnn to read it" % (path, v, FORMAT_VERSION))
    if verify_checksum:
        if "checksum" not in meta:
            _fail("%s has no checksum; the checkpoint is damaged or was edited" % path)
        mine = _checksum(meta, data)
        if meta["checksum"] != mine:
            _fail("%s is corrupted: its checksum is %s but its contents give %s (truncated, damaged or edited); use "
                  "another checkpoint, e.g. the previous latest or best" % (path, _esc(meta["checksum"], 100), mine))
    _, cell, L, H, dropout, V, unit = _read_config(path, meta)
    _read_options(path, meta)
    vocab = _read_vocab(path, meta, V, unit)
    params = _read_weights(path, tensors, data, cell, L, H, V)
    _read_train_state(path, meta, tensors)
    return cell, L, H, V, unit, dropout, vocab, params, meta


def load(path, verify_checksum=True):
    """Reads a charrnn checkpoint into a Model (rnn and decoder on the CPU, in
    eval mode, float32). Raises ValueError, with charrnn's own message, for
    every file `charrnn info` refuses (not a charrnn checkpoint, a newer
    format version, a failed checksum, a config, vocabulary, option or tensor
    that charrnn would not take, NaN or infinite weights), and for no other;
    OSError if the file cannot be opened. verify_checksum=False skips the
    checksum (pure Python, about 5 MB/s). Nothing is allocated from the config
    before the file's own bytes are known to hold it."""
    cell, L, H, V, unit, dropout, vocab, params, meta = _check(_read_file(path), path, verify_checksum)
    # built on the meta device, then given memory without initialising it: the weights come next
    rnn = _CELLS[cell][0](V, H, L, dropout=dropout if L > 1 else 0.0, device="meta").to_empty(device="cpu")
    rnn.dropout = dropout  # kept for save(); PyTorch (like charrnn) applies it between layers only
    rnn.load_state_dict({k: torch.from_numpy(params[k]) for k in rnn.state_dict()})
    decoder = nn.Linear(H, V, device="meta").to_empty(device="cpu")
    decoder.load_state_dict({"weight": torch.from_numpy(params["decoder.weight"]),
                             "bias": torch.from_numpy(params["decoder.bias"])})
    rnn.eval()
    decoder.eval()
    parsed = {}
    for k, v in meta.items():
        try:
            parsed[k] = _json(v.encode("utf-8"))
        except _JSONError:
            parsed[k] = v
    return Model(rnn, decoder, vocab, unit, parsed["config"], parsed)


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
    renamed over path. Raises ValueError for a model charrnn cannot represent
    and for a file load() would refuse (options out of charrnn's ranges...).
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
    if not (0 <= dropout and np.float32(dropout) < 1):
        raise ValueError("dropout %g: charrnn takes 0 <= p < 1" % dropout)

    opts = dict(DEFAULT_TRAIN_OPTIONS, unit=unit)
    for k, v in (train_options or {}).items():
        if k not in opts:
            raise ValueError("unknown train option %r (known: %s)" % (k, ", ".join(opts)))
        opts[k] = str(v) if k == "seed" else v
    opts["unit"] = unit
    opts = {k: (_num(v) if isinstance(v, float) else v) for k, v in opts.items()}
    try:  # before the state tensors are sized from batch_size
        _read_options(path, {"train_options": _dumps(opts)})
    except ValueError as e:
        raise ValueError("not saved: charrnn would refuse the file: %s" % e) from None
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
    for name, _ in _param_shapes(cell, L, H, V)[:-2]:
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
    raw = struct.pack("<Q", len(htext)) + htext + data
    try:  # never write what charrnn (or load) would refuse
        _check(raw, path, verify_checksum=False)
    except ValueError as e:
        raise ValueError("not saved: charrnn would refuse the file: %s" % e) from None

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
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
