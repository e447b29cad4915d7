#!/usr/bin/env bash
# The C API's batch throughput against `aslrt bench`, measured in the same run, in turns:
# aslrt_runtime_execute_batch on 100,000 w2 events on 2 threads (ffi/examples/batch.c: the
# median of five timed batches), and `aslrt bench`'s 2-thread w2 row (the median of its five
# runs). Prints each round's figures and ratio (C API exec/s ÷ aslrt bench's), then the median
# ratio over the rounds, which is the figure to report: on a shared host single rounds swing by
# ±0.1 with the neighbours' load.
#
#   bash ffi/bench.sh [ROUNDS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
workload="${ASLRT_BENCH_DIR:-../shared/bench}/w2-etl-event"
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p aslrt-ffi -p aslrt-cli
cc -std=c11 -O2 -Wall -Wextra -Werror -I ffi/include ffi/examples/batch.c "$target/release/libaslrt_ffi.a" \
  -lpthread -ldl -lm -o "$target/release/ffi-batch"
bash scripts/in-turns.sh "$rounds" "$workload" "C API batch" \
  "$target/release/ffi-batch" "$workload/definition.asl.json" "$workload/input.json" 100000 2
