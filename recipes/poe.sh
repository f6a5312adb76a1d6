#!/bin/sh
# The post's Paul Graham experiment (1 MB of essays), on the works of Edgar
# Allan Poe from Project Gutenberg (2.6 MB): a 2 x 256 LSTM (the post: 2 x 512).
. "$(dirname "$0")/common.sh"
corpus poe-works.txt
train --num-layers 2 --rnn-size 256 --dropout 0.25 --batch-size 50 --seq-length 100 --eval-val-every 500
baseline
sample --length 1500 --temperature 0.8 --primetext 'The '
look 2500000 100000
summary
