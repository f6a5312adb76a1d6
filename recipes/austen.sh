#!/bin/sh
# The post's Shakespeare experiment, on Jane Austen's six novels (4 MB; public
# domain): a 2 x 256 LSTM (the post: 3 x 512) that learns dialogue, quotes and
# English spelling.
. "$(dirname "$0")/common.sh"
corpus austen.txt
train --num-layers 2 --rnn-size 256 --dropout 0.2 --batch-size 50 --seq-length 100 --eval-val-every 500
baseline
sample --length 1500 --temperature 0.8 --primetext '"'
look 3850000 100000
summary
