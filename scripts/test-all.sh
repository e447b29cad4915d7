#!/usr/bin/env bash
# Runs every check of the project: format, lints, the conformance corpus through the CLI, and
# every test of the workspace. This is the test command of README.md; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rustfmt"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The jsonata-core backend exists only for the engine comparison (ARCHITECTURE.md); keep it building.
cargo clippy -p aslrt --features engine-jsonata-core --all-targets -- -D warnings

echo "== conformance (aslrt conformance, every recorded case)"
corpus="${ASLRT_CONFORMANCE_DIR:-../shared/conformance}"
if [ -d "$corpus" ]; then
  cargo build --release -q -p aslrt-cli
  ./target/release/aslrt conformance "$corpus"/cases.jsonl "$corpus"/task-cases.jsonl
  # The unoptimised reference program must pass them all too (issue #13).
  ./target/release/aslrt conformance --no-optimize "$corpus"/cases.jsonl "$corpus"/task-cases.jsonl
  # Every case runs again under `cargo test` (runtime/tests/conformance.rs), checked against the
  # committed list of known failures, which only shrinks.
else
  echo "no corpus at $corpus: set ASLRT_CONFORMANCE_DIR to run it"
fi

echo "== cargo test"
cargo test --workspace

echo "== benchmarks: each criterion bench runs once, checking its outputs against the baselines"
if [ -d "${ASLRT_BENCH_DIR:-../shared/bench}" ]; then
  cargo bench -p aslrt-benches -- --test
else
  echo "no workloads at ../shared/bench: set ASLRT_BENCH_DIR to run them"
fi
