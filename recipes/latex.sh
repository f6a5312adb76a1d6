#!/bin/sh
# The post's algebraic geometry experiment (the LaTeX source of a maths
# book), on the LaTeX of Thaddeus H. Black's "Derivations of Applied
# Mathematics" (1.9 MB): a 2 x 256 LSTM that learns \begin{...} / \end{...},
# math mode and cross-references.
. "$(dirname "$0")/common.sh"
corpus derivations-latex.txt
train --num-layers 2 --rnn-size 256 --dropout 0.25 --batch-size 50 --seq-length 100 --eval-val-every 500
baseline
sample --length 1500 --temperature 0.8 --primetext '\begin{'
look 1790000 80000
summary
