#!/bin/sh
# compress.sh: charrnn compress --adapt (a fresh 1 x 128 LSTM that learns the
# file as it codes it: nothing but the file itself) against gzip -9, bzip2 -9,
# xz -9 and zstd -19, on corpora of CHARRNN_DATA (the fetch.sh corpora), with
# sizes, bits per byte and speed in KB/s; every charrnn file is decompressed
# and compared with the original. Prints a Markdown table.
#   sh bench/compress.sh [FILE ...]      (default: the README's four)
set -e
cd "$(dirname "$0")/.."
BIN=${CHARRNN:-./charrnn}
DATA=${CHARRNN_DATA:-recipes/data}
SIZE=${CHARRNN_SIZE:-128}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ $# -gt 0 ] || set -- "$DATA/baby-names.txt" "$DATA/derivations-latex.txt" "$DATA/chinese-fortunes.txt" \
    "$DATA/linux-kernel.txt:10000000"
now() { date +%s.%N; }
rate() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.0f", b / 1000 / (t > 0 ? t : 1e-9) }'; }
bpb() { awk -v c="$1" -v b="$2" 'BEGIN { printf "%.3f", 8 * c / b }'; }
echo "| file | bytes | gzip -9 | bzip2 -9 | xz -9 | zstd -19 | charrnn --adapt (1 x $SIZE LSTM) | charrnn KB/s (compress / decompress) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for spec in "$@"; do
    f=${spec%%:*}
    in="$tmp/in"
    case "$spec" in *:*) head -c "${spec##*:}" "$f" > "$in"; name="$(basename "$f") (first ${spec##*:} bytes)" ;;
                    *) cp "$f" "$in"; name=$(basename "$f") ;; esac
    n=$(wc -c < "$in")
    row="| $name | $n"
    for tool in "gzip -9" "bzip2 -9" "xz -9" "zstd -19 -q"; do
        s=$($tool -c < "$in" | wc -c)
        row="$row | $s ($(bpb "$s" "$n"))"
    done
    t0=$(now)
    "$BIN" compress --adapt --rnn-size "$SIZE" "$in" -o "$tmp/z" 2>/dev/null
    t1=$(now)
    "$BIN" decompress "$tmp/z" -o "$tmp/back" 2>/dev/null
    t2=$(now)
    cmp -s "$in" "$tmp/back" || { echo "round trip FAILED on $name"; exit 1; }
    s=$(wc -c < "$tmp/z")
    tc=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'); td=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
    echo "$row | **$s ($(bpb "$s" "$n"))** | $(rate "$n" "$tc") / $(rate "$n" "$td") |"
done
