#!/bin/sh
# install.sh: charrnn installed as a package would be. `make install` into a
# temporary prefix; examples/complete.c built through pkg-config against the
# installed shared library and run on a model the installed command trained,
# and again statically against the installed archive; the shared library exports
# only charrnn_* symbols and carries its soname, the archive defines no other
# global (the rest is made local: no name of ours can collide with a user's); the
# man page renders without warnings; the completion script parses and completes;
# `make uninstall` leaves the prefix empty. Prints "install: ok".
set -e
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/usr"
make -s install PREFIX="$prefix" >/dev/null
fail() { echo "install: FAILED: $*"; exit 1; }

# the library: soname, exports, pkg-config
so="$prefix/lib/libcharrnn.so.0"
[ -L "$so" ] || fail "no $so"
readelf -d "$so" | grep -q 'SONAME.*libcharrnn.so.0' || fail "no soname libcharrnn.so.0"
extra=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^charrnn_' || true)
[ -z "$extra" ] || fail "the shared library exports more than charrnn_*: $extra"
extra=$(nm -g --defined-only "$prefix/lib/libcharrnn.a" | awk 'NF == 3 {print $3}' | grep -v '^charrnn_' || true)
[ -z "$extra" ] || fail "the static library defines more than charrnn_*: $(echo $extra | cut -c1-200)"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion charrnn)" = "$("$prefix/bin/charrnn" --version | cut -d' ' -f2)" ] || fail "pkg-config version"

# the example, against the installed shared library
cc -std=c17 -Wall -Wextra -Werror examples/complete.c $(pkg-config --cflags --libs charrnn) -Wl,-rpath,"$prefix/lib" \
    -o "$tmp/complete"
ldd "$tmp/complete" | grep -q "$prefix/lib/libcharrnn.so.0" || fail "the example does not use the installed shared library"
i=0
while [ $i -lt 300 ]; do echo "the cat sat on the mat."; i=$((i + 1)); done > "$tmp/text.txt"
"$prefix/bin/charrnn" train "$tmp/text.txt" --rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 200 \
    --eval-val-every 200 --checkpoint-dir "$tmp/cv" --threads 1 2>/dev/null
out=$("$tmp/complete" "$tmp/cv/latest.safetensors" "the cat")
case "$out" in "the cat"?*) ;; *) fail "the example printed '$out'" ;; esac
# the example, against the installed static library
cc -std=c17 -Wall -Wextra -Werror examples/complete.c $(pkg-config --cflags charrnn) "$prefix/lib/libcharrnn.a" \
    $(pkg-config --static --libs charrnn | sed 's/-lcharrnn / /') -o "$tmp/complete-static"
! ldd "$tmp/complete-static" | grep -q libcharrnn || fail "the static example links libcharrnn.so"
[ "$("$tmp/complete-static" "$tmp/cv/latest.safetensors" "the cat")" = "$out" ] || fail "the static example differs"

# the man page and the completion
MANWIDTH=80 man -l "$prefix/share/man/man1/charrnn.1" >/dev/null 2>"$tmp/man.err" || fail "man -l failed"
[ ! -s "$tmp/man.err" ] || fail "man -l warned: $(cat "$tmp/man.err")"
bash -n "$prefix/share/bash-completion/completions/charrnn" || fail "the completion script does not parse"

# the Python binding, imported from where it was installed (outside the source tree), finds the
# installed library and samples what the installed command samples
py=$(find "$prefix" -name charrnn.py)
[ -n "$py" ] || fail "make install did not install charrnn.py"
python=$(command -v /usr/bin/python3 python3 | head -1)
if [ -n "$python" ]; then
    pyout=$(cd / && env -u CHARRNN_LIBRARY -u PYTHONDONTWRITEBYTECODE PYTHONPATH="$(dirname "$py")" "$python" -c '
import sys, charrnn
assert charrnn.__file__ == sys.argv[1], charrnn.__file__
assert charrnn.library()._name == sys.argv[2], charrnn.library()._name
with charrnn.Model(sys.argv[3], precision="fp32") as m:
    print("the cat" + m.sample("the cat", 40, seed=5), end="")' "$py" "$prefix/lib/libcharrnn.so.0" \
        "$tmp/cv/latest.safetensors" 2>&1) || fail "the installed charrnn.py: $pyout"
    want=$("$prefix/bin/charrnn" sample "$tmp/cv/latest.safetensors" --primetext "the cat" --length 40 --seed 5 \
        --precision fp32 --verbose 0)
    [ "$pyout" = "$want" ] || fail "the installed charrnn.py sampled '$pyout', the command '$want'"
fi

make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$tmp" -mindepth 1 -path "$tmp/usr*" 2>/dev/null | head -5)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install: ok (example said: $out)"
