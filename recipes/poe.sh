#!/bin/sh
# The post's Paul Graham experiment (1 MB of essays), on the works of Edgar
# Allan Poe from Project Gutenberg (2.6 MB). On a GPU the post's model for it:
# 2 x 512, dropout 0.5, batch 100, seq 100. On the CPU a 2 x 256.
. "$(dirname "$0")/common.sh"
corpus poe-works.txt
if gpu; then
    train --num-layers 2 --rnn-size 512 --dropout 0.5 --batch-size 100 --seq-length 100 --eval-val-every 500
else
    train --num-layers 2 --rnn-size 256 --dropout 0.25 --batch-size 50 --seq-length 100 --eval-val-every 500
fi
evaluate
baseline
sample --length 1500 --temperature 0.8 --primetext 'The '
look 2500000 100000
summary
