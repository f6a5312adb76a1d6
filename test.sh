#!/bin/sh
# test.sh: installs the build dependencies if missing, builds, and runs every test
# twice: in the optimised build and under AddressSanitizer + UBSan. Ends with one
# line "N passed, N failed" over both runs.
cd "$(dirname "$0")"
sh scripts/install-deps.sh || exit 1
total_p=0; total_f=0; status=0
for mode in release sanitize; do
    echo "== tests: $mode build =="
    if [ "$mode" = sanitize ]; then flags="SANITIZE=1"; else flags=""; fi
    make -s $flags charrnn || exit 1
    out=$(make -s $flags test 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then echo "the $mode test run did not finish"; status=1; continue; fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    total_p=$((total_p + p)); total_f=$((total_f + f))
    [ $rc -ne 0 ] && status=1
done
make -s charrnn   # leave ./charrnn pointing at the optimised build
echo "$total_p passed, $total_f failed"
exit $status
