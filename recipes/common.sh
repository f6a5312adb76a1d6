# common.sh: what every recipe shares (sourced, not run). A recipe trains a
# model of the post's shape on one corpus within a time budget, then samples
# it, measures the 10-gram baseline on the same split, finds the most
# interpretable cells and writes the viz page, all under recipes/out/NAME/.
#
# Environment:
#   CHARRNN        the charrnn binary (default: ./charrnn of this checkout, else charrnn on PATH)
#   CHARRNN_DATA   where the corpora are (default: recipes/data; fetch them there with
#                  `bash recipes/data/fetch.sh NAME`, Debian 12 + npm)
#   RECIPE_TIME    the training budget (default 25m: recipes fit a 2-core laptop in 30 minutes)
#   RECIPE_THREADS threads (default: all cores)
set -e
RECIPES=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$RECIPES")
if [ -z "$CHARRNN" ]; then
    if [ -x "$ROOT/charrnn" ]; then CHARRNN="$ROOT/charrnn"; else CHARRNN=charrnn; fi
fi
DATA=${CHARRNN_DATA:-$RECIPES/data}
TIME=${RECIPE_TIME:-25m}
THREADS=${RECIPE_THREADS:-$(nproc)}
NAME=$(basename "$0" .sh)
OUT="$RECIPES/out/$NAME"
mkdir -p "$OUT"

# corpus FILE: the corpus's path, or a message saying how to fetch it.
corpus() {
    if [ ! -f "$DATA/$1" ]; then
        echo "recipe $NAME: $DATA/$1 is missing; fetch it with: bash $RECIPES/data/fetch.sh ${1%.txt}" >&2
        echo "(or set CHARRNN_DATA to a folder that has it)" >&2
        exit 1
    fi
    CORPUS="$DATA/$1"
}

# step TITLE: a heading in the log.
step() { printf '\n== %s: %s ==\n' "$NAME" "$1"; }

# train OPTIONS...: trains within the budget (resuming a run already there), logging to $OUT/train.log.
train() {
    step "train ($TIME on $THREADS threads)"
    if [ -f "$OUT/cv/latest.safetensors" ]; then
        set -- --resume "$OUT/cv/latest.safetensors"
    else
        set -- "$@" --checkpoint-dir "$OUT/cv"
    fi
    start=$(date +%s)
    "$CHARRNN" train "$CORPUS" "$@" --max-time "$TIME" --threads "$THREADS" 2>&1 | tee "$OUT/train.log" |
        grep -E "^(model|corpus|validation|time budget|done)" || true
    echo "training took $(( $(date +%s) - start )) s" | tee -a "$OUT/train.log"
    MODEL="$OUT/cv/best.safetensors"
    [ -e "$MODEL" ] || MODEL="$OUT/cv/latest.safetensors"
}

# baseline: the interpolated Kneser-Ney 10-gram on the same split.
baseline() {
    step "10-gram Kneser-Ney baseline on the same split"
    "$CHARRNN" ngram "$CORPUS" --order 10 "$@" 2>&1 | tee "$OUT/ngram.log"
}

# sample OPTIONS...: a sample into $OUT/sample.txt.
sample() {
    step "sample"
    "$CHARRNN" sample "$MODEL" --verbose 0 --seed 1 "$@" | tee "$OUT/sample.txt"
}

# look START LENGTH: the cells finder and the viz page on held-out text (from character START).
look() {
    step "interpretable cells"
    "$CHARRNN" cells "$MODEL" "$CORPUS" --start "$1" --length "$2" --top 10 -o "$OUT/cells.html" | tee "$OUT/cells.txt"
    step "viz page"
    "$CHARRNN" viz "$MODEL" "$CORPUS" --start "$1" --length 3000 -o "$OUT/viz.html"
    echo "pages: $OUT/cells.html $OUT/viz.html (open them in a browser)"
}

# summary: the numbers the recipes' table holds.
summary() {
    step "summary"
    val=$(grep -o 'val_loss = [0-9.]* nats ([0-9.]* bpc)' "$OUT/train.log" | tail -n 1)
    echo "val: $val"
    grep -E "^(val|test)" "$OUT/ngram.log" || true
    grep -m1 -A1 "ranked by" "$OUT/cells.txt" | tail -n 1 || true
}
