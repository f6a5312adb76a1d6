#!/bin/sh
# bigcorpus.sh: training on a corpus larger than it is sensible to hold in
# memory. Builds a ~4 GB text (the Linux kernel corpus, repeated), then in
# byte mode (the file mapped as it is) and in code-point mode (encoded once
# into a token cache, then mapped) trains 50 iterations of a 2 x 128 LSTM with
# a validation, and reports the peak RSS (GNU time) and the encoding rate; a
# second code-point run shows the cache reused. Needs ~9 GB of disk in BENCH_DIR.
#   sh bench/bigcorpus.sh            (CHARRNN_DATA: where linux-kernel.txt is)
set -e
cd "$(dirname "$0")/.."
BIN=${CHARRNN:-./charrnn}
DATA=${CHARRNN_DATA:-recipes/data}
DIR=${BENCH_DIR:-build/bigcorpus}
GB=${BENCH_GB:-4}
mkdir -p "$DIR"
big="$DIR/big.txt"
want=$((GB * 1000000000))
if [ ! -f "$big" ] || [ "$(wc -c < "$big")" -ne "$want" ]; then
    echo "writing $big ($GB GB) ..."
    ( while cat "$DATA/linux-kernel.txt"; do :; done ) | head -c "$want" > "$big" || true # cat stops when head has enough
fi
run() { # run LABEL ARGS...
    label=$1; shift
    /usr/bin/time -v "$BIN" train "$big" --rnn-size 128 --num-layers 2 --max-iters 50 --eval-val-every 50 --threads 2 \
        --print-every 50 "$@" 2> "$DIR/$label.log" > /dev/null || { tail -n 5 "$DIR/$label.log"; exit 1; }
    rss=$(awk '/Maximum resident set size/ {printf "%.0f", $6 / 1024}' "$DIR/$label.log")
    wall=$(awk '/Elapsed \(wall clock\)/ {print $8}' "$DIR/$label.log")
    enc=$(grep -o 'read and encoded [^)]*)' "$DIR/$label.log" || echo "cache reused")
    printf '| %s | %s MB | %s | %s |\n' "$label" "$rss" "$enc" "$wall"
}
echo "| run (${GB} GB corpus, 2 x 128 LSTM, 50 iterations + validation) | peak RSS | reading / encoding | wall |"
echo "|---|---:|---|---:|"
rm -rf "$DIR/cv-byte" "$DIR/cv-cp"
run "byte mode (the file mapped)" --unit byte --checkpoint-dir "$DIR/cv-byte"
run "code points, first run (token cache built)" --checkpoint-dir "$DIR/cv-cp"
run "code points, second run (cache reused)" --checkpoint-dir "$DIR/cv-cp" --force
