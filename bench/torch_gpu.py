#!/usr/bin/python3
"""bench/torch_gpu.py: the PyTorch side of bench/gpu_bench.sh: the model of
bench/torch_charrnn.py (one-hot input, L-layer LSTM/GRU/RNN with cuDNN, dropout,
linear decoder, mean cross-entropy, RMSprop, gradient norm clipped at 5) trained
on one NVIDIA GPU, in float32 (TF32 off, as charrnn's fp32) or bf16 autocast.

    python3 bench/torch_gpu.py --num-layers 2 --rnn-size 512 --batch-size 50 \\
        --seq-length 50 --vocab 65 --iters 100 --warmup 20 [--bf16] [--sample-chars 2000]

Prints one JSON line: ms per iteration (CUDA-event timed over --iters after
--warmup untimed ones, synchronised), the allocator's peak device memory
(torch.cuda.max_memory_allocated and _reserved, MB), and with --sample-chars
batch-1 sampling in microseconds per character (eager, one step per character,
as a user's sampling loop runs). The data are random symbols: speed does not
depend on the text. Exits 2 with one line when there is no CUDA GPU.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_charrnn import CharRNN, detach, init_state  # noqa: E402  (the same model as the CPU bench)


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--rnn-size", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--seq-length", type=int, default=50)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (float32 master weights, moments and loss)")
    p.add_argument("--sample-chars", type=int, default=0)
    p.add_argument("--seed", type=int, default=123)
    return p.parse_args()


def main():
    a = parse()
    if not torch.cuda.is_available():
        print("torch_gpu.py: PyTorch sees no CUDA GPU (torch.cuda.is_available() is False); this benchmark needs one",
              file=sys.stderr)
        sys.exit(2)
    torch.manual_seed(a.seed)
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 means float32, as charrnn's fp32
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    B, T, H, L, V = a.batch_size, a.seq_length, a.rnn_size, a.num_layers, a.vocab
    model = CharRNN(a.model, V, H, L, a.dropout).to(dev)
    opt = torch.optim.RMSprop(model.parameters(), lr=a.learning_rate, alpha=0.95, eps=1e-8)
    g = torch.Generator(device="cpu").manual_seed(a.seed)
    data = torch.randint(0, V, (a.warmup + a.iters + 1, T + 1, B), generator=g).to(dev)
    state = tuple(s.to(dev) for s in init_state(a.model, L, B, H)) if a.model == "lstm" else init_state(a.model, L, B, H).to(dev)
    torch.cuda.reset_peak_memory_stats()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for it in range(a.warmup + a.iters):
        if it == a.warmup:
            torch.cuda.synchronize()
            start.record()
        x, y = data[it, :T], data[it, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.bf16):
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        state = detach(state)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    stop.record()
    torch.cuda.synchronize()
    result = {
        "framework": "pytorch " + torch.__version__, "cudnn": torch.backends.cudnn.version(),
        "gpu": torch.cuda.get_device_name(0), "precision": "bf16" if a.bf16 else "fp32",
        "model": a.model, "num_layers": L, "rnn_size": H, "batch_size": B, "seq_length": T, "dropout": a.dropout,
        "ms_per_iter": start.elapsed_time(stop) / a.iters,
        "peak_allocated_mb": torch.cuda.max_memory_allocated() / 2**20,
        "peak_reserved_mb": torch.cuda.max_memory_reserved() / 2**20,
        "final_loss": loss.item(),
    }
    if a.sample_chars > 0:
        model.eval()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.bf16):
            st = tuple(s[:, :1].contiguous() for s in state) if isinstance(state, tuple) else state[:, :1].contiguous()
            x = torch.zeros(1, 1, dtype=torch.long, device=dev)
            for k in range(50 + a.sample_chars):
                if k == 50:
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                logits, st = model(x, st)
                x = torch.multinomial(F.softmax(logits[0, 0].float(), -1), 1).view(1, 1)
            torch.cuda.synchronize()
            result["sample_us_per_char"] = 1e6 * (time.perf_counter() - t0) / a.sample_chars
    print(json.dumps(result))


if __name__ == "__main__":
    main()
