"""The Spark recipe in local mode: run_state_machine (mapInArrow, one StateMachine per
partition) over a column of JSON events gives, row for row, what execute_many gives locally.
Run by python-bindings/test.sh in a venv with pyspark."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from typing import Any

import pytest

if shutil.which("java") is None:
    pytest.skip(
        "no Java runtime for Spark (Debian: apt-get install default-jre-headless; .ci/run installs it)",
        allow_module_level=True,
    )

from pyspark.sql import SparkSession  # noqa: E402

import aslrt  # noqa: E402
from aslrt.spark import run_state_machine  # noqa: E402

BENCH = pathlib.Path(os.environ.get("ASLRT_BENCH_DIR") or pathlib.Path(__file__).resolve().parents[3] / "shared" / "bench")


@pytest.fixture(scope="module")
def spark() -> Any:
    session = (
        SparkSession.builder.master("local[2]")
        .appName("aslrt-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_map_in_arrow_over_json_events(spark: Any) -> None:
    folder = BENCH / "w2-etl-event"
    definition = (folder / "definition.asl.json").read_text()
    event = json.loads((folder / "input.json").read_text())
    events = []
    for i in range(3000):
        e = dict(event, id=f"evt-{i}")
        events.append(f"{{broken {i}" if i % 500 == 7 else json.dumps(e))
    df = spark.createDataFrame([(e,) for e in events], "event string").repartition(4)
    rows = {r["event"]: r for r in run_state_machine(df, definition, threads=1).collect()}
    assert len(rows) == len(events)
    local = aslrt.StateMachine(definition).execute_many(events)
    for e, want in zip(events, local):
        got = rows[e]
        assert (got["status"], got["output"], got["error"], got["cause"]) == (
            want.status,
            want.output_json,
            want.error,
            want.cause,
        )
    assert sum(r["status"] == "FAILED" for r in rows.values()) == 6
