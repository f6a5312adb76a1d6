#!/bin/sh
# The post's algebraic geometry experiment (the LaTeX source of a maths
# book), on the LaTeX of Thaddeus H. Black's "Derivations of Applied
# Mathematics" (1.9 MB): an LSTM that learns \begin{...} / \end{...}, math
# mode and cross-references. On a GPU the post's 3 x 512, dropout 0.5 (1.7 MB
# of training text is read many times in 90 s); on the CPU a 2 x 256.
. "$(dirname "$0")/common.sh"
corpus derivations-latex.txt
if gpu; then
    train --num-layers 3 --rnn-size 512 --dropout 0.5 --batch-size 100 --seq-length 100 --eval-val-every 500
else
    train --num-layers 2 --rnn-size 256 --dropout 0.25 --batch-size 50 --seq-length 100 --eval-val-every 500
fi
evaluate
baseline
sample --length 1500 --temperature 0.8 --primetext '\begin{'
look 1790000 80000
summary
