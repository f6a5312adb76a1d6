#!/usr/bin/python3
"""Independent check of the reference fixtures written by make_fixtures.py.

    /usr/bin/python3 tests/ref/check_fixtures.py tests/fixtures

For each ref_{lstm,gru,rnn}.safetensors: parse it with plain struct/json/numpy
(checking the layout: 8-byte aligned data block, contiguous tensors, no gaps,
only F32/I32), then recompute the forward pass from the stored weights, x, y
and h0/c0 twice -- with torch's nn.LSTM/GRU/RNN and with a plain numpy
implementation of the cell equations (the ones the C code must match) -- and
assert that logits, loss and the final states agree with the stored ones.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0, "data block not 8-byte aligned"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    data = blob[8 + n:]
    tensors, spans = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dt = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
        assert end - begin == dt.itemsize * int(np.prod(info["shape"], dtype=np.int64))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(info["shape"])
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        assert begin == pos, "gap or overlap in data block"
        pos = end
    assert pos == len(data), "trailing bytes after the last tensor"
    return tensors, meta


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_forward(cell, t, L):
    """Plain float64 numpy forward; returns logits, loss, hT, cT."""
    V = t["decoder.weight"].shape[0]
    x, y = t["x"].astype(np.int64), t["y"].astype(np.int64)
    T, B = x.shape
    h = t["h0"].astype(np.float64).copy()
    c = t["c0"].astype(np.float64).copy() if cell == "lstm" else None
    out = np.eye(V)[x]                        # (T,B,V) one-hot
    for l in range(L):
        Wi, Wh = t["weight_ih_l%d" % l], t["weight_hh_l%d" % l]
        bi, bh = t["bias_ih_l%d" % l], t["bias_hh_l%d" % l]
        ys = []
        for s in range(T):
            gi = out[s] @ Wi.T + bi
            gh = h[l] @ Wh.T + bh
            if cell == "lstm":                # gate order i, f, g, o
                i, f, g, o = np.split(gi + gh, 4, axis=1)
                c[l] = sigmoid(f) * c[l] + sigmoid(i) * np.tanh(g)
                h[l] = sigmoid(o) * np.tanh(c[l])
            elif cell == "gru":               # gate order r, z, n
                ir, iz, inn = np.split(gi, 3, axis=1)
                hr, hz, hn = np.split(gh, 3, axis=1)   # hn includes b_hn
                r, z = sigmoid(ir + hr), sigmoid(iz + hz)
                n = np.tanh(inn + r * hn)
                h[l] = (1.0 - z) * n + z * h[l]
            else:
                h[l] = np.tanh(gi + gh)
            ys.append(h[l].copy())
        out = np.stack(ys)
    logits = out @ t["decoder.weight"].T + t["decoder.bias"]
    z = logits.reshape(-1, V)
    lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
    loss = np.mean(lse - z[np.arange(z.shape[0]), y.reshape(-1)])
    return logits, loss, h, c


def torch_forward(cell, t, meta):
    V, H, L = (int(meta[k]) for k in ("vocab_size", "hidden_size", "num_layers"))
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    rnn = cls(input_size=V, hidden_size=H, num_layers=L)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(t[name].copy()))
    x = torch.from_numpy(t["x"].astype(np.int64))
    y = torch.from_numpy(t["y"].astype(np.int64))
    h0 = torch.from_numpy(t["h0"].copy())
    state = (h0, torch.from_numpy(t["c0"].copy())) if cell == "lstm" else h0
    with torch.no_grad():
        out, final = rnn(F.one_hot(x, V).float(), state)
        logits = out @ torch.from_numpy(t["decoder.weight"].copy()).T \
            + torch.from_numpy(t["decoder.bias"].copy())
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    hT, cT = (final if cell == "lstm" else (final, None))
    return logits.numpy(), loss.item(), hT.numpy(), None if cT is None else cT.numpy()


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    torch.set_num_threads(1)
    for cell in ("lstm", "gru", "rnn"):
        path = os.path.join(outdir, "ref_%s.safetensors" % cell)
        t, meta = read_safetensors(path)
        assert meta["cell"] == cell
        L = int(meta["num_layers"])
        for name in ["x", "y", "traj.x", "traj.y"]:
            assert t[name].dtype == np.int32
        for impl, fwd in (("torch", lambda: torch_forward(cell, t, meta)),
                          ("numpy", lambda: numpy_forward(cell, t, L))):
            logits, loss, hT, cT = fwd()
            np.testing.assert_allclose(logits, t["logits"], rtol=0, atol=1e-5)
            np.testing.assert_allclose(loss, t["loss"][0], rtol=0, atol=1e-5)
            np.testing.assert_allclose(hT, t["hT"], rtol=0, atol=1e-5)
            if cell == "lstm":
                np.testing.assert_allclose(cT, t["cT"], rtol=0, atol=1e-5)
        for name in [k for k in t if k.startswith("weight_") or k.startswith("bias_")
                     or k.startswith("decoder.")]:
            assert t["grad." + name].shape == t[name].shape
        print("ok %s: %d tensors, %d bytes, loss %.7f"
              % (path, len(t), os.path.getsize(path), t["loss"][0]))


if __name__ == "__main__":
    main()
