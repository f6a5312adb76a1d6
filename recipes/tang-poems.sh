#!/bin/sh
# Chinese, one token per character: 53,000 Tang poems (12 MB, 9,463 distinct
# characters). The post's experiments are all in English; its Chinese
# translation makes this one ours. An LSTM whose vocabulary is 9,463 code
# points (byte-level models see 3 bytes per character), seq 64 (a quatrain
# with its title). On a GPU a 2 x 512, dropout 0.3: here the vocabulary, not
# the depth, is what is large (its input and decoder weights hold 24M of its
# 27M parameters, and the decoder's 9,463-way softmax is most of the work);
# on the CPU a 2 x 256.
. "$(dirname "$0")/common.sh"
corpus tang-poems.txt
if gpu; then
    train --num-layers 2 --rnn-size 512 --dropout 0.3 --batch-size 100 --seq-length 64 --eval-val-every 500
else
    train --num-layers 2 --rnn-size 256 --dropout 0.1 --batch-size 50 --seq-length 64 --eval-val-every 500
fi
evaluate
baseline
sample --length 600 --temperature 0.8 --primetext '春'
look 4100000 20000
summary
