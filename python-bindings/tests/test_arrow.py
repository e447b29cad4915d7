"""execute_arrow: a pyarrow array of JSON events in, a StructArray of status, output, error and
cause out, one row per event in order, for every string and binary layout."""

from __future__ import annotations

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import aslrt
from machines import CHOICE


@pytest.mark.parametrize("layout", ["string", "large_string", "binary", "large_binary", "string_view", "binary_view"])
def test_every_layout_gives_one_row_per_event_in_order(layout: str) -> None:
    events = [f'{{"n": {n}}}' for n in range(-3, 300)]
    data = [e.encode() for e in events] if "binary" in layout else events
    out = aslrt.StateMachine(CHOICE).execute_arrow(pa.array(data, type=getattr(pa, layout)()), threads=2)
    assert out.type == pa.struct(
        [
            pa.field("status", pa.string(), nullable=False),
            pa.field("output", pa.string()),
            pa.field("error", pa.string()),
            pa.field("cause", pa.string()),
        ]
    )
    rows = out.to_pylist()
    assert len(rows) == len(events)
    for n, row in zip(range(-3, 300), rows):
        if n < 0:
            assert row == {"status": "FAILED", "output": None, "error": "Negative", "cause": "n < 0"}
        else:
            assert row == {"status": "SUCCEEDED", "output": f'{{"twice":{2 * n}}}', "error": None, "cause": None}


def test_nulls_malformed_events_and_chunked_arrays() -> None:
    sm = aslrt.StateMachine(CHOICE)
    rows = sm.execute_arrow(pa.chunked_array([['{"n": 1}', None], ["{broken", '{"n": 2}']])).to_pylist()
    assert [r["status"] for r in rows] == ["SUCCEEDED", "FAILED", "FAILED", "SUCCEEDED"]
    assert rows[1]["error"] == "States.Runtime" and "null" in rows[1]["cause"]
    assert rows[2]["error"] == "States.Runtime" and "not valid JSON" in rows[2]["cause"]
    assert sm.execute_arrow(pa.array([], pa.string())).to_pylist() == []


def as_row(r: aslrt.ExecutionResult) -> dict[str, str | None]:
    return {"status": r.status, "output": r.output_json, "error": r.error, "cause": r.cause}


NULL_ROW = {
    "status": "FAILED",
    "output": None,
    "error": "States.Runtime",
    "cause": "The execution input is null: the array has no event in this row",
}


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_rows_match_execute_whatever_the_nulls_and_runs(threads: int) -> None:
    # Rows are appended run by run as workers end them, null events' rows among them: every
    # row must be what execute gives for its event, whether nulls lead, trail, come in a row
    # or fall on the edges of runs (of up to 256 events).
    sm = aslrt.StateMachine(CHOICE)
    nulls = {0, 1, 255, 256, 257, 511, 512, 1000, 1001, 1002, 2047, 4096, 5998, 5999}
    events = [None if i in nulls else f'{{"n": {i % 7 - 1}, "i": {i}}}' for i in range(6000)]
    rows = sm.execute_arrow(pa.array(events, pa.string()), threads=threads).to_pylist()
    want = [NULL_ROW if e is None else as_row(sm.execute(e)) for e in events]
    assert rows == want


def test_rows_of_a_machine_with_handlers_come_in_order() -> None:
    # A machine with a Python handler may suspend: each event is a run of its own.
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:::function:f", "End": True}}}
    sm = aslrt.StateMachine(definition, {"f": lambda e: {"got": e["i"]}})
    events = [None if i % 5 == 0 else f'{{"i": {i}}}' for i in range(200)]
    rows = sm.execute_arrow(pa.array(events, pa.string()), threads=2).to_pylist()
    assert rows == [NULL_ROW if e is None else as_row(sm.execute(e)) for e in events]
    assert rows[1]["output"] == '{"got":1}'


def test_what_is_no_array_of_events_is_refused() -> None:
    sm = aslrt.StateMachine(CHOICE)
    with pytest.raises(TypeError):
        sm.execute_arrow(pa.array([1, 2]))
    with pytest.raises(TypeError):
        sm.execute_arrow(["{}"])


def test_results_stay_intact_while_later_calls_reuse_released_buffers() -> None:
    # Outputs of a few MB: their column buffers go back to a pool when released, and a later
    # call writes into them; one still held must never be written.
    sm = aslrt.StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

    def events(tag: str) -> list[str]:
        return ['{"tag": "%s", "i": %d, "pad": "%s"}' % (tag, i, tag * 900) for i in range(3000)]

    def outputs(result: object) -> list[str]:
        return [row["output"] for row in result.to_pylist()]  # type: ignore[attr-defined]

    want = {tag: [e.replace(" ", "") for e in events(tag)] for tag in "abc"}
    first = sm.execute_arrow(pa.array(events("a")))
    second = sm.execute_arrow(pa.array(events("b")))
    assert outputs(first) == want["a"] and outputs(second) == want["b"]
    del first
    third = sm.execute_arrow(pa.array(events("c")[:2000]))
    assert outputs(second) == want["b"]
    assert outputs(third) == want["c"][:2000]


def test_text_that_is_no_utf8_fails_its_own_row() -> None:
    # pyarrow does not check the UTF-8 of a string array made from buffers; aslrt reads it as
    # bytes, and the execution finds the bad text.
    data = b'{"a":"\xff"}{"b":2}'
    offsets = pa.array([0, 9, 16], pa.int32()).buffers()[1]
    events = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(data)])
    rows = aslrt.StateMachine(CHOICE).execute_arrow(events).to_pylist()
    assert rows[0]["status"] == "FAILED" and rows[0]["error"] == "States.Runtime"
    assert "Unicode" in (rows[0]["cause"] or ""), rows[0]
    assert rows[1]["status"] == "FAILED" and "n" in (rows[1]["cause"] or "")  # no $.n: a runtime error


def test_a_view_array_with_text_that_is_no_utf8_fails_only_that_row() -> None:
    import struct

    bad, good = b'{"a":"\xff-----"}', b'{"n": 2, "pad": 1}'
    data = bad + good

    def view(text: bytes, offset: int) -> bytes:
        return struct.pack("<i4sii", len(text), text[:4], 0, offset)

    views = pa.py_buffer(view(bad, 0) + view(good, len(bad)))
    events = pa.Array.from_buffers(pa.string_view(), 2, [None, views, pa.py_buffer(data)])
    rows = aslrt.StateMachine(CHOICE).execute_arrow(events).to_pylist()
    assert rows[0]["status"] == "FAILED" and "Unicode" in (rows[0]["cause"] or ""), rows[0]
    assert rows[1] == {"status": "SUCCEEDED", "output": '{"twice":4}', "error": None, "cause": None}


def test_a_view_array_pointing_outside_its_data_is_refused() -> None:
    import struct

    views = pa.py_buffer(struct.pack("<i4sii", 40, b"{}  ", 0, 0))
    events = pa.Array.from_buffers(pa.string_view(), 1, [None, views, pa.py_buffer(b"{}")])
    with pytest.raises(TypeError, match="outside"):
        aslrt.StateMachine(CHOICE).execute_arrow(events)
