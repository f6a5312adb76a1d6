"""charrnn: character-level RNN language models from Python, through libcharrnn.

A ctypes binding of the C library (no compiler needed at install): open a
checkpoint, sample from it, stream its characters, score a text, read its
next-character distribution and hidden state, and train a new model.

    import charrnn
    with charrnn.Model("cv/best.safetensors") as m:
        print(m.sample("the ", 200, temperature=0.8, seed=1))
        for ch in m.stream("the ", 50):
            print(ch, end="", flush=True)
        print(m.score("the cat sat on the mat.").bpc)

    charrnn.train("input.txt", "model.safetensors", rnn_size=128, max_iters=1000,
                  progress=lambda s: print(s.iteration, s.loss))

The library is found through the environment variable CHARRNN_LIBRARY (a path
to libcharrnn.so), then the repository's build folder next to this file
(../build/release), then the library `make install`
installed with this file, then the system's library path. Every
error the library reports raises a charrnn.Error (a subclass per error code)
carrying its one-line message; a Python argument of the wrong type or value
raises TypeError or ValueError before the library is called.

Text: a model reads code points (unit "codepoint": str in, str out) or bytes
(unit "byte": bytes in, bytes out; str is accepted in and encoded as UTF-8).
"""

import ctypes
import ctypes.util
import math
import os
import warnings
from collections import namedtuple

__all__ = ["Model", "Reader", "Score", "StepStats", "TrainResult", "train", "library", "version", "Error",
           "InvalidArgumentError", "FileError", "FormatError", "OutOfMemoryError", "NonFiniteError",
           "MismatchError", "DataError", "CanceledError", "LayoutError"]


# ---- errors -------------------------------------------------------------------------------------

class Error(Exception):
    """An error the library reported: .code (CHARRNN_E*), .message (its one line)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidArgumentError(Error):
    """CHARRNN_EINVAL: a bad argument or option value."""


class FileError(Error):
    """CHARRNN_EIO: a file could not be read or written."""


class FormatError(Error):
    """CHARRNN_EFORMAT: a file is not what it claims (checkpoint, UTF-8)."""


class OutOfMemoryError(Error):
    """CHARRNN_ENOMEM."""


class NonFiniteError(Error):
    """CHARRNN_ENONFINITE: the loss or a gradient became NaN or infinite."""


class MismatchError(Error):
    """CHARRNN_EMISMATCH: a checkpoint does not fit (vocabulary, model type)."""


class DataError(Error):
    """CHARRNN_EDATA: the corpus is too small for the request."""


class CanceledError(Error):
    """CHARRNN_ECANCELED: a progress callback asked to stop."""


class LayoutError(Error):
    """The library's structs are not laid out as this module mirrors them (another version)."""


_ERRORS = {1: InvalidArgumentError, 2: FileError, 3: FormatError, 4: OutOfMemoryError, 5: NonFiniteError,
           6: MismatchError, 7: DataError, 8: CanceledError}


# ---- the C structs, as include/charrnn.h declares them -------------------------------------------

class _Err(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 768)]


class _ModelConfig(ctypes.Structure):
    _fields_ = [("cell", ctypes.c_int), ("num_layers", ctypes.c_int), ("rnn_size", ctypes.c_int),
                ("dropout", ctypes.c_float)]


class _TrainOptions(ctypes.Structure):
    _fields_ = [("unit", ctypes.c_int), ("batch_size", ctypes.c_int), ("seq_length", ctypes.c_int),
                ("train_frac", ctypes.c_double), ("val_frac", ctypes.c_double), ("optim", ctypes.c_int),
                ("learning_rate", ctypes.c_double), ("decay_rate", ctypes.c_double), ("beta1", ctypes.c_double),
                ("beta2", ctypes.c_double), ("learning_rate_decay", ctypes.c_double),
                ("learning_rate_decay_after", ctypes.c_double), ("grad_clip", ctypes.c_double),
                ("clip_mode", ctypes.c_int), ("max_epochs", ctypes.c_double), ("max_iters", ctypes.c_long),
                ("eval_val_every", ctypes.c_long), ("seed", ctypes.c_uint64), ("skip_nonfinite", ctypes.c_long),
                ("val_max_chars", ctypes.c_long), ("lr_schedule", ctypes.c_int), ("min_lr", ctypes.c_double),
                ("warmup_iters", ctypes.c_long), ("weight_decay", ctypes.c_double)]


class _ModelInfo(ctypes.Structure):
    _fields_ = [("config", _ModelConfig), ("unit", ctypes.c_int), ("vocab_size", ctypes.c_int),
                ("num_params", ctypes.c_size_t), ("iteration", ctypes.c_long), ("epoch", ctypes.c_double),
                ("learning_rate", ctypes.c_double), ("train_loss", ctypes.c_double), ("val_loss", ctypes.c_double),
                ("num_history", ctypes.c_int), ("run_id", ctypes.c_uint64)]


class _EvalResult(ctypes.Structure):
    _fields_ = [("nats", ctypes.c_double), ("bpc", ctypes.c_double), ("predicted", ctypes.c_long),
                ("unknown", ctypes.c_long), ("unknown_examples", ctypes.c_uint32 * 8),
                ("num_unknown_examples", ctypes.c_int), ("streams", ctypes.c_int)]


class _SampleConfig(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_float), ("top_k", ctypes.c_int), ("top_p", ctypes.c_float),
                ("min_p", ctypes.c_float), ("repetition_penalty", ctypes.c_float),
                ("repetition_window", ctypes.c_int)]


class _StepStats(ctypes.Structure):
    _fields_ = [("iteration", ctypes.c_long), ("total_iters", ctypes.c_long), ("epoch", ctypes.c_double),
                ("loss", ctypes.c_double), ("grad_norm", ctypes.c_double), ("learning_rate", ctypes.c_double),
                ("epoch_end", ctypes.c_int), ("skipped", ctypes.c_int), ("skipped_total", ctypes.c_long)]


_STRUCTS = {"charrnn_error": _Err, "charrnn_model_config": _ModelConfig, "charrnn_train_options": _TrainOptions,
            "charrnn_model_info": _ModelInfo, "charrnn_eval_result": _EvalResult,
            "charrnn_sample_config": _SampleConfig, "charrnn_step_stats": _StepStats}

_CELLS = {"lstm": 0, "gru": 1, "rnn": 2}
_UNITS = {"codepoint": 0, "byte": 1}
_OPTIMS = {"rmsprop": 0, "adam": 1, "adagrad": 2, "sgd": 3}
_CLIPS = {"value": 0, "norm": 1}
_SCHEDULES = {"step": 0, "cosine": 1}
_PRECISIONS = {"auto": 0, "fp32": 1, "bf16": 2, "tf32": 3}

_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_E = ctypes.POINTER(_Err)
_SIGS = {
    "charrnn_version": (ctypes.c_char_p, []),
    "charrnn_struct_layout": (ctypes.c_long, [ctypes.c_char_p, ctypes.c_char_p]),
    "charrnn_model_load": (ctypes.c_int, [_PP, ctypes.c_char_p, _E]),
    "charrnn_model_close": (None, [_P]),
    "charrnn_model_get_info": (None, [_P, ctypes.POINTER(_ModelInfo)]),
    "charrnn_model_vocab": (ctypes.c_uint32, [_P, ctypes.c_int]),
    "charrnn_model_set_threads": (None, [_P, ctypes.c_int]),
    "charrnn_model_set_precision": (ctypes.c_int, [_P, ctypes.c_int, _E]),
    "charrnn_model_precision": (ctypes.c_int, [_P]),
    "charrnn_evaluate": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int, _P, _P,
                                        ctypes.POINTER(_EvalResult), _E]),
    "charrnn_stream_open": (ctypes.c_int, [_PP, _P, ctypes.c_int, _E]),
    "charrnn_stream_close": (None, [_P]),
    "charrnn_stream_reset": (None, [_P]),
    "charrnn_stream_feed": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_int), _E]),
    "charrnn_stream_feed_text": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_long),
                                                _E]),
    "charrnn_stream_probs": (ctypes.POINTER(ctypes.c_float), [_P, ctypes.c_int]),
    "charrnn_stream_logprobs": (None, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]),
    "charrnn_stream_state_size": (ctypes.c_size_t, [_P]),
    "charrnn_stream_get_state": (None, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]),
    "charrnn_stream_set_state": (None, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]),
    "charrnn_sampler_open": (ctypes.c_int, [_PP, _P, ctypes.c_int, ctypes.c_uint64, _E]),
    "charrnn_sampler_close": (None, [_P]),
    "charrnn_sampler_use_half": (ctypes.c_int, [_P, _E]),
    "charrnn_sampler_prime": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_long),
                                             ctypes.POINTER(ctypes.c_uint32), ctypes.c_int,
                                             ctypes.POINTER(ctypes.c_int), _E]),
    "charrnn_sample_config_default": (None, [ctypes.POINTER(_SampleConfig)]),
    "charrnn_sample_config_check": (ctypes.c_int, [ctypes.POINTER(_SampleConfig), _E]),
    "charrnn_sampler_configure": (ctypes.c_int, [_P, ctypes.POINTER(_SampleConfig), _E]),
    "charrnn_sampler_draw": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_uint32), _E]),
    "charrnn_model_config_default": (None, [ctypes.POINTER(_ModelConfig)]),
    "charrnn_train_options_default": (None, [ctypes.POINTER(_TrainOptions)]),
    "charrnn_trainer_open": (ctypes.c_int, [_PP, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                                            ctypes.POINTER(_ModelConfig), ctypes.POINTER(_TrainOptions), _E]),
    "charrnn_trainer_resume": (ctypes.c_int, [_PP, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                              ctypes.c_size_t, ctypes.POINTER(_TrainOptions), _E]),
    "charrnn_trainer_close": (None, [_P]),
    "charrnn_trainer_step": (ctypes.c_int, [_P, ctypes.POINTER(_StepStats), _E]),
    "charrnn_trainer_done": (ctypes.c_int, [_P]),
    "charrnn_trainer_validate": (ctypes.c_int, [_P, _P, _P, ctypes.POINTER(ctypes.c_double), _E]),
    "charrnn_trainer_save": (ctypes.c_int, [_P, ctypes.c_char_p, _E]),
    "charrnn_trainer_set_threads": (None, [_P, ctypes.c_int]),
    "charrnn_trainer_model": (_P, [_P]),
    "charrnn_trainer_options": (ctypes.POINTER(_TrainOptions), [_P]),
}


# ---- finding and checking the library ------------------------------------------------------------

_lib = None
_INSTALLED_LIBRARY = None  # `make install` writes the installed library's path here


def _candidates():
    env = os.environ.get("CHARRNN_LIBRARY")
    if env:
        return [env]  # asked for by name: that one or an error, never another
    here = os.path.dirname(os.path.abspath(__file__))
    # the release build only: a sanitized library loads only into a process started with its runtime
    out = [os.path.join(here, "..", "build", "release", "libcharrnn.so")]
    if _INSTALLED_LIBRARY:
        out.append(_INSTALLED_LIBRARY)
    out = [p for p in out if os.path.exists(p)]
    found = ctypes.util.find_library("charrnn")
    if found:
        out.append(found)
    out.append("libcharrnn.so.0")
    return out


def _check_layout(lib, structs=None):
    """Every mirrored struct's size and every field's offset as the library compiled them."""
    for cname, py in (structs or _STRUCTS).items():
        size = lib.charrnn_struct_layout(cname.encode(), None)
        if size != ctypes.sizeof(py):
            raise LayoutError("%s is %d bytes in the library but %d in charrnn.py: the library and this module "
                              "are of different versions; use the charrnn.py that came with the library"
                              % (cname, size, ctypes.sizeof(py)))
        for fname, _ in py._fields_:
            off = lib.charrnn_struct_layout(cname.encode(), fname.encode())
            if off != getattr(py, fname).offset:
                raise LayoutError("%s.%s is at offset %d in the library but %d in charrnn.py: the library and this "
                                  "module are of different versions; use the charrnn.py that came with the library"
                                  % (cname, fname, off, getattr(py, fname).offset))


def library():
    """The loaded libcharrnn (a ctypes.CDLL), loading and checking it on first use."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    lib = None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            tried.append(str(e))
    if lib is None:
        raise Error("libcharrnn not found (%s): build it with `make lib`, install it with `make install`, or set "
                    "CHARRNN_LIBRARY to its path" % "; ".join(tried))
    for name, (res, args) in _SIGS.items():
        try:
            f = getattr(lib, name)
        except AttributeError:
            raise Error("%s has no %s: it is older than this charrnn.py; use the charrnn.py that came with the "
                        "library" % (lib._name, name)) from None
        f.restype = res
        f.argtypes = args
    _check_layout(lib)
    _lib = lib
    return lib


def version():
    """The version of the library loaded (e.g. "0.2.0")."""
    return library().charrnn_version().decode()


def _call(fn, *args):
    """Calls a library function that ends with a charrnn_error *; raises its error."""
    err = _Err()
    rc = fn(*args, ctypes.byref(err))
    if rc:
        msg = err.msg.decode("utf-8", "backslashreplace")
        raise _ERRORS.get(err.code or rc, Error)(msg, err.code or rc)


# ---- argument checks (before any call into C) ----------------------------------------------------

def _int(name, v, lo=None, hi=None):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("%s must be an int, not %s" % (name, type(v).__name__))
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError("%s=%d is out of range [%s, %s]" % (name, v, lo, "inf" if hi is None else hi))
    return v


def _float(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("%s must be a number, not %s" % (name, type(v).__name__))
    if not math.isfinite(v):
        raise ValueError("%s=%r must be finite" % (name, v))
    return float(v)


def _choice(name, v, table):
    if not isinstance(v, str):
        raise TypeError("%s must be a str, one of %s, not %s" % (name, ", ".join(table), type(v).__name__))
    if v not in table:
        raise ValueError("%s=%r: use one of %s" % (name, v, ", ".join(table)))
    return table[v]


def _path(name, v):
    if not isinstance(v, (str, bytes, os.PathLike)):
        raise TypeError("%s must be a path (str, bytes or os.PathLike), not %s" % (name, type(v).__name__))
    p = os.fsencode(v)
    if not p or b"\0" in p:
        raise ValueError("%s must be a non-empty path without NUL characters" % name)
    return p


def _text_bytes(name, v, unit):
    """str (UTF-8) or bytes-like as the bytes the library reads."""
    if isinstance(v, str):
        try:
            return v.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError("%s holds a lone surrogate at index %d: it has no UTF-8 form" % (name, e.start)) from None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError("%s must be str or bytes, not %s" % (name, type(v).__name__))


def _seed(v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("seed must be an int, not %s" % type(v).__name__)
    if v < 0 or v >= 1 << 64:
        raise ValueError("seed=%d is out of range [0, 2**64)" % v)
    return v


# ---- models ------------------------------------------------------------------------------------

Score = namedtuple("Score", "nats bpc predicted unknown unknown_chars streams logprobs")
Score.__doc__ = """A text's loss: mean nats and bits per predicted character, how many were predicted,
the characters outside the vocabulary (skipped; their count and the first distinct ones), the streams it was
read in, and (score(..., logprobs=True)) a list of (character, natural-log probability) for every predicted
character, else None."""


class _Sampler:
    """A charrnn_sampler handle, closed once: when its characters run out, or when a stream that was never
    read to its end is collected."""

    def __init__(self):
        self.h = ctypes.c_void_p()

    def close(self):
        h, self.h = self.h, ctypes.c_void_p()
        if h.value:
            library().charrnn_sampler_close(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _Handle:
    """What a Python object over a library handle shares: `with`, close at collection, and a
    clear error after close. Subclasses set _h (None once closed), close() and _what."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if self._h is None:
            raise ValueError(f"the {self._what} is closed")
        return self._h


class Model(_Handle):
    """A checkpoint opened for sampling, scoring and inspection. Model(path, threads=0, precision=None):
    threads for its work (0: the process default); precision "fp32", "bf16", "tf32" (a GPU's) or "auto" (None: the library's
    default, fp32). Close it (or use `with`); streams and readers opened from it keep it alive."""

    _what = "model"

    def __init__(self, path, threads=0, precision=None):
        p = _path("path", path)
        _int("threads", threads, 0, 4096)
        prec = None if precision is None else _choice("precision", precision, _PRECISIONS)
        lib = library()
        h = ctypes.c_void_p()
        _call(lib.charrnn_model_load, ctypes.byref(h), p)
        self._h = h
        self._own = True
        self.path = os.fsdecode(p)
        self._setup(threads, prec)

    def _setup(self, threads, prec):
        lib = library()
        if threads:
            lib.charrnn_model_set_threads(self._h, threads)
        if prec is not None:
            _call(lib.charrnn_model_set_precision, self._h, prec)
        info = _ModelInfo()
        lib.charrnn_model_get_info(self._h, ctypes.byref(info))
        self.unit = "byte" if info.unit == 1 else "codepoint"
        self.cell = {v: k for k, v in _CELLS.items()}.get(info.config.cell, "?")
        self.num_layers = info.config.num_layers
        self.rnn_size = info.config.rnn_size
        self.dropout = info.config.dropout
        self.vocab_size = info.vocab_size
        self.num_params = info.num_params
        self.iteration = info.iteration
        self.epoch = info.epoch
        self.train_loss = info.train_loss
        self.val_loss = info.val_loss
        self.run_id = info.run_id
        self._codes = [lib.charrnn_model_vocab(self._h, i) for i in range(info.vocab_size)]
        self._index = {c: i for i, c in enumerate(self._codes)}

    # lifetime
    def close(self):
        """Gives up this handle (idempotent)."""
        h, self._h = getattr(self, "_h", None), None
        if h is not None and h.value and self._own:
            library().charrnn_model_close(h)


    # characters
    def _char(self, code):
        return bytes([code]) if self.unit == "byte" else chr(code)

    def _join(self, codes):
        if self.unit == "byte":
            return bytes(codes)
        return "".join(map(chr, codes))

    @property
    def vocab(self):
        """The vocabulary, in the model's order: characters (str), or bytes for a byte model."""
        return [self._char(c) for c in self._codes]

    @property
    def precision(self):
        """What the model's products use now: "fp32" or "bf16"."""
        return {2: "bf16", 3: "tf32"}.get(library().charrnn_model_precision(self._handle()), "fp32")

    def __repr__(self):
        return "<charrnn.Model %s: %d x %d %s, vocabulary %d%s>" % (
            self.path, self.num_layers, self.rnn_size, self.cell, self.vocab_size, "" if self._h else ", closed")

    # sampling
    def _sampler(self, prime, length, temperature, top_k, top_p, min_p, repetition_penalty, repetition_window, seed,
                 stop, half):
        """Checks every argument, then opens, configures and primes a sampler."""
        pb = _text_bytes("prime", prime, self.unit)
        _int("length", length, 0)
        cfg = _SampleConfig()
        lib = library()
        lib.charrnn_sample_config_default(ctypes.byref(cfg))
        cfg.temperature = _float("temperature", temperature)
        cfg.top_k = _int("top_k", top_k, 0, 2**31 - 1)
        cfg.top_p = _float("top_p", top_p)
        cfg.min_p = _float("min_p", min_p)
        cfg.repetition_penalty = _float("repetition_penalty", repetition_penalty)
        cfg.repetition_window = _int("repetition_window", repetition_window, -2**31, 2**31 - 1)
        _seed(seed)
        if not isinstance(half, bool):
            raise TypeError("half must be a bool, not %s" % type(half).__name__)
        stops = self._stops(stop)
        _call(lib.charrnn_sample_config_check, ctypes.byref(cfg))
        s = _Sampler()
        _call(lib.charrnn_sampler_open, ctypes.byref(s.h), self._handle(), 1, seed)
        try:
            _call(lib.charrnn_sampler_configure, s.h, ctypes.byref(cfg))
            if half:
                _call(lib.charrnn_sampler_use_half, s.h)
            if pb:
                skipped, ex, nex = ctypes.c_long(), (ctypes.c_uint32 * 8)(), ctypes.c_int()
                _call(lib.charrnn_sampler_prime, s.h, pb, len(pb), ctypes.byref(skipped), ex, 8, ctypes.byref(nex))
                if skipped.value:
                    warnings.warn("%d character(s) of the prime text are not in the model's vocabulary and were "
                                  "skipped: %s" % (skipped.value, ", ".join(repr(self._char(c)) for c in ex[:nex.value])),
                                  stacklevel=4)
        except BaseException:
            s.close()
            raise
        return s, stops

    def _stops(self, stop):
        if stop is None:
            return []
        if isinstance(stop, (str, bytes)):
            stop = [stop]
        try:
            stops = list(stop)
        except TypeError:
            raise TypeError("stop must be a str, bytes or a list of them, not %s" % type(stop).__name__) from None
        out = []
        for s in stops:
            b = _text_bytes("stop", s, self.unit)
            if not b:
                raise ValueError("stop strings must not be empty")
            out.append(b)
        return out

    def _draw(self, s, length, stops):
        """Yields the drawn characters' codes, ending after length or a stop string (which is included)."""
        lib = library()
        c = ctypes.c_uint32()
        tail = b""
        longest = max((len(x) for x in stops), default=0)
        try:
            for _ in range(length):
                _call(lib.charrnn_sampler_draw, s.h, ctypes.byref(c))
                code = c.value
                yield code
                if stops:
                    tail = (tail + (bytes([code]) if self.unit == "byte" else chr(code).encode("utf-8")))[-longest:]
                    if any(tail.endswith(x) for x in stops):
                        return
        finally:
            s.close()

    def sample(self, prime="", length=2000, *, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0,
               repetition_penalty=1.0, repetition_window=64, seed=123, stop=None, half=False):
        """The text the model writes after prime: `length` characters (fewer if a stop string ends it; the stop
        string is included), without the prime. The controls are charrnn_sample_config's (and `charrnn sample`'s
        options, with the same defaults): temperature (0: always the likeliest), top_k (0: off), top_p (1: off),
        min_p (0: off), repetition_penalty (1: off) over the last repetition_window characters; seed makes it
        reproducible (the same text as `charrnn sample --seed`); half=True draws from half-precision weights.
        Characters of the prime outside the vocabulary are skipped with a warning."""
        s, stops = self._sampler(prime, length, temperature, top_k, top_p, min_p, repetition_penalty,
                                 repetition_window, seed, stop, half)
        return self._join(list(self._draw(s, length, stops)))

    def stream(self, prime="", length=2000, **controls):
        """As sample(), one character at a time: a generator of characters (str, or 1-byte bytes for a byte model).
        Every argument is checked and the prime read before the first character is asked for."""
        s, stops = self._sampler(prime, length, *self._controls(**controls))
        return (self._char(c) for c in self._draw(s, length, stops))

    @staticmethod
    def _controls(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0, repetition_window=64,
                  seed=123, stop=None, half=False):
        return temperature, top_k, top_p, min_p, repetition_penalty, repetition_window, seed, stop, half

    # scoring and inspection
    def score(self, text, *, streams=1, logprobs=False):
        """The loss of the model on text: a Score (nats, bpc, predicted, unknown, unknown_chars, streams, logprobs).
        streams=1 (the default) reads the text as one stream from a zero state: every character after the first
        predicted from all the text before it, as `charrnn eval --streams 1`; more cuts it into that many slices
        read in parallel (0: as `charrnn eval` does by default). logprobs=True adds (character, log-probability) of
        every predicted character, read one at a time (one stream)."""
        b = _text_bytes("text", text, self.unit)
        _int("streams", streams, 0, 100000)
        if not isinstance(logprobs, bool):
            raise TypeError("logprobs must be a bool, not %s" % type(logprobs).__name__)
        if logprobs and streams != 1:
            raise ValueError("logprobs=True reads the text as one stream: give streams=1")
        lib = library()
        res = _EvalResult()
        _call(lib.charrnn_evaluate, self._handle(), b, len(b), b"the text", streams, None, None, ctypes.byref(res))
        lp = None
        if logprobs:
            codes = list(b) if self.unit == "byte" else [ord(ch) for ch in b.decode("utf-8")]
            ids = [self._index[c] for c in codes if c in self._index]
            lp = []
            with Reader(self) as r:
                for k, i in enumerate(ids):
                    if k:
                        lp.append((self._char(self._codes[i]), r._logprob(i)))
                    r._feed_id(i)
        unk = [self._char(c) for c in res.unknown_examples[:res.num_unknown_examples]]
        return Score(res.nats, res.bpc, res.predicted, res.unknown, unk, res.streams, lp)

    def reader(self):
        """A Reader: the model reading text one character at a time, its distribution and state at hand."""
        return Reader(self)

    def next_probs(self, text="", as_list=False):
        """The next-character distribution after reading text from a zero state: {character: probability},
        or (as_list=True) the probabilities in vocabulary order (self.vocab)."""
        with Reader(self) as r:
            r.feed(text)
            return r.probs(as_list=as_list)


class Reader(_Handle):
    """The model reading text one character at a time (a charrnn_stream): feed(text), probs(), logprobs(),
    get_state()/set_state(), reset(). After opening or reset() it has read nothing and its distribution is
    uniform. Close it (or use `with`)."""

    _what = "reader"

    def __init__(self, model):
        if not isinstance(model, Model):
            raise TypeError("Reader needs a charrnn.Model, not %s" % type(model).__name__)
        lib = library()
        h = ctypes.c_void_p()
        _call(lib.charrnn_stream_open, ctypes.byref(h), model._handle(), 1)
        self._h = h
        self.model = model
        self.state_size = lib.charrnn_stream_state_size(h)

    def close(self):
        h, self._h = getattr(self, "_h", None), None
        if h is not None and h.value:
            library().charrnn_stream_close(h)


    def reset(self):
        library().charrnn_stream_reset(self._handle())

    def feed(self, text):
        """Reads text; returns how many of its characters were outside the vocabulary (skipped)."""
        b = _text_bytes("text", text, self.model.unit)
        unknown = ctypes.c_long()
        _call(library().charrnn_stream_feed_text, self._handle(), b, len(b), ctypes.byref(unknown))
        return unknown.value

    def _feed_id(self, i):
        ids = ctypes.c_int(i)
        _call(library().charrnn_stream_feed, self._handle(), ctypes.byref(ids))

    def _logprob(self, i):
        out = (ctypes.c_float * self.model.vocab_size)()
        library().charrnn_stream_logprobs(self._handle(), 0, out)
        return out[i]

    def _dist(self, values, as_list):
        if as_list:
            return values
        return {self.model._char(c): v for c, v in zip(self.model._codes, values)}

    def probs(self, as_list=False):
        """The next-character distribution: {character: probability}, or a list in vocabulary order."""
        p = library().charrnn_stream_probs(self._handle(), 0)
        return self._dist(p[:self.model.vocab_size], as_list)

    def logprobs(self, as_list=False):
        """The same as natural-log probabilities."""
        out = (ctypes.c_float * self.model.vocab_size)()
        library().charrnn_stream_logprobs(self._handle(), 0, out)
        return self._dist(out[:], as_list)

    def get_state(self, numpy=False):
        """The recurrent state as state_size floats: for every layer its h (rnn_size values) and, for an LSTM, its
        c, then the logits it predicts from. A list, or a numpy float32 array with numpy=True."""
        out = (ctypes.c_float * self.state_size)()
        library().charrnn_stream_get_state(self._handle(), 0, out)
        if numpy:
            import numpy as np
            return np.array(out, dtype=np.float32)
        return out[:]

    def set_state(self, values):
        """Makes the reader exactly as it was when get_state() gave values (any sequence of state_size numbers)."""
        try:
            vals = [float(v) for v in values]
        except TypeError:
            raise TypeError("set_state needs a sequence of numbers, not %s" % type(values).__name__) from None
        if len(vals) != self.state_size:
            raise ValueError("set_state needs %d values (state_size), not %d" % (self.state_size, len(vals)))
        library().charrnn_stream_set_state(self._handle(), 0, (ctypes.c_float * self.state_size)(*vals))

    def hidden(self):
        """The state by layer: a list of (h, c) pairs of lists (c None for a GRU or RNN)."""
        s = self.get_state()
        H, lstm = self.model.rnn_size, self.model.cell == "lstm"
        out, at = [], 0
        for _ in range(self.model.num_layers):
            h = s[at:at + H]
            at += H
            c = None
            if lstm:
                c = s[at:at + H]
                at += H
            out.append((h, c))
        return out


# ---- training ------------------------------------------------------------------------------------

StepStats = namedtuple("StepStats", "iteration total_iters epoch loss grad_norm learning_rate epoch_end skipped "
                                    "skipped_total val_loss")
StepStats.__doc__ = """One training step, as the progress callback sees it (val_loss: the validation loss when
this step ended with a validation, else None)."""
TrainResult = namedtuple("TrainResult", "checkpoint iterations train_loss val_loss stopped")
TrainResult.__doc__ = """What train() did: the checkpoint it wrote, the iterations done, the last step's training
loss, the last validation loss (None if none ran), and whether the progress callback stopped it."""

_MODEL_FIELDS = {"cell": _CELLS, "num_layers": int, "rnn_size": int, "dropout": float}
_OPTION_FIELDS = {"unit": _UNITS, "batch_size": int, "seq_length": int, "train_frac": float, "val_frac": float,
                  "optim": _OPTIMS, "learning_rate": float, "decay_rate": float, "beta1": float, "beta2": float,
                  "learning_rate_decay": float, "learning_rate_decay_after": float, "grad_clip": float,
                  "clip_mode": _CLIPS, "max_epochs": float, "max_iters": int, "eval_val_every": int, "seed": int,
                  "skip_nonfinite": int, "val_max_chars": int, "lr_schedule": _SCHEDULES, "min_lr": float,
                  "warmup_iters": int, "weight_decay": float}


def _fill(struct, fields, given):
    for name, value in given.items():
        kind = fields[name]
        if isinstance(kind, dict):
            setattr(struct, name, _choice(name, value, kind))
        elif kind is int:
            lo, hi = (0, 2**64 - 1) if name == "seed" else (-2**63, 2**63 - 1)
            setattr(struct, name, _int(name, value, lo, hi))
        else:
            setattr(struct, name, _float(name, value))


def train(corpus, checkpoint, *, progress=None, resume=False, threads=0, precision=None, **options):
    """Trains a model on corpus (a file path, or the corpus itself as bytes) and writes it to checkpoint (a
    .safetensors path) after every validation (eval_val_every) and at the end; returns a TrainResult.

    options: the network (cell "lstm"/"gru"/"rnn", num_layers, rnn_size, dropout) and charrnn_train_options'
    fields (unit "codepoint"/"byte", batch_size, seq_length, train_frac, val_frac, optim "rmsprop"/"adam"/
    "adagrad"/"sgd", learning_rate, decay_rate, beta1, beta2, learning_rate_decay, learning_rate_decay_after,
    grad_clip, clip_mode "value"/"norm", max_epochs, max_iters, eval_val_every, seed, skip_nonfinite,
    val_max_chars, lr_schedule "step"/"cosine", min_lr, warmup_iters, weight_decay); what is not given is the library's default (char-rnn's). resume=True continues the run saved
    in checkpoint (same corpus; only max_epochs, max_iters, eval_val_every and skip_nonfinite may be given).

    progress(stats) is called after every step with a StepStats; returning False stops the run (the checkpoint
    is written first, and the result says stopped=True). The checkpoint is also written when the callback
    raises, so no work is lost."""
    if isinstance(corpus, (bytes, bytearray, memoryview)):
        path, text = None, bytes(corpus)
        if not text:
            raise ValueError("corpus is empty")
    else:
        path, text = _path("corpus", corpus), None
    ck = _path("checkpoint", checkpoint)
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable, not %s" % type(progress).__name__)
    if not isinstance(resume, bool):
        raise TypeError("resume must be a bool, not %s" % type(resume).__name__)
    _int("threads", threads, 0, 4096)
    prec = None if precision is None else _choice("precision", precision, _PRECISIONS)
    unknown = sorted(set(options) - set(_MODEL_FIELDS) - set(_OPTION_FIELDS))
    if unknown:
        raise TypeError("train() got unknown option(s): %s" % ", ".join(unknown))
    lib = library()
    mc, opt = _ModelConfig(), _TrainOptions()
    lib.charrnn_model_config_default(ctypes.byref(mc))
    lib.charrnn_train_options_default(ctypes.byref(opt))
    _fill(mc, _MODEL_FIELDS, {k: v for k, v in options.items() if k in _MODEL_FIELDS})
    _fill(opt, _OPTION_FIELDS, {k: v for k, v in options.items() if k in _OPTION_FIELDS})
    t = ctypes.c_void_p()
    if resume:
        fixed = sorted(set(options) - {"max_epochs", "max_iters", "eval_val_every", "skip_nonfinite"})
        if fixed:
            raise ValueError("a resumed run keeps its own settings; only max_epochs, max_iters, eval_val_every and "
                             "skip_nonfinite may be given, not %s" % ", ".join(fixed))
        over = _TrainOptions()  # zeros: "keep the saved value"
        _fill(over, _OPTION_FIELDS, options)
        _call(lib.charrnn_trainer_resume, ctypes.byref(t), ck, path if path else b"the corpus text", text,
              len(text) if text else 0, ctypes.byref(over))
    else:
        _call(lib.charrnn_trainer_open, ctypes.byref(t), path if path else b"the corpus text", text,
              len(text) if text else 0, ctypes.byref(mc), ctypes.byref(opt))
    try:
        if threads:
            lib.charrnn_trainer_set_threads(t, threads)
        if prec is not None:
            _call(lib.charrnn_model_set_precision, lib.charrnn_trainer_model(t), prec)
        return _run(lib, t, ck, progress)
    finally:
        lib.charrnn_trainer_close(t)


def _run(lib, t, ck, progress):
    every = lib.charrnn_trainer_options(t).contents.eval_val_every
    st = _StepStats()
    stopped, saved, val, done = False, True, None, 0
    try:
        while not lib.charrnn_trainer_done(t):
            _call(lib.charrnn_trainer_step, t, ctypes.byref(st))
            saved, done, this_val = False, st.iteration, None
            if (every > 0 and st.iteration % every == 0) or lib.charrnn_trainer_done(t):
                v = ctypes.c_double()
                try:
                    _call(lib.charrnn_trainer_validate, t, None, None, ctypes.byref(v))
                    val = this_val = v.value
                except DataError:  # no validation block (val_frac 0): the run goes on without one
                    pass
                except NonFiniteError as e:  # as `charrnn train`: said, and the run goes on
                    warnings.warn(e.message, stacklevel=3)
                _call(lib.charrnn_trainer_save, t, ck)
                saved = True
            if progress is not None:
                stats = StepStats(st.iteration, st.total_iters, st.epoch, st.loss, st.grad_norm, st.learning_rate,
                                  bool(st.epoch_end), bool(st.skipped), st.skipped_total, this_val)
                if progress(stats) is False:
                    stopped = True
                    break
    finally:
        if not saved:  # stopped, or the callback raised: keep the work
            _call(lib.charrnn_trainer_save, t, ck)
    return TrainResult(os.fsdecode(ck), done, st.loss if done else None, val, stopped)
