#!/usr/bin/env bash
# The Python module's checks, as a user gets it: `pip install ./python-bindings` (maturin builds
# the abi3 wheel) into a virtual environment of its own, then pytest (the corpus through Python,
# handlers, the pool, stubtest and mypy --strict), then the README's Python example. Called by
# scripts/test-all.sh; needs python3 with venv and pip, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
venv="$(cd "$target" && pwd)/py-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q -U pip
"$venv/bin/python" -m pip install -q "maturin>=1.7,<2" "pytest>=8" "mypy>=1.10" "pyarrow>=14"
echo "== Python: pip install ./python-bindings"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps ./python-bindings
echo "== Python: pytest"
(cd python-bindings && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
echo "== Python: the README's example"
awk '/^```python$/{f=1;next} /^```$/{f=0} f' README.md > "$target/readme.py"
got=$("$venv/bin/python" "$target/readme.py")
want=$'SUCCEEDED priority\nSUCCEEDED standard\nFAILED TypeError: unsupported operand type(s) for +: \'int\' and \'str\''
[ "$got" = "$want" ] || { printf 'the README'"'"'s Python example printed:\n%s\n' "$got" >&2; exit 1; }

echo "== Python: the Spark recipe (pyspark, local mode, in a venv of its own)"
if ! command -v java >/dev/null; then
  echo "skipped: no Java runtime for Spark (Debian: apt-get install default-jre-headless; .ci/run installs it)"
  exit 0
fi
spark_venv="$(cd "$target" && pwd)/spark-venv"
[ -x "$spark_venv/bin/python" ] || python3 -m venv "$spark_venv"
"$spark_venv/bin/python" -m pip install -q -U pip
# pandas < 3 beside pyarrow, for mapInArrow.
"$spark_venv/bin/python" -m pip install -q "pyspark>=4,<5" "pandas<3" "pyarrow>=14" "pytest>=8"
"$spark_venv/bin/python" -m pip install -q --force-reinstall --no-deps ./python-bindings
(cd python-bindings && PYSPARK_PYTHON="$spark_venv/bin/python" SPARK_LOCAL_IP=127.0.0.1 \
  "$spark_venv/bin/python" -m pytest -q -p no:cacheprovider tests_spark)
