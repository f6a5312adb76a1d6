#!/usr/bin/python3
"""The same character-level model and training loop as charrnn, in PyTorch.

Used two ways: as the PyTorch side of the speed benchmark (bench/run), and to
compare final losses with charrnn on the same data split and iterations.

    /usr/bin/python3 bench/torch_charrnn.py FILE --model lstm --num-layers 2 \
        --rnn-size 128 --batch-size 50 --seq-length 50 --max-iters 2000

It mirrors charrnn exactly where it matters: code-point vocabulary sorted by
code point, contiguous train/val/test split (--train-frac/--val-frac), char-rnn
batching (B contiguous streams cut into T-step chunks, hidden state carried
between batches, detached, reset each epoch), one-hot input (as an identity
embedding lookup), nn.LSTM/GRU/RNN with dropout between layers plus dropout before
the decoder, mean cross-entropy over all steps, element-wise gradient clipping,
RMSprop(alpha=decay_rate, eps=1e-8), char-rnn's per-epoch learning-rate decay,
uniform(-0.08, 0.08) init with the LSTM forget-gate input bias at 1.
Validation uses the same scheme as charrnn (B streams, remainder as one stream).
Prints one JSON line with the results at the end.
"""

import argparse
import json
import math
import time
import resource

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--model", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--rnn-size", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--seq-length", type=int, default=50)
    p.add_argument("--train-frac", type=float, default=0.95)
    p.add_argument("--val-frac", type=float, default=0.05)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--decay-rate", type=float, default=0.95)
    p.add_argument("--learning-rate-decay", type=float, default=0.97)
    p.add_argument("--learning-rate-decay-after", type=float, default=10)
    p.add_argument("--grad-clip", type=float, default=5.0)
    p.add_argument("--max-iters", type=int, default=2000)
    p.add_argument("--warmup-iters", type=int, default=0, help="untimed iterations first")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave PyTorch's default)")
    p.add_argument("--no-eval", action="store_true")
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--sample-chars", type=int, default=0, help="time sampling this many characters (batch 1)")
    return p.parse_args()


class CharRNN(nn.Module):
    def __init__(self, cell, V, H, L, dropout):
        super().__init__()
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = cls(input_size=V, hidden_size=H, num_layers=L, dropout=dropout, **kw)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(H, V)
        self.register_buffer("eye", torch.eye(V))
        for p in self.parameters():
            if p.requires_grad:
                nn.init.uniform_(p, -0.08, 0.08)
        if cell == "lstm":
            with torch.no_grad():
                for k in range(L):
                    getattr(self.rnn, f"bias_ih_l{k}")[H:2 * H] = 1.0

    def forward(self, x, state):
        out, state = self.rnn(F.embedding(x, self.eye), state)
        return self.decoder(self.drop(out)), state


def init_state(cell, L, B, H):
    z = torch.zeros(L, B, H)
    return (z, z.clone()) if cell == "lstm" else z


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def evaluate(model, ids, cell, L, H, B, T):
    model.eval()
    total, count = 0.0, 0
    targets = len(ids) - 1
    b = max(1, min(B, targets // T))
    length = targets // b
    with torch.no_grad():
        for nb, nlen, base in ((b, length, 0), (1, targets - b * length, b * length)):
            if nlen == 0:
                continue
            state = init_state(cell, L, nb, H)
            streams = torch.stack([ids[base + j * nlen: base + j * nlen + nlen + 1] for j in range(nb)], 1)
            for pos in range(0, nlen, T):
                tt = min(T, nlen - pos)
                x, y = streams[pos:pos + tt], streams[pos + 1:pos + tt + 1]
                logits, state = model(x, state)
                total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
                count += nb * tt
    model.train()
    return total / count


def main():
    a = parse()
    torch.manual_seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    text = open(a.file, encoding="utf-8").read()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = len(ids)
    train_n, val_n = math.floor(n * a.train_frac), math.floor(n * a.val_frac)
    train, val = ids[:train_n], ids[train_n:train_n + val_n]
    B, T, H, L, V = a.batch_size, a.seq_length, a.rnn_size, a.num_layers, len(vocab)
    ipe = (train_n - 1) // (B * T)
    S = ipe * T
    xs = train[:B * S].view(B, S).t().contiguous()            # (S, B): stream j is column j
    ys = train[1:B * S + 1].view(B, S).t().contiguous()        # B*S + 1 <= train_n by ipe's choice
    model = CharRNN(a.model, V, H, L, a.dropout)
    opt = torch.optim.RMSprop(model.parameters(), lr=a.learning_rate, alpha=a.decay_rate, eps=1e-8)
    lr = a.learning_rate
    state = None
    losses = []
    t0 = None
    for it in range(a.warmup_iters + a.max_iters):
        if it == a.warmup_iters:
            t0 = time.perf_counter()
        k = it % ipe
        if k == 0:
            state = init_state(a.model, L, B, H)
        x, y = xs[k * T:(k + 1) * T], ys[k * T:(k + 1) * T]
        logits, state = model(x, state)
        state = detach(state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_value_(model.parameters(), a.grad_clip)
        opt.step()
        losses.append(loss.item())
        done = it + 1
        if done % ipe == 0 and a.learning_rate_decay < 1 and done / ipe >= a.learning_rate_decay_after:
            lr *= a.learning_rate_decay
            for g in opt.param_groups:
                g["lr"] = lr
    elapsed = time.perf_counter() - t0
    result = {
        "model": a.model, "num_layers": L, "rnn_size": H, "vocab": V, "batch_size": B, "seq_length": T,
        "params": sum(p.numel() for p in model.parameters()),
        "iters": a.max_iters, "ms_per_iter": 1000 * elapsed / max(1, a.max_iters),
        "chars_per_s": a.max_iters * B * T / elapsed if elapsed > 0 else 0,
        "final_train_loss": losses[-1], "mean_train_loss_last100": sum(losses[-100:]) / len(losses[-100:]),
        "threads": torch.get_num_threads(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if not a.no_eval and val_n >= 2:
        result["val_loss"] = evaluate(model, val, a.model, L, H, B, T)
    if a.sample_chars > 0:
        model.eval()
        with torch.no_grad():
            state = init_state(a.model, L, 1, H)
            x = torch.zeros(1, 1, dtype=torch.long)
            t1 = time.perf_counter()
            for _ in range(a.sample_chars):
                logits, state = model(x, state)
                p = F.softmax(logits[0, 0], -1)
                x = torch.multinomial(p, 1).view(1, 1)
            result["sample_chars_per_s"] = a.sample_chars / (time.perf_counter() - t1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
