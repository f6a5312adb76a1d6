#!/bin/sh
# table.sh: the recipes' results as Markdown, from recipes/out/*/ (what each
# recipe wrote): best validation bpc and the 10-gram baseline's on the same
# split, training time, the most interpretable cell, and the start of a sample.
cd "$(dirname "$0")"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "| recipe | model | val bpc | 10-gram val bpc | training | best cell (layer, neuron, property, r) |"
echo "|---|---|---:|---:|---|---|"
for d in out/*/; do
    n=$(basename "$d")
    [ -f "$d/train.log" ] || continue
    model=$(grep -m1 '^model:' "$d/train.log" | sed 's/^model: \([^,]*\),.*/\1/')
    best=$(grep -o 'val_loss = [0-9.]* nats ([0-9.]* bpc)' "$d/train.log" | sed 's/.*(\([0-9.]*\) bpc)/\1/' | sort -n | head -n 1)
    kn=$(grep -m1 '^val:' "$d/ngram.log" | sed 's/.*nats, \([0-9.]*\) bpc.*/\1/')
    secs=$(grep -o 'training took [0-9]* s' "$d/train.log" | grep -o '[0-9]*')
    iters=$(grep -o 'stopped at iteration [0-9]*\|done: [0-9]* iterations' "$d/train.log" | grep -o '[0-9]*' | head -n 1)
    threads=$(grep -o 'threads [0-9]*' "$d/train.log" | tail -n 1 | grep -o '[0-9]*')
    cell=$(awk '/ranked by/ { getline; getline; printf "%s, %s, %s, %s", $2, $3, $4, $5; exit }' "$d/cells.txt")
    echo "| $n | $model | $best | $kn | $iters iterations in $((secs / 60)) min $((secs % 60)) s, $threads thread(s) | $cell |"
done
echo
echo "Machine: $machine."
