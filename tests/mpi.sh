#!/bin/sh
# mpi.sh: data-parallel training with OpenMPI on this machine
# (mpirun --oversubscribe -np 2). The same global batch and seed on 2 ranks
# follows the single-process loss trajectory over 50 steps within float
# reduction order; checkpoints move between 2 ranks and a build without MPI
# both ways; Ctrl-C on mpirun saves a resumable checkpoint; a rank that is
# killed ends the whole job and the last checkpoint stays intact; a batch
# smaller than the ranks is refused, and so is the corpus on standard input
# (which reaches only rank 0). Prints "N passed, N failed".
# Usage: sh tests/mpi.sh MPI_BINARY PLAIN_BINARY
cd "$(dirname "$0")/.."
MPIBIN=${1:-build/mpi/charrnn}
BIN=${2:-./charrnn}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
i=0
while [ $i -lt 600 ]; do echo "the cat sat on the mat; a dog ran in the fog, $((i % 13)) times."; i=$((i + 1)); done > "$tmp/text.txt"
A="--precision fp32 --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 --max-iters 50 --print-every 1 --eval-val-every 25 --threads 1"
mpirun -np 2 "$MPIBIN" train "$tmp/text.txt" $A --checkpoint-dir "$tmp/p2" > "$tmp/p2.log" 2>&1 || bad "2 ranks: $(tail -n 3 "$tmp/p2.log")"
"$BIN" train "$tmp/text.txt" $A --checkpoint-dir "$tmp/p1" > "$tmp/p1.log" 2>&1 || bad "1 process: $(tail -n 3 "$tmp/p1.log")"
cmp=$(/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
def read(run, key):
    return [json.loads(l)[key] for l in open(f"{d}/{run}/train.jsonl") if key in l]
a, b = read("p1", "train_loss"), read("p2", "train_loss")
va, vb = read("p1", "val_loss"), read("p2", "val_loss")
worst = max(abs(x - y) / max(abs(x), 1e-9) for x, y in zip(a, b)) if a and len(a) == len(b) else 1
vworst = max(abs(x - y) for x, y in zip(va, vb)) if va and len(va) == len(vb) else 1
print(f"{len(a)} {len(b)} {worst:.3g} {vworst:.3g}")
PY
)
set -- $cmp
if [ "$1" = 50 ] && [ "$2" = 50 ] && awk -v w="$3" -v v="$4" 'BEGIN { exit !(w <= 1e-4 && v <= 1e-4) }'; then
    ok "2 ranks follow the single-process trajectory over 50 steps (worst relative difference $3, validation $4)"
else
    bad "2 ranks vs 1 process: $cmp"
fi
# checkpoints move between rank counts and builds
if "$BIN" train "$tmp/text.txt" --resume "$tmp/p2/latest.safetensors" --max-iters 60 --threads 1 --precision fp32 > "$tmp/r1.log" 2>&1 &&
   grep -q "resuming" "$tmp/r1.log"; then ok "a 2-rank checkpoint resumes without MPI"; else bad "2 -> 1: $(tail -n 2 "$tmp/r1.log")"; fi
if mpirun -np 2 "$MPIBIN" train "$tmp/text.txt" --resume "$tmp/p1/latest.safetensors" --max-iters 60 --threads 1 --precision fp32 > "$tmp/r2.log" 2>&1 &&
   grep -q "resuming" "$tmp/r2.log"; then ok "a single-process checkpoint resumes on 2 ranks"; else bad "1 -> 2: $(tail -n 2 "$tmp/r2.log")"; fi
# alike within float reduction order (as the trajectories above), not to the printed digit: two
# numbers a rounding apart can print differently at 4 decimals
v1=$(sed -n 's/.*validation at 60: val_loss = \([0-9.]*\).*/\1/p' "$tmp/r1.log"); v2=$(sed -n 's/.*validation at 60: val_loss = \([0-9.]*\).*/\1/p' "$tmp/r2.log")
if [ -n "$v1" ] && [ -n "$v2" ] && awk -v a="$v1" -v b="$v2" 'BEGIN { d = a - b; exit !(d <= 2e-4 && -d <= 2e-4) }'; then
    ok "both continuations validate alike ($v1, $v2)"
else bad "continuations: val_loss at 60 '$v1' vs '$v2'"; fi
# Ctrl-C on mpirun: saved and resumable
B="--rnn-size 64 --num-layers 1 --batch-size 16 --seq-length 32 --max-iters 100000000 --print-every 10 --eval-val-every 1000000 --threads 1"
mpirun -np 2 "$MPIBIN" train "$tmp/text.txt" $B --checkpoint-dir "$tmp/sig" > "$tmp/sig.log" 2>&1 &
mp=$!
n=0; while ! grep -q '^20/' "$tmp/sig.log" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
kill -INT $mp; wait $mp; rc=$?
if grep -q "interrupted at iteration" "$tmp/sig.log" && "$BIN" info "$tmp/sig/latest.safetensors" > /dev/null 2>&1; then
    ok "Ctrl-C on mpirun saved a checkpoint (mpirun exit $rc)"
else
    bad "Ctrl-C on mpirun: exit $rc: $(tail -n 3 "$tmp/sig.log")"
fi
# a rank killed: the job ends, the last checkpoint (from iteration 30) is intact
C="--rnn-size 64 --num-layers 1 --batch-size 16 --seq-length 32 --max-iters 100000000 --print-every 10 --eval-val-every 30 --threads 1"
mpirun -np 2 "$MPIBIN" train "$tmp/text.txt" $C --checkpoint-dir "$tmp/die" > "$tmp/die.log" 2>&1 &
mp=$!
n=0; while ! grep -q '^50/' "$tmp/die.log" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
victim=$(pgrep -f "^$MPIBIN train $tmp/text.txt" | tail -n 1) # a rank (its command line starts with the binary), not mpirun
kill -9 "$victim" 2>/dev/null
n=0; while kill -0 $mp 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
if kill -0 $mp 2>/dev/null; then kill -9 $mp; bad "mpirun still running 30 s after a rank was killed"; else
    wait $mp; rc=$?
    if [ $rc -ne 0 ] && "$BIN" info "$tmp/die/latest.safetensors" > /dev/null 2>&1; then
        ok "a killed rank ends the job (mpirun exit $rc) and latest.safetensors loads"
    else bad "killed rank: exit $rc, latest: $("$BIN" info "$tmp/die/latest.safetensors" 2>&1 | head -n 1)"; fi
fi
pkill -9 -f "$tmp/text.txt" 2>/dev/null
# a batch smaller than the ranks
mpirun -np 2 "$MPIBIN" train "$tmp/text.txt" --batch-size 1 --max-iters 2 --checkpoint-dir "$tmp/small" > "$tmp/small.log" 2>&1
grep -q "smaller than the 2 ranks" "$tmp/small.log" && ok "a batch smaller than the ranks is refused" || bad "batch 1 on 2 ranks: $(tail -n 2 "$tmp/small.log")"
# standard input reaches only rank 0: refused with the reason, before anything is written
mpirun -np 2 "$MPIBIN" train - --max-iters 2 --checkpoint-dir "$tmp/stdin" < "$tmp/text.txt" > "$tmp/stdin.log" 2>&1
if grep -q "standard input reaches only rank 0" "$tmp/stdin.log" && ! grep -q "is empty" "$tmp/stdin.log" && [ ! -e "$tmp/stdin" ]; then
    ok "train - on 2 ranks is refused: standard input reaches only rank 0"
else bad "train - on 2 ranks: $(grep charrnn "$tmp/stdin.log" | head -n 2)"; fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
