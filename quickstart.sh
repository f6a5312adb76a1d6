#!/bin/sh
# quickstart.sh: from a fresh Debian 12 / Ubuntu machine with only git: installs
# the build dependencies, builds charrnn, trains a 2 x 128 LSTM on the built-in
# corpus (charrnn's own C sources) for a few minutes, and prints a sample.
# Pass extra `charrnn train` options to change the run, e.g. ./quickstart.sh --max-iters 200
set -e
cd "$(dirname "$0")"
sh scripts/install-deps.sh
make -s
./charrnn train --max-iters 1500 --eval-val-every 500 --print-every 50 --checkpoint-dir cv "$@"
echo "--- a sample from cv/best.safetensors at temperature 0.8 ---"
./charrnn sample cv/best.safetensors --length 800 --temperature 0.8 --primetext "static int " --verbose 0
