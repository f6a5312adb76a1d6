#!/bin/sh
# table.sh: the recipes' results as Markdown, one row per folder of
# recipes/out/ (RECIPE_OUT, if set), from what each recipe wrote there:
# train.log (model, device, time, iterations, best validation bpc), test.log
# (the network on the test block), ngram.log (the 10-gram on the validation
# and test blocks of the same split) and cells.txt (the most interpretable
# cell). Whatever a folder lacks is a dash.
OUT=${RECIPE_OUT:-$(cd "$(dirname "$0")" && pwd)/out}

# or_dash VALUE: the value, or a dash when it is empty.
or_dash() { if [ -n "$1" ]; then printf '%s' "$1"; else printf '%s' -; fi; }

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "| recipe | model | device | time | iterations | val bpc | test bpc | 10-gram val bpc | 10-gram test bpc | margin (test bpc against the 10-gram's; negative: the network is better) | best cell (layer, neuron, property, r) |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
for d in "$OUT"/*/; do
    [ -d "$d" ] || continue
    d=${d%/}
    name=$(basename "$d")
    t="$d/train.log"
    model=$(sed -n '1,/^model:/s/^model: \([^,]*\),.* \([0-9]*\) parameters.*/\1 \2/p' "$t" 2>/dev/null | head -n 1 |
            awk '{ n = $NF; $NF = ""; printf "%s(%s)", $0, (n >= 1e6 ? sprintf("%.1fM", n / 1e6) : sprintf("%.0fk", n / 1e3)) }')
    device=$(sed -n 's/^device: //p' "$t" 2>/dev/null | head -n 1)
    precision=$(sed -n 's/^precision: \([a-z0-9]*\).*/\1/p' "$t" 2>/dev/null | head -n 1)
    threads=$(grep -o 'threads [0-9]*$' "$t" 2>/dev/null | tail -n 1 | grep -o '[0-9]*')
    [ -z "$device" ] || [ -z "$precision" ] || device="$device, $precision"
    [ "${device%%,*}" != cpu ] || [ -z "$threads" ] || device="$device, $threads thread(s)"
    secs=$(grep -o 'training took [0-9]* s' "$t" 2>/dev/null | tail -n 1 | grep -o '[0-9]*')
    [ -z "$secs" ] || secs=$(if [ "$secs" -ge 60 ]; then echo "$((secs / 60)) min $((secs % 60)) s"; else echo "$secs s"; fi)
    iters=$(grep -o 'stopped at iteration [0-9]*\|done: [0-9]* iterations' "$t" 2>/dev/null | tail -n 1 | grep -o '[0-9]*')
    val=$(grep -o 'val_loss = [0-9.]* nats ([0-9.]* bpc)' "$t" 2>/dev/null | sed 's/.*(\([0-9.]*\) bpc)/\1/' |
          sort -n | head -n 1)
    test=$(grep -o '[0-9.]* bpc over' "$d/test.log" 2>/dev/null | tail -n 1 | cut -d' ' -f1)
    knval=$(sed -n 's/^val: .*nats, \([0-9.]*\) bpc.*/\1/p' "$d/ngram.log" 2>/dev/null | head -n 1)
    kntest=$(sed -n 's/^test: .*nats, \([0-9.]*\) bpc.*/\1/p' "$d/ngram.log" 2>/dev/null | head -n 1)
    margin=""
    [ -z "$test" ] || [ -z "$kntest" ] ||
        margin=$(awk -v a="$test" -v b="$kntest" 'BEGIN { if (b > 0) printf "%+.1f%%", (a - b) / b * 100 }')
    cell=$(awk '/ranked by/ { getline; getline; printf "%s, %s, %s, %s", $2, $3, $4, $5; exit }' "$d/cells.txt" 2>/dev/null)
    echo "| ${name%-gpu} | $(or_dash "$model") | $(or_dash "$device") | $(or_dash "$secs") | $(or_dash "$iters") |" \
         "$(or_dash "$val") | $(or_dash "$test") | $(or_dash "$knval") | $(or_dash "$kntest") | $(or_dash "$margin") |" \
         "$(or_dash "$cell") |"
done
echo
echo "Machine: $machine."
