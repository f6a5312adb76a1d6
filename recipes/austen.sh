#!/bin/sh
# The post's Shakespeare experiment, on Jane Austen's six novels (4 MB; public
# domain): an LSTM that learns dialogue, quotes and English spelling. On a GPU
# the post's 3 x 512 (5.5M parameters), dropout 0.5: 90 s go through 3.6 MB
# many times, and dropout keeps it learning rather than memorising. On the
# CPU a 2 x 256.
. "$(dirname "$0")/common.sh"
corpus austen.txt
if gpu; then
    train --num-layers 3 --rnn-size 512 --dropout 0.5 --batch-size 100 --seq-length 100 --eval-val-every 500
else
    train --num-layers 2 --rnn-size 256 --dropout 0.2 --batch-size 50 --seq-length 100 --eval-val-every 500
fi
evaluate
baseline
sample --length 1500 --temperature 0.8 --primetext '"'
look 3850000 100000
summary
