"""examples/stream_ndjson.py as a user runs it: one line per event on stdin, in order, each what
StateMachine.execute gives for that event."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import aslrt

ROOT = pathlib.Path(__file__).resolve().parents[2]
ORDERS = ROOT / "examples" / "order-routing"


def test_stream_ndjson_prints_each_event_in_order() -> None:
    script = ROOT / "python-bindings" / "examples" / "stream_ndjson.py"
    events = (ORDERS / "events.ndjson").read_text()
    done = subprocess.run(
        [sys.executable, str(script), str(ORDERS / "definition.asl.json"), str(ORDERS / "handlers.json")],
        input=events,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    lines = [line for line in events.splitlines() if line.strip()]
    assert [r["line"] for r in rows] == list(range(1, len(lines) + 1))
    sm = aslrt.StateMachine((ORDERS / "definition.asl.json").read_text(), {"arn:aws:states:::local:quote": lambda e: e})
    for row, line in zip(rows, lines):
        want = sm.execute(line)
        assert row["status"] == want.status
        if want.status == "SUCCEEDED":
            assert row["output"] == want.output
        else:
            assert (row["error"], row["cause"]) == (want.error, want.cause)
    assert [r["status"] for r in rows] == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "FAILED"]
