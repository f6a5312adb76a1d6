#!/usr/bin/python3
"""Reference fixtures for charrnn, produced with PyTorch (CPU, float32).

Writes, into the output directory given as the only argument:

    ref_lstm.safetensors   nn.LSTM
    ref_gru.safetensors    nn.GRU
    ref_rnn.safetensors    nn.RNN(nonlinearity='tanh')

Rerun (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 tests/ref/make_fixtures.py tests/fixtures
    /usr/bin/python3 tests/ref/check_fixtures.py tests/fixtures

Every file holds one small model (V=7 vocab, H=6 hidden, L=2 layers, B=3
batch, T=5 steps, seq-first, no dropout) whose input is the one-hot encoding
of token ids x, followed by nn.Linear(H, V) and a mean cross-entropy loss:

    weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._l1   F32  (PyTorch names)
    decoder.weight (V,H), decoder.bias (V)                       F32
    x, y (T,B)                                                   I32
    h0 (L,B,H), c0 (L,B,H, lstm only)                            F32
    logits (T,B,V), loss [1], hT (L,B,H), cT (lstm only)         F32
    grad.<param> for every parameter above                       F32
    traj.x, traj.y (10,T,B)                                      I32
    traj_rmsprop.loss (10), traj_adam.loss (10),
    traj_rmsprop_clipnorm.loss (10)                              F32
    traj_rmsprop.final.decoder.weight, traj_rmsprop.final.weight_hh_l0,
    traj_adam.final.decoder.weight, traj_adam.final.weight_hh_l0,
    traj_rmsprop_clipnorm.final.decoder.weight                   F32

The trajectories start from the same initial weights and a zero state; each
step carries the (detached) final state of the previous step, computes the
loss, zeroes grads, backpropagates, clips (element-wise at GRAD_CLIP, or the
global L2 norm at CLIP_NORM for the clipnorm trajectory) and takes one
optimizer step.  The recorded loss of step k is the one before its update.

The safetensors files are written by hand (struct + json): an 8-byte
little-endian header length, a JSON header (space-padded so that the data
block starts at an 8-byte aligned offset) and the tensors stored
contiguously, in sorted name order, without gaps.
"""

import copy
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

V, H, L, B, T = 7, 6, 2, 3, 5
TRAJ_STEPS = 10
# With 2e-3 the 10 trajectory losses moved only ~0.01-0.03 away from the
# no-update (lr=0) losses; 2e-2 moves them ~0.1, a more meaningful test.
LR = 2e-2
RMSPROP_ALPHA = 0.95
EPS = 1e-8
BETA1, BETA2 = 0.9, 0.999
GRAD_CLIP = 5.0
CLIP_NORM = 0.5
INIT_RANGE = 0.5

# Seeds: the LSTM one is chosen so that clip_grad_norm_(0.5) actually fires
# (on 2 of the 10 steps); with most seeds the LSTM's gradient norm stays
# below 0.5 and the clipnorm trajectory would equal the plain RMSprop one.
# The GRU and RNN seeds clip on several steps already.
CELLS = {
    "lstm": (lambda: nn.LSTM(input_size=V, hidden_size=H, num_layers=L), 1009),
    "gru": (lambda: nn.GRU(input_size=V, hidden_size=H, num_layers=L), 2002),
    "rnn": (lambda: nn.RNN(input_size=V, hidden_size=H, num_layers=L,
                           nonlinearity="tanh"), 3003),
}


# ---------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, metadata):
    """tensors: dict name -> numpy array (float32 or int32)."""
    dtype_names = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        dtype = dtype_names[arr.dtype]  # KeyError on anything but F32/I32
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-(8 + len(hjson))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


# ---------------------------------------------------------------- model

class Model(nn.Module):
    def __init__(self, make_rnn):
        super().__init__()
        self.rnn = make_rnn()
        self.decoder = nn.Linear(H, V)

    def forward(self, x, state):
        """x: (T,B) long ids; state: h or (h, c). Returns logits, new state."""
        onehot = F.one_hot(x, V).float()
        out, state = self.rnn(onehot, state)
        return self.decoder(out), state


def loss_fn(logits, y):
    return F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))


def named_params(model):
    """PyTorch's own names: rnn params without prefix, decoder.* with it."""
    out = [(n, p) for n, p in model.rnn.named_parameters()]
    out += [("decoder." + n, p) for n, p in model.decoder.named_parameters()]
    return out


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def i32(t):
    return t.detach().cpu().numpy().astype(np.int32)


def zero_state(cell):
    h = torch.zeros(L, B, H)
    return (h, torch.zeros(L, B, H)) if cell == "lstm" else h


def detach_state(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def run_trajectory(model, cell, opt_name, clip, traj_x, traj_y):
    model = copy.deepcopy(model)
    params = [p for _, p in named_params(model)]
    if opt_name == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=LR, alpha=RMSPROP_ALPHA, eps=EPS)
    else:
        opt = torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), eps=EPS)
    state = zero_state(cell)
    losses = []
    for k in range(TRAJ_STEPS):
        logits, new_state = model(traj_x[k], state)
        loss = loss_fn(logits, traj_y[k])
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        if clip == "value":
            torch.nn.utils.clip_grad_value_(params, GRAD_CLIP)
        else:
            torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        opt.step()
        state = detach_state(new_state)
    return model, np.array(losses, dtype=np.float32)


def make_fixture(cell):
    make_rnn, seed = CELLS[cell]
    torch.manual_seed(seed)
    model = Model(make_rnn)
    with torch.no_grad():
        for _, p in named_params(model):
            p.uniform_(-INIT_RANGE, INIT_RANGE)

    x = torch.randint(0, V, (T, B))
    y = torch.randint(0, V, (T, B))
    h0 = torch.randn(L, B, H) * 0.5
    c0 = torch.randn(L, B, H) * 0.5 if cell == "lstm" else None
    traj_x = torch.randint(0, V, (TRAJ_STEPS, T, B))
    traj_y = torch.randint(0, V, (TRAJ_STEPS, T, B))

    tensors = {}
    for name, p in named_params(model):
        tensors[name] = f32(p)
    tensors["x"], tensors["y"] = i32(x), i32(y)
    tensors["h0"] = f32(h0)
    if c0 is not None:
        tensors["c0"] = f32(c0)

    # Single forward/backward from the given initial state.
    work = copy.deepcopy(model)
    state = (h0, c0) if cell == "lstm" else h0
    logits, final = work(x, state)
    loss = loss_fn(logits, y)
    work.zero_grad()
    loss.backward()
    tensors["logits"] = f32(logits)
    tensors["loss"] = f32(loss).reshape(1)
    if cell == "lstm":
        tensors["hT"], tensors["cT"] = f32(final[0]), f32(final[1])
    else:
        tensors["hT"] = f32(final)
    for name, p in named_params(work):
        tensors["grad." + name] = f32(p.grad)

    # Training trajectories, all from the same initial weights.
    tensors["traj.x"], tensors["traj.y"] = i32(traj_x), i32(traj_y)
    for tag, opt_name, clip, finals in (
            ("traj_rmsprop", "rmsprop", "value", ("decoder.weight", "weight_hh_l0")),
            ("traj_adam", "adam", "value", ("decoder.weight", "weight_hh_l0")),
            ("traj_rmsprop_clipnorm", "rmsprop", "norm", ("decoder.weight",))):
        trained, losses = run_trajectory(model, cell, opt_name, clip, traj_x, traj_y)
        tensors[tag + ".loss"] = losses
        pdict = dict(named_params(trained))
        for name in finals:
            tensors[tag + ".final." + name] = f32(pdict[name])

    metadata = {
        "cell": cell, "vocab_size": V, "hidden_size": H, "num_layers": L,
        "batch_size": B, "seq_length": T, "lr": repr(LR),
        "rmsprop_alpha": repr(RMSPROP_ALPHA), "eps": repr(EPS),
        "beta1": repr(BETA1), "beta2": repr(BETA2),
        "grad_clip": repr(GRAD_CLIP), "clip_norm": repr(CLIP_NORM),
        "torch_version": torch.__version__,
    }
    return tensors, metadata


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    for cell in CELLS:
        tensors, metadata = make_fixture(cell)
        path = os.path.join(outdir, "ref_%s.safetensors" % cell)
        write_safetensors(path, tensors, metadata)
        np.set_printoptions(precision=6, suppress=True, linewidth=120)
        print("%s: %s (%d bytes)" % (cell, path, os.path.getsize(path)))
        print("  loss               %.7f" % tensors["loss"][0])
        for tag in ("traj_rmsprop", "traj_adam", "traj_rmsprop_clipnorm"):
            print("  %-22s %s" % (tag, tensors[tag + ".loss"]))


if __name__ == "__main__":
    main()
