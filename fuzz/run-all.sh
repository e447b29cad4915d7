#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) one after another, growing its corpus in
# fuzz/corpus/<target>/ from fuzz/seeds/<target>/, then merges the corpus down to the inputs
# that add coverage. Prints, per target, the runs, executions per second, coverage (edges) and
# features, and exits non-zero if any target found a crash (kept in fuzz/artifacts/<target>/).
# Usage: bash fuzz/run-all.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(checkpoint parse_asl compile run jsonpath intrinsics jsonata differential)
fi
export RUSTC_BOOTSTRAP=1
# The checkpoint target writes its files in a temporary folder: memory, where there is one.
if [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
cargo fuzz build -O >/dev/null || exit 1
failed=0
printf '%-13s %10s %8s %7s %8s %s\n' target runs exec/s cov ft result
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" logs
    log="logs/$t.log"
    cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
        -timeout=30 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    # Keep only the inputs that add coverage.
    cargo fuzz cmin -O "$t" "corpus/$t" >/dev/null 2>&1 || true
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
    per=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
    result=ok
    if [ $rc -ne 0 ]; then result="CRASH (rc $rc, see fuzz/$log)"; failed=1; fi
    printf '%-13s %10s %8s %7s %8s %s\n' "$t" "${runs:-?}" "${per:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
