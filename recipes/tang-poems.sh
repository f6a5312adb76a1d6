#!/bin/sh
# Chinese, one token per character: 53,000 Tang poems (12 MB, 9,463 distinct
# characters). The post's experiments are all in English; its Chinese
# translation makes this one ours. A 2 x 256 LSTM whose vocabulary is 9,463
# code points (byte-level models see 3 bytes per character).
. "$(dirname "$0")/common.sh"
corpus tang-poems.txt
train --num-layers 2 --rnn-size 256 --dropout 0.1 --batch-size 50 --seq-length 64 --eval-val-every 500
baseline
sample --length 600 --temperature 0.8 --primetext '春'
look 4100000 20000
summary
