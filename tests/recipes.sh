#!/bin/sh
# tests/recipes.sh CHARRNN: the recipes (recipes/*.sh, recipes/table.sh) without their corpora and without a
# GPU, in seconds: one recipe run end to end on a made-up corpus (RECIPE_SMOKE=1: a tiny model, RECIPE_TIME 3s,
# on the CPU) and its table row, every column a number; RECIPE_DEVICE=cuda where the binary sees no GPU is a
# one-line error; a run kept from another split is refused; and, with a stand-in charrnn whose `info` names a
# GPU (and one whose does not), the dry runs of all six recipes show the model sizes and devices they would
# use. Prints "ok"/"FAIL" per check and ends with "N passed, N failed". Run by tests/test_recipes.c.
# shellcheck disable=SC2016,SC2034 # a check's condition is shell code in single quotes, evaluated by check
cd "$(dirname "$0")/.." || exit 1
BIN=${1:-./charrnn}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
# check WHAT CONDITION: one check (CONDITION: shell code, evaluated), with what it shows on failure in $why
check() {
    if eval "$2"; then passed=$((passed + 1)); echo "ok   $1"
    else failed=$((failed + 1)); echo "FAIL $1${why:+: $why}"; fi
    why=
}
has() { printf '%s\n' "$1" | grep -q -- "$2"; }
RECIPES="linux-kernel austen poe latex baby-names tang-poems"
CORPORA="linux-kernel.txt austen.txt poe-works.txt derivations-latex.txt baby-names-8000.txt tang-poems.txt"

# ---- one recipe end to end: baby-names (its own fractions, the novelty step) on 3,000 made-up names
mkdir -p "$TMP/data"
awk 'BEGIN { s = 7; split("ka ri mo la ne su ta bel an jo ev li na", syl, " ")
             for (i = 0; i < 3000; i++) { n = ""; k = 2 + i % 2
                 for (j = 0; j < k; j++) { s = (s * 1103515245 + 12345) % 2147483648; n = n syl[1 + int(s / 65536) % 13] }
                 print toupper(substr(n, 1, 1)) substr(n, 2) } }' > "$TMP/data/baby-names-8000.txt"
out=$(CHARRNN="$BIN" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/out" RECIPE_SMOKE=1 RECIPE_TIME=3s RECIPE_DEVICE=cpu \
      RECIPE_THREADS=1 sh recipes/baby-names.sh 2>&1)
rc=$?
why="exit $rc: $(printf '%s\n' "$out" | tail -n 15)"
check "baby-names.sh runs end to end (RECIPE_SMOKE=1, RECIPE_TIME=3s, RECIPE_DEVICE=cpu)" '[ "$rc" -eq 0 ]'
d="$TMP/out/baby-names"
for f in train.log test.log ngram.log sample.txt novelty.txt cells.txt cells.html viz.html; do
    check "it wrote $f" '[ -s "$d/$f" ]'
done
# the network's test block is the 10-gram's: the same number of predictions
net=$(grep -o 'bpc over [0-9]* predicted' "$d/test.log" 2>/dev/null | grep -o '[0-9]*')
kn=$(sed -n 's/^test: .* bpc over \([0-9]*\) predicted.*/\1/p' "$d/ngram.log" 2>/dev/null)
why="network $net, 10-gram $kn"
check "the network and the 10-gram are measured on the same test block (80 / 10 / 10)" '[ -n "$net" ] && [ "$net" = "$kn" ]'
table=$(RECIPE_OUT="$TMP/out" sh recipes/table.sh 2>&1)
row=$(printf '%s\n' "$table" | grep '^| baby-names |')
why=$table
check "table.sh has a row for it" '[ -n "$row" ]'
header=$(printf '%s\n' "$table" | head -n 1)
check "the table's columns" 'has "$header" "| recipe | model | device | time | iterations | val bpc | test bpc | 10-gram val bpc | 10-gram test bpc | margin .*negative: the network is better.* | best cell"'
# every column filled: the numbers numbers, the margin signed
bad=$(printf '%s\n' "$row" | awk -F' *[|] *' '{
    if (NF != 13) { print "columns: " NF - 2; exit }
    if ($3 !~ /^1 x 16 lstm [(][0-9.]+[kM][)]$/) print "model " $3
    if ($4 !~ /^cpu, (fp32|bf16)(, 1 thread[(]s[)])?$/) print "device " $4
    if ($5 !~ /^[0-9]+ s$/) print "time " $5
    if ($6 !~ /^[0-9]+$/) print "iterations " $6
    for (i = 7; i <= 10; i++) if ($i !~ /^[0-9]+[.][0-9]+$/) print "column " i - 1 ": " $i
    if ($11 !~ /^[-+][0-9]+[.][0-9]%$/) print "margin " $11
    if ($12 !~ /^[0-9]+, [0-9]+, [a-z_]+, [-+][0-9.]+$/) print "cell " $12 }')
why="$bad in: $row"
check "every column of its row is filled, with numbers where numbers go" '[ -n "$row" ] && [ -z "$bad" ]'
margin=$(printf '%s\n' "$row" | awk -F' *[|] *' '{ printf "%+.1f%%", ($8 - $10) / $10 * 100 }')
why="$margin from the test bpcs, in: $row"
check "the margin is the test bpc against the 10-gram's" 'has "$row" "| $margin |"'
# a folder with nothing in it is a row of dashes, not an error
mkdir -p "$TMP/out/empty"
row=$(RECIPE_OUT="$TMP/out" sh recipes/table.sh 2>&1 | grep '^| empty |')
why=$row
check "a folder without logs is a row of dashes" '[ "$row" = "| empty | - | - | - | - | - | - | - | - | - | - |" ]'

# ---- a run kept from another split (no test block, or another one) is refused, with what to do
mv "$d" "$TMP/out/poe"
touch "$TMP/data/poe-works.txt"
err=$(CHARRNN="$BIN" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/out" RECIPE_DEVICE=cpu RECIPE_DRY=1 sh recipes/poe.sh 2>&1 >/dev/null)
rc=$?
why="exit $rc: $err"
check "a kept run on another split is refused in one line" '[ "$rc" -ne 0 ] && [ "$(printf "%s\n" "$err" | wc -l)" -eq 1 ]'
check "... naming both splits and what to do" \
    'has "$err" "another split (train-frac and val-frac: 0.8 0.1; this recipe.s: 0.9 0.05.*move .* away"'

# ---- RECIPE_DEVICE=cuda where the binary sees no GPU: one line, nothing run or written
if "$BIN" info | grep -q '^gpu: *cuda:'; then
    echo "skipped: RECIPE_DEVICE=cuda without a GPU (this binary sees one)"
else
    err=$(CHARRNN="$BIN" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/cuda" RECIPE_DEVICE=cuda sh recipes/baby-names.sh 2>&1)
    rc=$?
    why="exit $rc: $err"
    check "RECIPE_DEVICE=cuda without a GPU is a one-line error" '[ "$rc" -eq 1 ] && [ "$(printf "%s\n" "$err" | wc -l)" -eq 1 ]'
    check "... saying why and what to do" \
        'has "$err" "^recipe baby-names: RECIPE_DEVICE=cuda, but .* has no GPU.*make CUDA=1.*RECIPE_DEVICE=cpu"'
    check "... and writing nothing" '[ ! -e "$TMP/cuda" ]'
fi
err=$(CHARRNN="$BIN" CHARRNN_DATA="$TMP/data" RECIPE_DEVICE=gpu sh recipes/poe.sh 2>&1)
why=$err
check "RECIPE_DEVICE=gpu (not a device) is a one-line error" \
    '[ "$(printf "%s\n" "$err" | wc -l)" -eq 1 ] && has "$err" "use cpu or cuda"'

# ---- the sizes: dry runs of every recipe with a stand-in charrnn, with a GPU and without
for c in $CORPORA; do [ -e "$TMP/data/$c" ] || : > "$TMP/data/$c"; done
fake() { # fake NAME GPU_LINE: a charrnn whose info says GPU_LINE and that fails at anything else
    printf '#!/bin/sh\n[ "$1" = info ] && { echo "gpu:            %s"; exit 0; }\necho "not in a dry run: $*" >&2; exit 3\n' \
        "$2" > "$TMP/$1"
    chmod +x "$TMP/$1"
}
fake gpu "cuda:0 NVIDIA H200 (139 GiB, compute 9.0)"
fake cpu "none in this build (make CUDA=1 builds the CUDA backend)"
for r in $RECIPES; do
    case $r in
        linux-kernel) size="--num-layers 3 --rnn-size 704 --dropout 0.1 --batch-size 100 --seq-length 100" cpu_size=256 ;;
        austen | latex) size="--num-layers 3 --rnn-size 512 --dropout 0.5 --batch-size 100 --seq-length 100" cpu_size=256 ;;
        poe) size="--num-layers 2 --rnn-size 512 --dropout 0.5 --batch-size 100 --seq-length 100" cpu_size=256 ;;
        baby-names) size="--num-layers 2 --rnn-size 256 --dropout 0.5" cpu_size=128 ;;
        tang-poems) size="--num-layers 2 --rnn-size 512 --dropout 0.3 --batch-size 100 --seq-length 64" cpu_size=256 ;;
    esac
    out=$(CHARRNN="$TMP/gpu" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/dry" RECIPE_DRY=1 sh "recipes/$r.sh" 2>&1)
    rc=$?
    tr=$(printf '%s\n' "$out" | grep '^charrnn train ')
    why="exit $rc: $out"
    check "$r on a GPU (dry run): the post's size, --device cuda, 90 s" \
        '[ "$rc" -eq 0 ] && has "$tr" "$size" && has "$tr" "--max-time 90s .*--device cuda$"'
    fracs=$(printf '%s\n' "$tr" | grep -o -- '--train-frac [0-9.]* --val-frac [0-9.]*')
    check "$r: eval --split test on the GPU, the 10-gram on the train run's fractions" '[ -n "$fracs" ] &&
        has "$out" "^charrnn eval .*/$r-gpu/cv/best.safetensors .* --split test --streams [0-9]* .*--device cuda" &&
        has "$out" "^charrnn ngram .* --order 10 $fracs"'
    for cmd in sample cells viz; do
        check "$r: $cmd on the GPU" 'has "$out" "^charrnn $cmd .*--device cuda"'
    done
    out=$(CHARRNN="$TMP/cpu" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/dry" RECIPE_DRY=1 RECIPE_TIME=7m sh "recipes/$r.sh" 2>&1)
    why=$out
    check "$r on the CPU (dry run): 2 x $cpu_size, --device cpu, RECIPE_TIME" \
        'has "$out" "^charrnn train .*--num-layers 2 --rnn-size $cpu_size .*--max-time 7m .*--device cpu$"'
done
out=$(CHARRNN="$TMP/gpu" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/dry" RECIPE_DRY=1 RECIPE_GPU_TIME=45s RECIPE_TIME=7m \
      sh recipes/poe.sh 2>&1)
why=$out
check "RECIPE_GPU_TIME sets the GPU's budget" 'has "$out" "^charrnn train .*--max-time 45s"'
out=$(CHARRNN="$TMP/gpu" CHARRNN_DATA="$TMP/data" RECIPE_OUT="$TMP/dry" RECIPE_DRY=1 RECIPE_DEVICE=cpu sh recipes/poe.sh 2>&1)
why=$out
check "RECIPE_DEVICE=cpu overrides a GPU" 'has "$out" "^charrnn train .*--rnn-size 256 .*--device cpu$"'
why=$(ls -R "$TMP/dry" 2>&1)
check "dry runs write nothing" '[ ! -e "$TMP/dry" ]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
