#!/bin/sh
# The post's Linux source experiment: a model that writes C. Here the kernel/
# and mm/ directories of Linux 6.1 (16 MB; the post used 474 MB). On a GPU the
# post's model: 3 layers of about 10M parameters; with this corpus's 104 code
# points, 3 x 704 has 10.3M (3 x 700: 10.2M; 704 = 11 x 64 suits the GPU's
# tiles), and 90 s see the corpus a few times at most, so little dropout. On
# the CPU a 2 x 256 LSTM with dropout, sized for a 2-core laptop.
. "$(dirname "$0")/common.sh"
corpus linux-kernel.txt
if gpu; then
    train --num-layers 3 --rnn-size 704 --dropout 0.1 --batch-size 100 --seq-length 100 --eval-val-every 500
else
    train --num-layers 2 --rnn-size 256 --dropout 0.2 --batch-size 50 --seq-length 100 --eval-val-every 500
fi
evaluate
baseline
sample --length 1500 --temperature 0.8 --primetext '/*
 * '
look 15900000 100000
summary
