# common.sh: what every recipe shares (sourced, not run). A recipe trains a
# model of the post's shape on one corpus within a time budget, on a GPU when
# charrnn sees one (at the post's size) and else on the CPU (sized for a
# 2-core laptop); measures its loss on the held-out test block and the 10-gram
# baseline's on the same split; samples it, finds the most interpretable cells
# and writes the viz page, all under recipes/out/NAME/ (recipes/out/NAME-gpu/
# for a run on a GPU: another model, so another folder).
#
# Environment:
#   CHARRNN          the charrnn binary (default: ./charrnn of this checkout, else charrnn on PATH)
#   CHARRNN_DATA     where the corpora are (default: recipes/data; fetch them there with
#                    `bash recipes/data/fetch.sh NAME`, Debian 12 + npm)
#   RECIPE_DEVICE    cpu or cuda (cuda:N) (default: cuda when `charrnn info` names a GPU, else cpu)
#   RECIPE_TIME      the training budget on the CPU (default 25m: recipes fit a 2-core laptop in 30 minutes)
#   RECIPE_GPU_TIME  the training budget on a GPU (default 90s: all six fit in a 15-minute GPU session)
#   RECIPE_THREADS   threads (default: all cores)
#   RECIPE_OUT       where the results go (default: recipes/out)
#   RECIPE_DRY=1     print the charrnn commands instead of running them (nothing is written)
#   RECIPE_SMOKE=1   a tiny model, a short sample, cells on the first 2000 characters: that a recipe runs
#                    end to end, in seconds on a tiny corpus (the tests)
set -e
RECIPES=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$RECIPES")
if [ -z "$CHARRNN" ]; then
    if [ -x "$ROOT/charrnn" ]; then CHARRNN="$ROOT/charrnn"; else CHARRNN=charrnn; fi
fi
DATA=${CHARRNN_DATA:-$RECIPES/data}
THREADS=${RECIPE_THREADS:-$(nproc)}
NAME=$(basename "$0" .sh)
DRY=${RECIPE_DRY:-}
SMOKE=${RECIPE_SMOKE:-}
[ "$DRY" = 0 ] && DRY=
[ "$SMOKE" = 0 ] && SMOKE=
exec 3>&1 # the recipe's own standard output, where a dry run says its commands

# die MESSAGE: one line on standard error, and the recipe stops.
die() {
    echo "recipe $NAME: $*" >&2
    exit 1
}

# The device: a GPU where the binary sees one (its `info` prints "gpu: cuda:0 ..."), unless told.
info=$("$CHARRNN" info 2>/dev/null) || die "$CHARRNN does not run; build it with make, or point CHARRNN at a charrnn binary"
gpu_line=$(printf '%s\n' "$info" | sed -n 's/^gpu: *//p')
case $gpu_line in cuda:*) have_gpu=1 ;; *) have_gpu= ;; esac
case ${RECIPE_DEVICE:-} in
    "") if [ -n "$have_gpu" ]; then DEVICE=cuda; else DEVICE=cpu; fi ;;
    cpu) DEVICE=cpu ;;
    cuda | cuda:[0-9]*)
        [ -n "$have_gpu" ] || die "RECIPE_DEVICE=$RECIPE_DEVICE, but $CHARRNN has no GPU to use (gpu: $gpu_line); use a CUDA build (make CUDA=1) on a machine with an NVIDIA GPU, or RECIPE_DEVICE=cpu"
        DEVICE=$RECIPE_DEVICE ;;
    *) die "RECIPE_DEVICE=$RECIPE_DEVICE is not a device; use cpu or cuda (cuda:N), or leave it unset for a GPU where charrnn sees one" ;;
esac

# gpu: whether this run is on a GPU (the recipes pick the model's size by it).
gpu() { [ "$DEVICE" != cpu ]; }

if gpu; then TIME=${RECIPE_GPU_TIME:-90s}; OUT="${RECIPE_OUT:-$RECIPES/out}/$NAME-gpu"
else TIME=${RECIPE_TIME:-25m}; OUT="${RECIPE_OUT:-$RECIPES/out}/$NAME"; fi
[ -n "$DRY" ] || mkdir -p "$OUT"

# The split of every corpus, for the network and the 10-gram alike: the first 90% trains, the next 5%
# validates (the best checkpoint is chosen on it), the last 5% is the test block neither ever sees.
TRAIN_FRAC=0.9
VAL_FRAC=0.05
# fractions TRAIN VAL: another split (the rest is still the test block).
fractions() { TRAIN_FRAC=$1; VAL_FRAC=$2; }

# charrnn ARGS...: runs the binary; in a dry run, says the command on the recipe's standard output instead.
charrnn() {
    if [ -n "$DRY" ]; then echo "charrnn $*" >&3; else "$CHARRNN" "$@"; fi
}

# keep FILE [-a]: standard input shown, and kept in $OUT/FILE (appended with -a); a dry run keeps nothing.
keep() {
    if [ -n "$DRY" ]; then cat; else tee ${2:+"$2"} "$OUT/$1"; fi
}

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

# train OPTIONS...: trains the model OPTIONS describe on the split, within the budget, on the device (resuming
# a run already there, which keeps its own options), logging to $OUT/train.log.
train() {
    [ -z "$SMOKE" ] || set -- --num-layers 1 --rnn-size 16 --batch-size 8 --seq-length 16 --eval-val-every 50
    step "train ($TIME on $DEVICE, $THREADS threads)"
    if [ -f "$OUT/cv/latest.safetensors" ]; then
        # the run there must have this split, or its test block is not the 10-gram's
        had=$("$CHARRNN" info "$OUT/cv/latest.safetensors" 2>/dev/null |
              sed -n 's/.*"train_frac":\([^,]*\),"val_frac":\([^,]*\),.*/\1 \2/p')
        echo "$had" | awk -v t="$TRAIN_FRAC" -v v="$VAL_FRAC" '{ exit !($1 == t && $2 == v) }' ||
            die "$OUT/cv holds a run on another split (train-frac and val-frac: ${had:-unknown}; this recipe's: $TRAIN_FRAC $VAL_FRAC, the rest the test block); move $OUT away to start afresh"
        set -- --resume "$OUT/cv/latest.safetensors"
    else
        set -- "$@" --train-frac "$TRAIN_FRAC" --val-frac "$VAL_FRAC" --checkpoint-dir "$OUT/cv"
    fi
    start=$(date +%s)
    charrnn train "$CORPUS" "$@" --max-time "$TIME" --threads "$THREADS" --device "$DEVICE" 2>&1 | keep train.log |
        grep -E "^(device|precision|model|corpus|validation|time budget|done|charrnn: error)" || true
    MODEL="$OUT/cv/best.safetensors"
    [ -z "$DRY" ] || return 0
    echo "training took $(( $(date +%s) - start )) s" | keep train.log -a
    [ -e "$MODEL" ] || MODEL="$OUT/cv/latest.safetensors"
    [ -e "$MODEL" ] || die "training wrote no checkpoint; see $OUT/train.log"
}

# evaluate: the network's loss on the test block (the rest after the train and validation blocks, as train
# cut them), into $OUT/test.log. Read in one stream per 20 kB of it: each stream starts from a zero state, which
# costs its first characters (the 10-gram reads the block as one stream), and fewer streams take longer.
evaluate() {
    step "the network on the test block"
    streams=$(wc -c < "$CORPUS" | awk -v f="$TRAIN_FRAC" -v v="$VAL_FRAC" '{ s = int($1 * (1 - f - v) / 20000); print s < 1 ? 1 : s }')
    charrnn eval "$MODEL" "$CORPUS" --split test --streams "$streams" --threads "$THREADS" --device "$DEVICE" 2>&1 |
        keep test.log
}

# baseline: the interpolated Kneser-Ney 10-gram, counted on the training block, on the same val and test blocks.
baseline() {
    step "10-gram Kneser-Ney baseline on the same split"
    charrnn ngram "$CORPUS" --order 10 --train-frac "$TRAIN_FRAC" --val-frac "$VAL_FRAC" --threads "$THREADS" 2>&1 |
        keep ngram.log
}

# sample OPTIONS...: a sample into $OUT/sample.txt.
sample() {
    [ -z "$SMOKE" ] || set -- "$@" --length 200
    step "sample"
    charrnn sample "$MODEL" --verbose 0 --seed 1 --device "$DEVICE" "$@" | keep sample.txt
}

# novelty: how many of the sampled lines (after the prime's empty first one) are not lines of the corpus.
novelty() {
    step "novelty: sampled lines not in the corpus"
    [ -n "$DRY" ] || tail -n +2 "$OUT/sample.txt" > "$OUT/lines.txt"
    charrnn novelty "$OUT/lines.txt" "$CORPUS" --lines --max-n 10 | keep novelty.txt
}

# look START LENGTH: the cells finder and the viz page on held-out text (from character START).
look() {
    [ -z "$SMOKE" ] || set -- 0 2000
    step "interpretable cells"
    charrnn cells "$MODEL" "$CORPUS" --start "$1" --length "$2" --top 10 --device "$DEVICE" -o "$OUT/cells.html" |
        keep cells.txt
    step "viz page"
    charrnn viz "$MODEL" "$CORPUS" --start "$1" --length 3000 --device "$DEVICE" -o "$OUT/viz.html"
    [ -n "$DRY" ] || echo "pages: $OUT/cells.html $OUT/viz.html (open them in a browser)"
}

# summary: the numbers the recipes' table holds (recipes/table.sh makes the table).
summary() {
    [ -z "$DRY" ] || return 0
    step "summary"
    val=$(grep -o 'val_loss = [0-9.]* nats ([0-9.]* bpc)' "$OUT/train.log" | tail -n 1)
    echo "val: $val (the last validation)"
    grep -o '[0-9.]* bpc over [0-9]* predicted' "$OUT/test.log" | sed 's/^/test: /' || true
    grep -E "^(val|test)" "$OUT/ngram.log" | sed 's/^/10-gram /' || true
    grep -m1 -A2 "ranked by" "$OUT/cells.txt" | tail -n 1 || true
}
