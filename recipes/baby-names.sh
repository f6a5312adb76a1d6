#!/bin/sh
# The post's baby names experiment: 8,000 US first names, one per line. A
# 2 x 128 LSTM; then 50 sampled names, and how many of them are new (the post
# found about 90% not in the training set).
. "$(dirname "$0")/common.sh"
corpus baby-names-8000.txt
train --num-layers 2 --rnn-size 128 --dropout 0.2 --batch-size 50 --seq-length 50 --train-frac 0.9 --val-frac 0.1 --max-epochs 2000 \
    --eval-val-every 200
baseline --train-frac 0.9 --val-frac 0.1
sample --primetext '
' --max-lines 51 --length 100000 --temperature 1
step "novelty: sampled names not in the training names"
tail -n +2 "$OUT/sample.txt" > "$OUT/names.txt"
"$CHARRNN" novelty "$OUT/names.txt" "$CORPUS" --lines --max-n 10 | tee "$OUT/novelty.txt"
look 50300 5500
summary
