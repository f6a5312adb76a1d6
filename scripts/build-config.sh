#!/bin/sh
# build-config.sh OUT: the configuration a build's objects are made with (the
# compiler and its version, the flags, the libraries, and which cblas.h, by path
# and checksum), written to OUT only when it differs from what OUT holds, so that
# make rebuilds every object made another way (a newly installed OpenBLAS, other
# flags). Before writing, it checks that the compiler and OpenBLAS are there and
# stops the build with one line naming what to install when they are not.
# The Makefile passes CC, CPPFLAGS, FLAGS and LIBS in the environment (and NVCC, NVCCFLAGS for CUDA=1).
out=$1
die() { echo "charrnn: cannot build: $*" >&2; exit 1; }
cc1=${CC%% *}
hdr=$(printf '#include <cblas.h>\n' | $CC $CPPFLAGS -M -x c - 2>/dev/null | tr ' \\' '\n\n' | grep '/cblas\.h$' | head -n 1)
sum=$([ -n "$hdr" ] && cksum < "$hdr")
conf=$(printf 'cc: %s\nversion: %s\nflags: %s %s\nlibs: %s\ncblas.h: %s %s\n' "$CC" \
       "$($CC --version 2>/dev/null | head -n 1)" "$CPPFLAGS" "$FLAGS" "$LIBS" "$hdr" "$sum")
# a CUDA build (make CUDA=1): nvcc, its version and flags too
[ -n "${NVCC:-}" ] && conf=$(printf '%s\nnvcc: %s %s\nnvcc version: %s\n' "$conf" "$NVCC" "$NVCCFLAGS" \
       "$($NVCC --version 2>/dev/null | tail -n 1)")
[ -f "$out" ] && [ "$(cat "$out")" = "$conf" ] && exit 0

command -v "$cc1" >/dev/null 2>&1 ||
    die "the compiler '$cc1' is not installed; run 'sh scripts/install-deps.sh' (Debian's gcc and make; for MPI=1, libopenmpi-dev), then make again"
[ -n "$hdr" ] ||
    die "OpenBLAS's header cblas.h is missing; run 'sh scripts/install-deps.sh' (Debian's libopenblas-dev and libopenblas0-openmp), then make again"
tmp=$(mktemp -d) || die "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
printf '#include <cblas.h>\nint main(void) { return openblas_get_corename() == 0; }\n' > "$tmp/t.c"
$CC $CPPFLAGS -Werror=implicit-function-declaration -c "$tmp/t.c" -o "$tmp/t.o" 2>/dev/null ||
    die "$hdr is not OpenBLAS's cblas.h (it declares no openblas_get_corename); run 'sh scripts/install-deps.sh' (Debian's libopenblas-dev), then make again"
$CC "$tmp/t.o" $LIBS -o "$tmp/t" 2>/dev/null ||
    die "OpenBLAS does not link ($LIBS); run 'sh scripts/install-deps.sh' (Debian's libopenblas-dev and libopenblas0-openmp), then make again"
mkdir -p "$(dirname "$out")" && printf '%s\n' "$conf" > "$out"
