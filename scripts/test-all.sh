#!/usr/bin/env bash
# Runs every check of the project: format, lints, the conformance corpus through the CLI, and
# every test of the workspace. This is the test command of README.md; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The AWS-recorded corpus and the benchmark workloads live beside the repository. Without them
# the tests cannot show anything, so their absence fails the run, unless
# ASLRT_ALLOW_MISSING_CORPUS=1 says to skip what needs them. Checked first, before any build.
missing() {
  if [ "${ASLRT_ALLOW_MISSING_CORPUS:-}" = 1 ]; then
    echo "no $1 at $2: skipped (ASLRT_ALLOW_MISSING_CORPUS=1)"
  else
    echo "no $1 at $2: set $3 to its folder, or ASLRT_ALLOW_MISSING_CORPUS=1 to skip" >&2
    exit 1
  fi
}

corpus="${ASLRT_CONFORMANCE_DIR:-../shared/conformance}"
bench="${ASLRT_BENCH_DIR:-../shared/bench}"
[ -d "$corpus" ] || missing "conformance corpus" "$corpus" ASLRT_CONFORMANCE_DIR
# Every target of the workspace in one build of the test profile: unit and integration tests,
# examples, and the criterion benches, which under `cargo test` run each benchmark once and
# check its output against its baseline's. Without the workloads, the benches are left out.
targets=(--all-targets)
if [ ! -d "$bench" ]; then
  missing "benchmark workloads" "$bench" ASLRT_BENCH_DIR
  targets=(--lib --bins --tests --examples)
fi

echo "== rustfmt"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The jsonata-core backend exists only for the engine comparison (docs/performance.md); keep it building.
cargo clippy -p aslrt --features engine-jsonata-core --all-targets -- -D warnings

echo "== rustdoc (the crate's manual: no broken link, no undocumented public item)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q

echo "== cargo test (${targets[*]}), then the doctests"
cargo test --workspace "${targets[@]}"
cargo test --workspace --doc

# The C API's programs, built with -Wall -Wextra -Werror and run under valgrind.
bash ffi/tests/c/run.sh

# The Python module, installed with pip into a venv of its own and tested with pytest.
bash python-bindings/test.sh

if [ -d "$corpus" ]; then
  echo "== conformance (aslrt conformance, every recorded case, optimised and not)"
  # The same cases ran under `cargo test` (runtime/tests/conformance.rs) against the committed
  # list of known failures; here the command a user runs must pass them all, and so must the
  # unoptimised reference program (issue #13).
  "${CARGO_TARGET_DIR:-target}"/debug/aslrt conformance "$corpus"/cases.jsonl "$corpus"/task-cases.jsonl
  "${CARGO_TARGET_DIR:-target}"/debug/aslrt conformance --no-optimize "$corpus"/cases.jsonl "$corpus"/task-cases.jsonl
fi
