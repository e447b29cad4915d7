#!/usr/bin/env bash
# Runs every check of the project: format, lints, the conformance corpus through the CLI, and
# every test of the workspace. This is the test command of README.md; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rustfmt"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The jsonata-core backend exists only for the engine comparison (docs/performance.md); keep it building.
cargo clippy -p aslrt --features engine-jsonata-core --all-targets -- -D warnings

echo "== rustdoc (the crate's manual: no broken link, no undocumented public item)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q

# The AWS-recorded corpus and the benchmark workloads live beside the repository. Without them
# the tests cannot show anything, so their absence fails the run, unless
# ASLRT_ALLOW_MISSING_CORPUS=1 says to skip what needs them.
missing() {
  if [ "${ASLRT_ALLOW_MISSING_CORPUS:-}" = 1 ]; then
    echo "no $1 at $2: skipped (ASLRT_ALLOW_MISSING_CORPUS=1)"
  else
    echo "no $1 at $2: set $3 to its folder, or ASLRT_ALLOW_MISSING_CORPUS=1 to skip" >&2
    exit 1
  fi
}

echo "== conformance (aslrt conformance, every recorded case)"
corpus="${ASLRT_CONFORMANCE_DIR:-../shared/conformance}"
if [ -d "$corpus" ]; then
  # Built with the benches, in their profile and with their features, so that the benchmark
  # stage below reuses this build instead of compiling the workspace again.
  cargo build -q --profile bench -p aslrt-cli -p aslrt-benches --bins --benches
  ./target/release/aslrt conformance "$corpus"/cases.jsonl "$corpus"/task-cases.jsonl
  # The unoptimised reference program must pass them all too (issue #13).
  ./target/release/aslrt conformance --no-optimize "$corpus"/cases.jsonl "$corpus"/task-cases.jsonl
  # Every case runs again under `cargo test` (runtime/tests/conformance.rs), checked against the
  # committed list of known failures, which only shrinks.
else
  missing "conformance corpus" "$corpus" ASLRT_CONFORMANCE_DIR
fi

echo "== cargo test"
cargo test --workspace

echo "== benchmarks: each criterion bench runs once, checking its outputs against the baselines"
if [ -d "${ASLRT_BENCH_DIR:-../shared/bench}" ]; then
  cargo bench -p aslrt-cli -p aslrt-benches -- --test
else
  missing "benchmark workloads" "${ASLRT_BENCH_DIR:-../shared/bench}" ASLRT_BENCH_DIR
fi
