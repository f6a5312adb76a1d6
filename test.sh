#!/bin/sh
# test.sh: installs what is missing, builds, and runs every test: the test suite
# in the optimised build and again under AddressSanitizer + UBSan, a train /
# resume / sample run under valgrind, and each libFuzzer target for a short
# time. Ends with one line "N passed, N failed" over all of it.
cd "$(dirname "$0")"
sh scripts/install-deps.sh --test || exit 1
total_p=0; total_f=0
count() { # count PASSED FAILED
    total_p=$((total_p + $1)); total_f=$((total_f + $2))
}
for mode in release sanitize; do
    echo "== tests: $mode build =="
    if [ "$mode" = sanitize ]; then flags="SANITIZE=1"; else flags=""; fi
    make -s $flags charrnn || exit 1
    out=$(make -s $flags test 2>&1)
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then echo "the $mode test run did not finish"; count 0 1; continue; fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    count "$p" "$f"
done
echo "== valgrind: train, resume, sample, eval, info =="
if make -s VALGRIND=1 build/valgrind/charrnn && sh tests/valgrind.sh build/valgrind/charrnn; then count 1 0; else echo "valgrind FAILED"; count 0 1; fi
echo "== fuzzing: each target for ${FUZZ_SECONDS:-15} s =="
for t in checkpoint utf8 options resume; do
    rm -f build/fuzz/fuzz_$t.log
    if make -s fuzz FUZZ_TARGETS=$t FUZZ_SECONDS=${FUZZ_SECONDS:-15} > build/fuzz-make.log 2>&1; then
        grep -E "^(== |stat::number_of_executed_units)" build/fuzz-make.log
        count 1 0
    else
        tail -n 30 build/fuzz-make.log; echo "fuzz_$t FAILED"; count 0 1
    fi
done
make -s charrnn   # leave ./charrnn pointing at the optimised build
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
