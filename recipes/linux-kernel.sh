#!/bin/sh
# The post's Linux source experiment: a model that writes C. Here the kernel/
# and mm/ directories of Linux 6.1 (16 MB; the post used 474 MB and a 3 x 512
# LSTM), a 2 x 256 LSTM with dropout, sized for a 2-core laptop.
. "$(dirname "$0")/common.sh"
corpus linux-kernel.txt
train --num-layers 2 --rnn-size 256 --dropout 0.2 --batch-size 50 --seq-length 100 --eval-val-every 500
baseline
sample --length 1500 --temperature 0.8 --primetext '/*
 * '
look 15900000 100000
summary
