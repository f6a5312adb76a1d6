#!/bin/sh
# mpi_scaling.sh: data-parallel scaling on this machine. For configs 1, 3 and
# 4 of the speed benchmark, the milliseconds per iteration of 1 rank x 1
# thread, 1 rank x 2 threads and 2 ranks x 1 thread (mpirun, OpenMPI), the
# median of the progress lines after warm-up. Prints a Markdown table.
#   sh bench/mpi_scaling.sh        (needs make MPI=1; CHARRNN_DATA: where kjv-bible.txt is)
set -e
cd "$(dirname "$0")/.."
MPIBIN=${MPIBIN:-build/mpi/charrnn}
DATA=${CHARRNN_DATA:-recipes/data}
ITERS=${ITERS:-30}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_PROC_BIND=false
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpus="$DATA/kjv-bible.txt"
# the median ms/it of the progress lines after the first five
msit() { grep -o '[0-9.]* ms/it' "$1" | awk 'NR > 5 { print $1 }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
run() { # run LABEL NP THREADS CONFIG...
    label=$1; np=$2; th=$3; shift 3
    rm -rf "$tmp/cv"
    bind=none; [ "$np" -gt 1 ] && bind=core # a rank a core (unbound, two ranks share one now and then)
    mpirun --bind-to $bind -np "$np" "$MPIBIN" train "$corpus" "$@" --max-iters "$ITERS" --print-every 1 \
        --eval-val-every 100000000 --val-max-chars 1000 --threads "$th" --checkpoint-dir "$tmp/cv" > "$tmp/$label.log" 2>&1
    msit "$tmp/$label.log"
}
echo "| config | 1 rank x 1 thread ms/it | 1 rank x 2 threads ms/it | 2 ranks x 1 thread ms/it | 2 ranks vs 1 x 1 | 2 ranks vs 1 x 2 |"
echo "|---|---:|---:|---:|---:|---:|"
for cfg in "1: 2x128 b50 s50|--rnn-size 128 --num-layers 2 --batch-size 50 --seq-length 50" \
           "3: 2x512 b50 s50|--rnn-size 512 --num-layers 2 --batch-size 50 --seq-length 50" \
           "4: 2x512 b100 s100 drop0.5|--rnn-size 512 --num-layers 2 --batch-size 100 --seq-length 100 --dropout 0.5"; do
    name=${cfg%%|*}; args=${cfg#*|}
    a=$(run a 1 1 $args); b=$(run b 1 2 $args); c=$(run c 2 1 $args)
    echo "| $name | $a | $b | $c | $(awk -v a="$a" -v c="$c" 'BEGIN { printf "**%.2fx**", a / c }') | $(awk -v b="$b" -v c="$c" 'BEGIN { printf "%.2fx", b / c }') |"
done
