#!/bin/sh
# valgrind.sh: a short train + resume + sample + eval + info, and an n-gram
# model counted, saved, evaluated, sampled and described, under valgrind's
# memcheck (an AVX2 build: valgrind does not decode AVX-512). Any invalid access,
# use of uninitialised memory or definite leak fails it. Prints "valgrind: ok".
set -e
BIN=${1:-build/valgrind/charrnn}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=0
while [ $i -lt 300 ]; do echo "the cat sat on the mat; the dog sat on the log."; i=$((i + 1)); done > "$dir/text.txt"
vg() { valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite "$BIN" "$@"; }
vg train "$dir/text.txt" --rnn-size 8 --num-layers 2 --dropout 0.2 --batch-size 4 --seq-length 8 --max-iters 4 \
    --eval-val-every 2 --checkpoint-dir "$dir/cv" --threads 1 2>/dev/null
vg train "$dir/text.txt" --resume "$dir/cv/latest.safetensors" --max-iters 6 --checkpoint-dir "$dir/cv" --threads 1 2>/dev/null
vg sample "$dir/cv/latest.safetensors" --length 50 --primetext "the " --temperature 0.7 --threads 1 >/dev/null 2>&1
vg sample "$dir/cv/latest.safetensors" --length 20 --num-samples 3 --threads 1 >/dev/null 2>&1
vg eval "$dir/cv/latest.safetensors" "$dir/text.txt" --threads 1 >/dev/null
vg info "$dir/cv/latest.safetensors" >/dev/null
vg ngram "$dir/text.txt" --order 4 --train-frac 0.8 --val-frac 0.1 --save "$dir/ngram.safetensors" --sample 30 \
    --threads 1 >/dev/null 2>&1
vg eval "$dir/ngram.safetensors" "$dir/text.txt" --threads 1 >/dev/null
vg sample "$dir/ngram.safetensors" --length 30 --primetext "the " --num-samples 2 >/dev/null 2>&1
vg info "$dir/ngram.safetensors" >/dev/null
echo "valgrind: ok"
