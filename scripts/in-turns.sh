#!/usr/bin/env bash
# Measures a command against `aslrt bench`'s 2-thread row of a workload, in turns, ROUNDS times,
# and prints each round's ratio (the command's exec/s ÷ aslrt bench's), then the median ratio
# over the rounds, the figure to report: single rounds swing by ±0.1 with the host's load.
# The command prints JSON with an "exec_per_s" member. Used by ffi/bench.sh and
# python-bindings/bench.sh; expects target/release/aslrt built.
#
#   bash scripts/in-turns.sh ROUNDS WORKLOAD_DIR LABEL COMMAND...
set -euo pipefail
rounds="$1" workload="$2" label="$3"
shift 3
target="${CARGO_TARGET_DIR:-target}"
log="$target/in-turns.txt"
for round in $(seq 1 "$rounds"); do
  c=$("$@" | sed -E 's/.*"exec_per_s": ?([0-9.]+).*/\1/')
  b=$("$target/release/aslrt" bench "$workload" --threads 2 --seconds 1 --json |
    grep '"threads":2' | sed -E 's/.*"exec_per_s":([0-9.]+),.*/\1/')
  awk -v c="$c" -v b="$b" -v r="$round" -v l="$label" \
    'BEGIN { printf "round %d: %s %.0f exec/s, aslrt bench %.0f exec/s, ratio %.3f\n", r, l, c, b, c / b }'
done | tee "$log"
sed -E 's/.*ratio //' "$log" | sort -n |
  awk '{ r[NR] = $1 } END { printf "median ratio over %d rounds: %.2f (min %.2f, max %.2f)\n", NR, (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2), r[1], r[NR] }'
