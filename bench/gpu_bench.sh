#!/bin/sh
# bench/gpu_bench.sh: charrnn's CUDA backend against PyTorch (cuDNN) on the same NVIDIA GPU,
# in one run (issue 19). For each configuration of the issue it trains both on the same
# shapes (one-hot input, LSTM, dropout, linear decoder, cross-entropy, RMSprop, gradient norm
# clipped at 5; PyTorch: bench/torch_gpu.py), in fp32 and in bf16 (charrnn --precision bf16,
# PyTorch autocast), and prints ms per iteration, charrnn's speed-up over PyTorch (their
# ratio), and each process's peak device memory (nvidia-smi's per-process figure, CUDA
# context included, for both); then batch-1 sampling in microseconds per character (charrnn
# on the GPU and on the CPU, PyTorch eager on the GPU). Run from the repository root:
#
#   sh bench/gpu_bench.sh [--quick] [--iters N]      # a CUDA build first: make CUDA=1
#
# CHARRNN_BIN (default build/cuda/charrnn), LIBDIR / CUDA_HOME as tests/gpu.sh. --quick: the
# first three configurations and fewer iterations. Where there is no GPU (or the build or
# PyTorch sees none) it stops at once with one line and status 2. A charrnn or PyTorch run
# that fails (bf16 not on the GPU yet, out of memory) shows as n/a with its first line of
# error, and the rest goes on. Nothing is written but a temporary folder, removed at the end.
set -u
C=${CHARRNN_BIN:-build/cuda/charrnn}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
iters=100 warm=20 quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 iters=40 warm=10 ;;
    --iters) iters=$2; shift ;;
    *) echo "gpu_bench.sh: unknown option $1 (use --quick, --iters N)" >&2; exit 2 ;;
    esac
    shift
done
LD_LIBRARY_PATH=${LIBDIR:+$LIBDIR:}$CUDA_HOME/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
die() { echo "gpu_bench.sh: $*" >&2; exit 2; }
command -v nvidia-smi >/dev/null 2>&1 || die "no nvidia-smi: this benchmark needs an NVIDIA GPU and its driver"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
[ -n "$gpu" ] || die "nvidia-smi sees no GPU: this benchmark needs one"
[ -x "$C" ] || die "$C is missing: build it with make CUDA=1 (or set CHARRNN_BIN)"
"$C" info | grep -q '^gpu: *cuda:0 ' || die "$C sees no GPU ($("$C" info | sed -n 's/^gpu: *//p')): a CUDA build (make CUDA=1) and the driver's libcuda are needed"
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null ||
    die "python3's PyTorch is missing or sees no CUDA GPU: the side-by-side needs PyTorch with CUDA"

W=$(mktemp -d)
trap 'kill $poll 2>/dev/null; rm -rf "$W"' EXIT
poll=""
# 2 MB of 65 symbols (tiny-shakespeare's vocabulary size); speed does not depend on the text
python3 -c '
import random, sys
random.seed(1)
sym = [chr(c) for c in range(32, 96)] + ["\n"]
open(sys.argv[1], "w").write("".join(random.choice(sym) for _ in range(2000000)))' "$W/corpus.txt"

# peak_mb PID: the largest device memory nvidia-smi shows for PID while it runs (MB), polled 5 times a second
watch_mem() {
    pid=$1 out=$2 peak=0
    while kill -0 "$pid" 2>/dev/null; do
        m=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null |
            awk -F', *' -v p="$pid" '$1 == p { print $2 }')
        [ -n "$m" ] && [ "$m" -gt "$peak" ] && peak=$m
        sleep 0.2
    done
    echo "$peak" >"$out"
}

# charrnn_train L H B T DROPOUT PRECISION: "MS PEAK_MB" or "n/a REASON"
charrnn_train() {
    d=$W/cv_$1_$2_$3_$4_$6
    "$C" train "$W/corpus.txt" --num-layers "$1" --rnn-size "$2" --batch-size "$3" --seq-length "$4" --dropout "$5" \
        --precision "$6" --device cuda --clip-mode norm --grad-clip 5 --max-iters $((warm + iters)) --print-every "$warm" \
        --eval-val-every 1000000 --val-frac 0.001 --checkpoint-dir "$d" >"$d.log" 2>&1 &
    p=$!
    watch_mem "$p" "$d.mem" &
    poll=$!
    wait "$p"
    rc=$?
    wait "$poll"
    if [ "$rc" != 0 ]; then echo "n/a $(grep -m1 'error' "$d.log" | cut -c1-100)"; return; fi
    # the progress lines after the warm-up: their ms per iteration, weighted alike (same number of iterations each)
    ms=$(python3 -c '
import json, sys
w = int(sys.argv[2]); v = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "ms_per_iter" in r and r["iteration"] > w: v.append(r["ms_per_iter"])
print("%.3f" % (sum(v) / len(v)) if v else "n/a")' "$d/train.jsonl" "$warm")
    echo "$ms $(cat "$d.mem")"
}

# torch_train L H B T DROPOUT PRECISION: "MS PEAK_MB ALLOCATED_MB" or "n/a REASON"
torch_train() {
    bf=""; [ "$6" = bf16 ] && bf=--bf16
    o=$W/torch_$1_$2_$3_$4_$6
    python3 bench/torch_gpu.py --num-layers "$1" --rnn-size "$2" --batch-size "$3" --seq-length "$4" --dropout "$5" \
        --iters "$iters" --warmup "$warm" $bf >"$o.json" 2>"$o.err" &
    p=$!
    watch_mem "$p" "$o.mem" &
    poll=$!
    wait "$p"
    rc=$?
    wait "$poll"
    if [ "$rc" != 0 ]; then echo "n/a $(tail -n 1 "$o.err" | cut -c1-100)"; return; fi
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%.3f %s %.0f" % (r["ms_per_iter"], sys.argv[2], r["peak_allocated_mb"]))' \
        "$o.json" "$(cat "$o.mem")"
}

echo "== charrnn $("$C" --version | cut -d' ' -f2) (CUDA) against $(python3 -c 'import torch; print("PyTorch", torch.__version__, "cuDNN", torch.backends.cudnn.version())') on $gpu"
echo "   $iters timed iterations after $warm untimed; ms/it; x: PyTorch's time / charrnn's (above 1: charrnn faster);"
echo "   memory: each process's peak on the GPU (nvidia-smi, MB, CUDA context included; PyTorch's allocator peak beside it)"
printf '%-28s %-5s %10s %10s %7s %10s %10s %8s\n' config prec charrnn pytorch x "mem_c" "mem_pt" "alloc_pt"
configs="2 128 50 50 0
2 256 50 50 0
2 512 50 50 0
2 512 100 100 0.5
3 512 50 50 0
3 1024 128 128 0
3 2048 256 128 0"
[ "$quick" = 1 ] && configs=$(printf '%s\n' "$configs" | head -n 3)
printf '%s\n' "$configs" | while read -r L H B T D; do
    for prec in fp32 bf16; do
        set -- $(charrnn_train "$L" "$H" "$B" "$T" "$D" "$prec")
        cm=$1 cmem=${2:-}; [ "$cm" = n/a ] && { shift; cnote=$*; cmem=""; } || cnote=""
        set -- $(torch_train "$L" "$H" "$B" "$T" "$D" "$prec")
        tm=$1 tmem=${2:-} talloc=${3:-}; [ "$tm" = n/a ] && { shift; tnote=$*; tmem="" talloc=""; } || tnote=""
        ratio=n/a
        [ "$cm" != n/a ] && [ "$tm" != n/a ] && ratio=$(python3 -c "print('%.2f' % ($tm / $cm))")
        printf '%-28s %-5s %10s %10s %7s %10s %10s %8s\n' "${L}x${H} B${B} T${T} d${D}" "$prec" "$cm" "$tm" "$ratio" \
            "$cmem" "$tmem" "$talloc"
        [ -n "$cnote" ] && echo "    charrnn: $cnote"
        [ -n "$tnote" ] && echo "    pytorch: $tnote"
    done
done

echo "== batch-1 sampling, microseconds per character (2000 characters; charrnn's own timing of its sampling loop)"
printf '%-12s %12s %12s %12s\n' model charrnn_gpu charrnn_cpu pytorch_gpu
for shape in "2 128" "2 512" "3 1024"; do
    set -- $shape
    L=$1 H=$2
    d=$W/s_${L}_$H
    "$C" train "$W/corpus.txt" --num-layers "$L" --rnn-size "$H" --batch-size 8 --seq-length 16 --max-iters 1 \
        --eval-val-every 1000000 --val-frac 0.001 --precision fp32 --device cpu --checkpoint-dir "$d" >/dev/null 2>&1
    us() { # us DEVICE: microseconds per character of charrnn sample, as it reports it
        "$C" sample "$d/latest.safetensors" --device "$1" --precision fp32 --length 2000 --verbose 1 2>&1 >/dev/null |
            sed -n 's/.*(\([0-9.]*\) chars\/s).*/\1/p' | tail -n 1 |
            python3 -c 'import sys; v = sys.stdin.read().strip(); print("%.1f" % (1e6 / float(v)) if v else "n/a")'
    }
    g=$(us cuda) c=$(us cpu)
    t=$(python3 bench/torch_gpu.py --num-layers "$L" --rnn-size "$H" --batch-size 1 --seq-length 1 --iters 1 --warmup 1 \
        --sample-chars 2000 2>/dev/null | python3 -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["sample_us_per_char"])' 2>/dev/null)
    printf '%-12s %12s %12s %12s\n' "${L}x${H}" "$g" "$c" "${t:-n/a}"
done
