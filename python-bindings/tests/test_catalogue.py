"""The hostile-input catalogue (runtime/tests/hostile/catalogue.jsonl, as cli/tests/catalogue.rs
runs it through the CLI) through the Python module: each case in a Python process of its own
under a 2 GiB address-space cap (RLIMIT_AS) and a time cap (60 s, or the case's "seconds"). Every case must end with its
named outcome, and none with a signal, a Python crash or a panic reaching Python.

Handlers beyond the CLI's forms are Python's own: "panic" raises ZeroDivisionError (its error is
the class name, as with Lambda: the case's "python_error"), "sleep" sleeps then echoes,
"non_json" returns a set. A case's "clock" is "system" when it is about real time."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "runtime" / "tests" / "hostile"))
from expand import CASES, definition, text  # type: ignore[import-not-found]  # noqa: E402

# Runs one case and prints what happened as one JSON line.
RUNNER = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
sys.path.insert(0, sys.argv[4])
import time
import aslrt
from test_conformance import handler_of
definition = open(sys.argv[1], "rb").read()
event = open(sys.argv[2], "rb").read()
def native(spec):
    kind = spec["kind"]
    if kind == "panic":
        return lambda payload: 1 / 0
    if kind == "sleep":
        return lambda payload: (time.sleep(spec["millis"] / 1000), payload)[1]
    if kind == "non_json":
        return lambda payload: {1, 2}
    return handler_of(spec)
handlers = {k: native(v) for k, v in json.loads(sys.argv[3]).items()}
try:
    sm = aslrt.StateMachine(definition, handlers, clock=sys.argv[5])
except aslrt.DefinitionError as e:
    print(json.dumps({"refused": str(e), "codes": [d.code for d in e.diagnostics]}))
    sys.exit(0)
except ValueError as e:
    print(json.dumps({"refused": str(e), "codes": []}))
    sys.exit(0)
r = sm.execute(event)
print(json.dumps({"status": r.status, "error": r.error}))
"""


PYTHON_CASES = [c for c in CASES if "python" in c.get("front_ends", ["python"])]


@pytest.mark.parametrize("case", PYTHON_CASES, ids=[c["name"] for c in PYTHON_CASES])
def test_a_hostile_input_ends_with_its_named_outcome(case: dict[str, Any], tmp_path: pathlib.Path) -> None:
    (tmp_path / "def").write_bytes(definition(case["definition"]))
    (tmp_path / "in").write_bytes(text(case["input"]))
    args = [str(tmp_path / "def"), str(tmp_path / "in"), json.dumps(case.get("handlers", {}))]
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, *args, str(pathlib.Path(__file__).parent), case.get("clock", "virtual")],
        capture_output=True,
        text=True,
        timeout=case.get("seconds", 60),
    )
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert "panicked" not in out.stderr, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    expect = case["expect"]
    if "invalid" in expect:
        wanted = expect["invalid"] if isinstance(expect["invalid"], list) else [expect["invalid"]]
        assert got.get("codes") == wanted, got
    elif "too_large" in expect:
        assert "too large" in got.get("refused", ""), got
    elif "bad_utf8" in expect:
        assert "UTF-8" in got.get("refused", ""), got
    elif "bounded" in expect:
        assert "status" in got, got
    else:
        assert got.get("status") == expect["status"], got
        if "error" in expect:
            assert got.get("error") == expect.get("python_error", expect["error"]), got
