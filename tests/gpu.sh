#!/bin/sh
# tests/gpu.sh: the GPU's tests, on a machine with an NVIDIA GPU (issue 19). Run from
# the repository root. It runs a CUDA build made beforehand (make CUDA=1, on any
# machine with nvcc: build/cuda/run_tests and build/cuda/charrnn), so the GPU's
# machine needs no compiler or OpenBLAS headers; with --build it makes it first.
#
#   sh tests/gpu.sh [--build] [--memcheck]
#
# Environment: LIBDIR, a folder holding the CPU's libraries where the system has
# none (libopenblas.so.0, libgfortran.so.5, libquadmath.so.0, libgomp.so.1); DEVLIBS,
# a .tar.xz of them to unpack into LIBDIR first; CUDA_HOME (default /usr/local/cuda),
# whose lib64 has libcudart and libcublas. It prints what the machine is, which
# libraries the binaries found, the tests' lines and their summary; exit 0 when every
# test passed (skips are named above the summary line).
set -u
BUILD=build/cuda
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
build=0 memcheck=0
for a in "$@"; do
    case $a in
    --build) build=1 ;;
    --memcheck) memcheck=1 ;;
    *) echo "gpu.sh: unknown option $a (use --build, --memcheck)" >&2; exit 2 ;;
    esac
done

if [ -n "${DEVLIBS:-}" ]; then
    LIBDIR=${LIBDIR:-$PWD/.devlibs/lib}
    mkdir -p "$LIBDIR" && tar -xJf "$DEVLIBS" -C "$LIBDIR" || { echo "gpu.sh: cannot unpack $DEVLIBS" >&2; exit 2; }
    # a tarball with folders inside: the folder that holds libopenblas.so.0
    found=$(find "$LIBDIR" -name 'libopenblas.so.0' | head -n 1)
    [ -n "$found" ] && LIBDIR=$(dirname "$found")
fi
# the CUDA libraries: the toolkit's, and pip's nvidia-* wheels where the toolkit has none
extra=$CUDA_HOME/lib64
[ -d /usr/local/nvidia/lib64 ] && extra=$extra:/usr/local/nvidia/lib64
for d in /usr/local/lib/python3*/dist-packages/nvidia/cu*/lib /opt/*/.venv/lib/python3*/site-packages/nvidia/cu*/lib; do
    [ -d "$d" ] && extra=$extra:$d
done
LD_LIBRARY_PATH=${LIBDIR:+$LIBDIR:}$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH

if [ "$build" = 1 ]; then
    make CUDA=1 -j16 charrnn "$BUILD/run_tests" || { echo "gpu.sh: the CUDA build failed" >&2; exit 1; }
fi
for f in "$BUILD/run_tests" "$BUILD/charrnn"; do
    [ -x "$f" ] || { echo "gpu.sh: $f is missing: make CUDA=1 charrnn $BUILD/run_tests first (or pass --build)" >&2; exit 2; }
done

echo "== the machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 4
echo "== the libraries $BUILD/run_tests finds"
if ldd "$BUILD/run_tests" | grep -E 'not found'; then
    echo "gpu.sh: libraries are missing (above): set LIBDIR (OpenBLAS, gfortran, quadmath, gomp) or CUDA_HOME" >&2
    exit 2
fi
ldd "$BUILD/run_tests" | grep -E 'cublas|cudart|openblas|gomp|gfortran'

# the tests: the backends (CUDA against the CPU, reruns, 100 steps) and the PyTorch fixtures
# on every backend; test_model's fixtures loop over the backends, the CUDA one included
log=$(mktemp)
run() {
    echo "== run_tests $1"
    CHARRNN_BIN=$BUILD/charrnn CHARRNN_BUILD=$BUILD OMP_NUM_THREADS=4 timeout 600 "$BUILD/run_tests" "$1" 2>&1 | tee -a "$log"
}
rc=0
run backend_
run model_reference
grep -q ' 0 failed' "$log" || rc=1
[ "$(grep -c ' 0 failed' "$log")" = 2 ] || rc=1
if grep -q '^skipped: backend_cuda' "$log"; then
    echo "gpu.sh: the CUDA cases were skipped: no GPU was seen (nvidia-smi above; is the driver's libcuda there?)"
    rc=1
fi
rm -f "$log"

if [ "$memcheck" = 1 ]; then
    echo "== compute-sanitizer --tool memcheck (one small backend test)"
    if command -v compute-sanitizer >/dev/null 2>&1 || [ -x "$CUDA_HOME/bin/compute-sanitizer" ]; then
        cs=$(command -v compute-sanitizer || echo "$CUDA_HOME/bin/compute-sanitizer")
        CHARRNN_BIN=$BUILD/charrnn CHARRNN_BUILD=$BUILD OMP_NUM_THREADS=1 timeout 300 \
            "$cs" --tool memcheck --error-exitcode 99 "$BUILD/run_tests" backend_cuda_rerun_identical
        m=$?
        echo "memcheck: exit $m"
        [ "$m" = 99 ] && rc=1
    else
        echo "compute-sanitizer is not here: skipped"
    fi
fi
echo "== gpu.sh: $([ $rc = 0 ] && echo PASSED || echo FAILED)"
exit $rc
