#!/bin/sh
# The post's baby names experiment: 8,000 US first names, one per line; then
# 50 sampled names, and how many of them are new (the post found about 90% not
# in the training set). Split 80 / 10 / 10: the validation and test blocks are
# 800 names each. 45 kB of training text is what limits this model, not
# compute: on a GPU a 2 x 256 (wider than the CPU's, not deeper or as wide as
# the others: a bigger one only memorises the list sooner), dropout 0.5,
# batches of 50 x 50 (45 kB makes 17 of them, so it still takes many steps an
# epoch); on the CPU a 2 x 128.
. "$(dirname "$0")/common.sh"
corpus baby-names-8000.txt
fractions 0.8 0.1
if gpu; then
    train --num-layers 2 --rnn-size 256 --dropout 0.5 --batch-size 50 --seq-length 50 --max-epochs 20000 --eval-val-every 200
else
    train --num-layers 2 --rnn-size 128 --dropout 0.2 --batch-size 50 --seq-length 50 --max-epochs 2000 --eval-val-every 200
fi
evaluate
baseline
sample --primetext '
' --max-lines 51 --length 100000 --temperature 1
novelty
look 50300 5500
summary
