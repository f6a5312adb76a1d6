#!/bin/sh
# test.sh: installs what is missing, builds, and runs every test: the test suite
# in the optimised build twice, once with the bf16 products off
# (CHARRNN_NO_BF16=1: float32 everywhere, as on a processor without
# AVX512-BF16) and once with --precision auto forced to them
# (CHARRNN_AUTO_PRECISION=bf16) where this processor and build run them (the
# binary is asked; elsewhere that run is a named skip), so the suite is shown to
# pass whichever way auto decides; the suite again under AddressSanitizer +
# UBSan; a train / resume / sample run under valgrind; each libFuzzer target
# for a short time; make install / uninstall with the example built against the
# installed library; the PyTorch round trip; data-parallel training on 2 MPI
# ranks; the model tests of a PORTABLE build; and, wherever nvcc is, the CUDA
# build with warnings as errors and its backend and device tests (the GPU's
# cases named as skipped without a GPU). Ends with what was skipped,
# named, and one line "N passed, N failed" over all of it.
cd "$(dirname "$0")"
sh scripts/install-deps.sh --test || exit 1
total_p=0; total_f=0; skipped=""; num_skipped=0
count() { # count PASSED FAILED
    total_p=$((total_p + $1)); total_f=$((total_f + $2))
}
note_skip() { # note_skip "WHAT (WHY)": into the list named above the final line
    skipped="${skipped}skipped: $1
"
    num_skipped=$((num_skipped + 1))
}
skip() { # skip "WHAT (WHY)": said now and named again above the final line
    echo "skipped: $1"
    note_skip "$1"
}
# the tests a runner's output names as skipped ("skipped: NAME (WHY)"), into the list, with the run's name
collect_skips() { # collect_skips OUTPUT RUN
    list=$(printf '%s\n' "$1" | sed -n 's/^skipped: //p')
    [ -n "$list" ] || return 0
    old_ifs=$IFS; IFS='
'
    for s in $list; do note_skip "$s, in the $2"; done
    IFS=$old_ifs
}
# a runner's summary line "N passed, N failed" into the totals, its failures left in $f;
# none: "WHAT did not finish" (WHAT: "it" unless given), 1 failure, and status 1
add_summary() { # add_summary OUTPUT [WHAT]
    line=$(printf '%s\n' "$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then echo "${2:-it} did not finish"; count 0 1; return 1; fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    count "$p" "$f"
}
# suite NAME MAKE_FLAGS [VAR=VALUE ...]: builds, runs `make test` with the variables set, counts its summary
suite() {
    name=$1; flags=$2; shift 2
    echo "== tests: $name =="
    make -s $flags charrnn || exit 1
    out=$(env "$@" make -s $flags test 2>&1); status=$?
    printf '%s\n' "$out"
    add_summary "$out" "the $name test run" || return
    collect_skips "$out" "$name"
    # every test passed but the run failed: a sanitizer's report at exit (a leak)
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then echo "the $name test run exited with status $status"; count 0 1; fi
}
# Does this processor and build run bf16 products? The binary answers for itself (CPUID, the
# operating system's AVX-512 state, the build, CHARRNN_NO_BF16), which /proc/cpuinfo cannot.
bf16_runs() {
    ./charrnn info | grep -q 'AVX512-BF16 yes'
}
suite "release build, bf16 products off (CHARRNN_NO_BF16=1)" "" CHARRNN_NO_BF16=1
./charrnn info
if bf16_runs; then
    suite "release build, --precision auto forced to bf16 (CHARRNN_AUTO_PRECISION=bf16)" "" CHARRNN_AUTO_PRECISION=bf16
else
    case "${CHARRNN_NO_BF16:-0}" in
        0) skip "release suite with bf16 auto (no AVX512-BF16)" ;;
        *) skip "release suite with bf16 auto (CHARRNN_NO_BF16 is set)" ;;
    esac
fi
suite "sanitize build (AddressSanitizer + UBSan)" "SANITIZE=1"
echo "== valgrind: train, resume, sample, eval, info =="
if make -s VALGRIND=1 build/valgrind/charrnn && sh tests/valgrind.sh build/valgrind/charrnn; then count 1 0; else echo "valgrind FAILED"; count 0 1; fi
echo "== fuzzing: each target for ${FUZZ_SECONDS:-15} s =="
for t in checkpoint utf8 options resume ngram request; do
    rm -f build/fuzz/fuzz_$t.log
    if make -s fuzz FUZZ_TARGETS=$t FUZZ_SECONDS=${FUZZ_SECONDS:-15} > build/fuzz-make.log 2>&1; then
        grep -E "^(== |stat::number_of_executed_units)" build/fuzz-make.log
        count 1 0
    else
        tail -n 30 build/fuzz-make.log; echo "fuzz_$t FAILED"; count 0 1
    fi
done
make -s charrnn   # leave ./charrnn pointing at the optimised build
echo "== install: make install, the example through pkg-config against the shared library, man page, uninstall =="
if sh tests/install.sh; then count 1 0; else count 0 1; fi
echo "== PyTorch interop: python/charrnn_torch.py both ways =="
out=$(/usr/bin/python3 tests/torch_interop.py ./charrnn 2>&1)
printf '%s\n' "$out" | tail -n 4
add_summary "$out"
echo "== MPI: data-parallel training on 2 ranks (make MPI=1, OpenMPI) =="
if make -s MPI=1 build/mpi/charrnn >build/mpi-make.log 2>&1; then
    out=$(sh tests/mpi.sh build/mpi/charrnn ./charrnn 2>&1)
    printf '%s\n' "$out"
    add_summary "$out"
else
    tail -n 20 build/mpi-make.log; count 0 1
fi
echo "== portable build (make PORTABLE=1): the model tests with the kernels chosen at run time =="
if make -s PORTABLE=1 build/portable/charrnn build/portable/run_tests >build/portable-make.log 2>&1; then
    out=$(CHARRNN_BIN=build/portable/charrnn CHARRNN_BUILD=build/portable OMP_NUM_THREADS=1 build/portable/run_tests model_ 2>&1)
    printf '%s\n' "$out" | tail -n 1
    add_summary "$out"
    collect_skips "$out" "portable build"
else
    tail -n 20 build/portable-make.log; count 0 1
fi
echo "== CUDA build (make CUDA=1 WERROR=1): compile and link, the backend and device tests without a GPU =="
# wherever nvcc is: CUDA_HOME's, else /usr/local/cuda's. Only what the tests need is built (the .cu is the
# slow part); with no GPU here the GPU's cases are named skips (tests/gpu.sh runs them on a GPU's machine)
cuda_home=""
for d in "${CUDA_HOME:-}" /usr/local/cuda; do
    if [ -n "$d" ] && [ -x "$d/bin/nvcc" ]; then cuda_home=$d; break; fi
done
if [ -z "$cuda_home" ]; then
    skip "CUDA build and its tests (no nvcc: set CUDA_HOME, or install the CUDA toolkit in /usr/local/cuda)"
elif make -s CUDA=1 WERROR=1 CUDA_HOME="$cuda_home" build/cuda/charrnn build/cuda/run_tests >build/cuda-make.log 2>&1; then
    out=$(CHARRNN_BIN=build/cuda/charrnn CHARRNN_BUILD=build/cuda OMP_NUM_THREADS=1 build/cuda/run_tests \
          backend_ device_ compress_device layers_includes layers_calls 2>&1)
    printf '%s\n' "$out" | tail -n 12
    add_summary "$out" "the CUDA build's tests" && collect_skips "$out" "CUDA build (no GPU here: tests/gpu.sh runs them on one)"
else
    tail -n 30 build/cuda-make.log; echo "the CUDA build FAILED (warnings are errors)"; count 0 1
fi
[ "$num_skipped" -eq 0 ] || printf '%s%s skipped\n' "$skipped" "$num_skipped"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
