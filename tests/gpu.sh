#!/bin/sh
# tests/gpu.sh: the GPU's tests, on a machine with an NVIDIA GPU (issue 19), in under
# 5 minutes. Run from the repository root. It runs a CUDA build made beforehand (make
# CUDA=1, on any machine with nvcc: build/cuda/run_tests and build/cuda/charrnn), so the
# GPU's machine needs no compiler or OpenBLAS headers; with --build it makes it first.
#
#   sh tests/gpu.sh [--build] [--quick]
#
# What runs, each counted into one line "N passed, N failed" at the end:
#   1. the test runner's GPU groups: the backends (CUDA against the CPU, reruns, 100 steps),
#      the PyTorch fixtures on every backend, the device tests (a model there and back);
#      a GPU case that skips here is a failure (a GPU was expected);
#   2. through the command line: resume across devices (train on cuda, resume on the CPU,
#      and the reverse; each lands within float32's tolerance of the run that never moved),
#      bit-identical reruns on the GPU (the same seed: the same checkpoint tensors, bit for
#      bit, and the same losses; a run stopped and resumed on the GPU: the unbroken run's),
#      eval (also --dynamic) against the CPU's loss, sample (batch 1 and --num-samples),
#      cells and viz on the GPU, a compress / decompress round trip on the GPU (with a
#      checkpoint, and --adapt's fresh model; one lane and 64) whose file the CPU refuses;
#   3. compute-sanitizer --tool memcheck on the GPU's test cases (--quick leaves it out).
#
# Environment: LIBDIR, a folder holding the CPU's libraries where the system has none
# (libopenblas.so.0, libgfortran.so.5, libquadmath.so.0, libgomp.so.1); DEVLIBS, a .tar.xz
# of them to unpack into LIBDIR first; CUDA_HOME (default /usr/local/cuda), whose lib64
# has libcudart and libcublas; GPU_SH_DRY=1 checks this script itself on a machine without
# a GPU (the GPU's steps run on the CPU, the runner and memcheck are left out, and the
# checks that need a GPU fail). Exit 0 when everything passed.
set -u
BUILD=build/cuda
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
build=0 memcheck=1
for a in "$@"; do
    case $a in
    --build) build=1 ;;
    --quick) memcheck=0 ;;
    --memcheck) memcheck=1 ;; # the default; kept for older command lines
    *) echo "gpu.sh: unknown option $a (use --build, --quick)" >&2; exit 2 ;;
    esac
done

if [ -n "${DEVLIBS:-}" ]; then
    LIBDIR=${LIBDIR:-$PWD/.devlibs/lib}
    mkdir -p "$LIBDIR" && tar -xJf "$DEVLIBS" -C "$LIBDIR" || { echo "gpu.sh: cannot unpack $DEVLIBS" >&2; exit 2; }
    # a tarball with folders inside: the folder that holds libopenblas.so.0
    found=$(find "$LIBDIR" -name 'libopenblas.so.0' | head -n 1)
    [ -n "$found" ] && LIBDIR=$(dirname "$found")
fi
# the CUDA libraries: the toolkit's, and pip's nvidia-* wheels where the toolkit has none
extra=$CUDA_HOME/lib64
[ -d /usr/local/nvidia/lib64 ] && extra=$extra:/usr/local/nvidia/lib64
for d in /usr/local/lib/python3*/dist-packages/nvidia/cu*/lib /opt/*/.venv/lib/python3*/site-packages/nvidia/cu*/lib; do
    [ -d "$d" ] && extra=$extra:$d
done
LD_LIBRARY_PATH=${LIBDIR:+$LIBDIR:}$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH

if [ "$build" = 1 ]; then
    make CUDA=1 -j16 "$BUILD/charrnn" "$BUILD/run_tests" || { echo "gpu.sh: the CUDA build failed" >&2; exit 1; }
fi
for f in "$BUILD/run_tests" "$BUILD/charrnn"; do
    [ -x "$f" ] || { echo "gpu.sh: $f is missing: make CUDA=1 $BUILD/charrnn $BUILD/run_tests first (or pass --build)" >&2; exit 2; }
done

echo "== the machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 4
echo "== the libraries $BUILD/run_tests finds"
if ldd "$BUILD/run_tests" | grep -E 'not found'; then
    echo "gpu.sh: libraries are missing (above): set LIBDIR (OpenBLAS, gfortran, quadmath, gomp) or CUDA_HOME" >&2
    exit 2
fi
ldd "$BUILD/run_tests" | grep -E 'cublas|cudart|openblas|gomp|gfortran'
C=$PWD/$BUILD/charrnn
"$C" info | grep -E '^(processor|gpu):'
G=cuda dry=${GPU_SH_DRY:-0}
[ "$dry" = 1 ] && G=cpu memcheck=0
if [ "$dry" != 1 ] && ! "$C" info | grep -q '^gpu: *cuda:0 '; then
    echo "gpu.sh: the CUDA build sees no GPU (info above; is the driver's libcuda there?)"
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "  ok    $1"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $1"; }
check() { # check WHAT COMMAND...: the command's status decides (its output shown only when it fails)
    what=$1; shift
    if "$@" >"$W/check.log" 2>&1; then pass "$what"; else fail "$what"; tail -n 5 "$W/check.log"; fi
}
T0=$(date +%s)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# 1. the test runner's GPU groups
[ "$dry" = 1 ] || {
echo "== run_tests backend_ model_reference device_ compress_device"
out=$(CHARRNN_BIN=$C CHARRNN_BUILD=$BUILD OMP_NUM_THREADS=4 timeout 150 "$BUILD/run_tests" backend_ model_reference \
      device_ compress_device 2>&1)
printf '%s\n' "$out" | grep -E 'FAIL|skipped|passed'
line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -z "$line" ]; then fail "run_tests did not finish"; else
    passed=$((passed + ${line%% passed*})); f=${line#*, }; failed=$((failed + ${f%% failed*}))
fi
if printf '%s\n' "$out" | grep -q '^skipped: .*cuda'; then fail "the CUDA cases were skipped on a GPU's machine"; fi
}

# 2. through the command line, on a small corpus made here
python3 - "$W/corpus.txt" <<'EOF'
import random, sys
random.seed(7)
words = "the of and to in is that for it as was with be by on not he this are or his from at which".split()
text = []
while sum(map(len, text)) < 400000:
    text.append(" ".join(random.choice(words) for _ in range(random.randint(4, 14))).capitalize() + ".\n")
open(sys.argv[1], "w").write("".join(text))
EOF
K="$W/corpus.txt"
NET="--rnn-size 64 --num-layers 2 --dropout 0.2 --batch-size 16 --seq-length 32 --eval-val-every 20 --val-max-chars 20000 --precision fp32 --threads 4 --seed 5"
train() { # train DIR DEVICE ITERS [more options]: a fresh run
    d=$1 dev=$2 it=$3; shift 3
    "$C" train "$K" $NET --device "$dev" --max-iters "$it" --checkpoint-dir "$d" "$@" >"$d.log" 2>&1
}
resume() { # resume DIR DEVICE ITERS
    "$C" train "$K" --resume "$1/latest.safetensors" --device "$2" --max-iters "$3" --threads 4 --precision fp32 >>"$1.log" 2>&1
}
# the train_loss of iteration IT in DIR's log
loss_at() { sed -n "s/^{\"iteration\":$2,\"epoch\":[^,]*,\"train_loss\":\([^,]*\),.*/\1/p" "$1/train.jsonl" | tail -n 1; }
close() { # close A B: |A - B| <= 2e-4 (1 + |B|), both numbers
    python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a - b) <= 2e-4 * (1 + abs(b)) else 1)" "$1" "$2" 2>/dev/null
}
# the tensors' bytes of two checkpoints (weights, optimizer moments, carried state; the metadata, which
# holds the run's id, left out)
same_weights() {
    python3 - "$1" "$2" <<'EOF'
import json, struct, sys
def data(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items()}
a, b = data(sys.argv[1]), data(sys.argv[2])
sys.exit(0 if a == b and a else 1)
EOF
}

echo "== resume across devices (the command line)"
train "$W/g40" $G 40 && train "$W/c40" cpu 40 && train "$W/g20" $G 20 && train "$W/c20" cpu 20
check "a run on the GPU says so and records it" grep -q '"device":"cuda:0 (' "$W/g40/train.jsonl"
cp -r "$W/g20" "$W/g20c" && cp -r "$W/c20" "$W/c20g"
resume "$W/g20c" cpu 40; check "train on cuda, resume on the CPU" test -n "$(loss_at "$W/g20c" 40)"
check "  ... lands where the CPU's own run does" close "$(loss_at "$W/g20c" 40)" "$(loss_at "$W/c40" 40)"
resume "$W/c20g" $G 40; check "train on the CPU, resume on cuda" test -n "$(loss_at "$W/c20g" 40)"
check "  ... lands where the GPU's own run does" close "$(loss_at "$W/c20g" 40)" "$(loss_at "$W/g40" 40)"
check "  ... and its log records both devices" sh -c "grep -q '\"device\":\"cpu\"' '$W/c20g/train.jsonl' && grep -q '\"device\":\"cuda:0' '$W/c20g/train.jsonl'"

echo "== bit-identical reruns on the GPU (the command line)"
train "$W/g40b" $G 40
check "the same seed twice: the same weights, bit for bit" same_weights "$W/g40/latest.safetensors" "$W/g40b/latest.safetensors"
check "  ... and the same losses" sh -c "[ \"\$(grep train_loss '$W/g40/train.jsonl' | sed 's/,\"ms_per_iter.*//')\" = \"\$(grep train_loss '$W/g40b/train.jsonl' | sed 's/,\"ms_per_iter.*//')\" ]"
train "$W/g40r" $G 40 --max-iters 20 && resume "$W/g40r" $G 40
check "stopped at 20 and resumed on the GPU: the weights of the unbroken run" same_weights "$W/g40/latest.safetensors" "$W/g40r/latest.safetensors"

echo "== eval, sample, cells and viz on the GPU against the CPU"
M=$W/g40/latest.safetensors
head -c 20000 "$K" >"$W/text.txt"
nats() { sed -n 's/^[^:]*: \([0-9.]*\) nats.*/\1/p' | head -n 1; }
ec=$("$C" eval "$M" "$W/text.txt" --device cpu --precision fp32 2>/dev/null | nats)
eg=$("$C" eval "$M" "$W/text.txt" --device $G --precision fp32 2>/dev/null | nats)
check "eval: the GPU's loss is the CPU's ($eg, $ec)" close "$eg" "$ec"
dc=$("$C" eval "$M" "$W/text.txt" --dynamic --device cpu --precision fp32 2>/dev/null | grep dynamic | sed 's/.*dynamic: \([0-9.]*\) nats.*/\1/')
dg=$("$C" eval "$M" "$W/text.txt" --dynamic --device $G --precision fp32 2>/dev/null | grep dynamic | sed 's/.*dynamic: \([0-9.]*\) nats.*/\1/')
check "eval --dynamic: the GPU's loss is the CPU's ($dg, $dc)" close "$dg" "$dc"
check "sample, one stream, on the GPU" sh -c "[ \$('$C' sample '$M' --device $G --length 300 --verbose 0 | wc -c) -ge 300 ]"
check "sample --num-samples 8 on the GPU" sh -c "[ \$('$C' sample '$M' --device $G --length 100 --num-samples 8 --verbose 0 | wc -c) -ge 800 ]"
check "sample: the same seed twice on the GPU, the same text" sh -c "[ \"\$('$C' sample '$M' --device $G --length 300 --seed 3 --verbose 0)\" = \"\$('$C' sample '$M' --device $G --length 300 --seed 3 --verbose 0)\" ]"
check "cells on the GPU" sh -c "'$C' cells '$M' '$W/text.txt' --device $G --length 3000 --top 5 | grep -q 'best neuron'"
check "viz on the GPU" "$C" viz "$M" "$W/text.txt" --device $G --length 2000 -o "$W/viz.html"

echo "== compress / decompress on the GPU"
check "compress on the GPU" "$C" compress "$M" "$W/text.txt" --device $G -o "$W/z.gpu"
check "  ... decompress on the GPU gives the bytes back" sh -c "'$C' decompress '$M' '$W/z.gpu' --device $G -o '$W/back.txt' && cmp -s '$W/text.txt' '$W/back.txt'"
check "  ... the CPU refuses it, naming the GPU" sh -c "! '$C' decompress '$M' '$W/z.gpu' --device cpu -o '$W/back2.txt' 2>'$W/refused.txt' && grep -q 'compressed on cuda' '$W/refused.txt' && [ ! -e '$W/back2.txt' ]"
check "--adapt's fresh model on the GPU, round trip" sh -c "'$C' compress '$W/text.txt' --adapt --rnn-size 64 --device $G -o '$W/za.gpu' && '$C' decompress '$W/za.gpu' --device $G -o '$W/backa.txt' && cmp -s '$W/text.txt' '$W/backa.txt'"
check "64 lanes on the GPU, round trip" sh -c "'$C' compress '$M' '$W/text.txt' --lanes 64 --device $G -o '$W/zl.gpu' && '$C' decompress '$M' '$W/zl.gpu' --device $G -o '$W/backl.txt' && cmp -s '$W/text.txt' '$W/backl.txt'"
check "64 lanes adapting on the GPU, round trip" sh -c "'$C' compress '$W/text.txt' --adapt --rnn-size 64 --lanes 64 --device $G -o '$W/zla.gpu' && '$C' decompress '$W/zla.gpu' --device $G -o '$W/backla.txt' && cmp -s '$W/text.txt' '$W/backla.txt'"

# 3. compute-sanitizer's memcheck on the GPU's cases
if [ "$memcheck" = 1 ]; then
    echo "== compute-sanitizer --tool memcheck on the GPU's test cases"
    cs=$(command -v compute-sanitizer || echo "$CUDA_HOME/bin/compute-sanitizer")
    if [ -x "$cs" ]; then
        CHARRNN_BIN=$C CHARRNN_BUILD=$BUILD OMP_NUM_THREADS=4 timeout 120 "$cs" --tool memcheck --leak-check full \
            --error-exitcode 99 "$BUILD/run_tests" backend_cuda_against_cpu backend_cuda_rerun_identical \
            device_model_moves >"$W/memcheck.log" 2>&1
        m=$?
        grep -E 'ERROR SUMMARY|passed, ' "$W/memcheck.log"
        if [ "$m" = 0 ]; then pass "memcheck: clean"
        elif [ "$m" = 124 ]; then fail "memcheck: out of time (120 s)"
        else tail -n 30 "$W/memcheck.log"; fail "memcheck: exit $m"; fi
    else
        fail "compute-sanitizer is not here ($cs); pass --quick to leave memcheck out"
    fi
fi

echo "== gpu.sh: $(($(date +%s) - T0)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
