#!/usr/bin/env bash
# The Python module's batch throughput against `aslrt bench`, measured in the same run, in turns:
# sm.execute_many on 100,000 w2 events (str), then sm.execute_arrow on a pyarrow array of them,
# on 2 threads, then 100,000 sm.execute_async gathered on one event loop (python-bindings/
# bench.py: the median of five calls), each against `aslrt bench`'s 2-thread w2 row (the median
# of its five runs). Prints each round's ratio (Python exec/s ÷ aslrt bench's), then the median
# ratio over the rounds. Run python-bindings/test.sh first: it installs the module into the
# venv used here.
#
#   bash python-bindings/bench.sh [ROUNDS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
workload="${ASLRT_BENCH_DIR:-../shared/bench}/w2-etl-event"
target="${CARGO_TARGET_DIR:-target}"
python="$target/py-venv/bin/python"
cargo build -q --release -p aslrt-cli
bash scripts/in-turns.sh "$rounds" "$workload" "execute_many" "$python" python-bindings/bench.py "$workload" 100000 2 many
bash scripts/in-turns.sh "$rounds" "$workload" "execute_arrow" "$python" python-bindings/bench.py "$workload" 100000 2 arrow
bash scripts/in-turns.sh "$rounds" "$workload" "execute_async" "$python" python-bindings/bench.py "$workload" 100000 2 async
