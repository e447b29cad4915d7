"""The pool from Python: execute_many in input order with the GIL released, stream in input
order with later items already running, asyncio, and Ctrl-C stopping long calls promptly."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from typing import Any, Iterator

import pytest

import aslrt
from machines import CHOICE, LONG_WAIT, PASS


def test_execute_many_keeps_input_order() -> None:
    sm = aslrt.StateMachine(CHOICE)
    results = sm.execute_many(({"n": n} for n in range(-50, 1000)), threads=2)
    assert len(results) == 1050
    for n, r in zip(range(-50, 1000), results):
        if n < 0:
            assert (r.status, r.error) == ("FAILED", "Negative")
        else:
            assert r.output == {"twice": 2 * n}


def test_execute_many_releases_the_gil() -> None:
    sm = aslrt.StateMachine(CHOICE)
    events = [b'{"n": 3}'] * 200_000
    ticks = 0
    running = threading.Event()
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        running.set()
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    running.wait()
    before = ticks
    sm.execute_many(events, threads=2)
    during = ticks - before
    stop.set()
    counter.join()
    # With the GIL held for the whole batch the counter could not move at all.
    assert during > 1000, during


def test_stream_yields_in_input_order_while_later_items_run() -> None:
    started: list[int] = []

    def items() -> Iterator[dict[str, int]]:
        for n in range(100):
            started.append(n)
            yield {"n": n}

    sm = aslrt.StateMachine(CHOICE)
    stream = sm.stream(items(), threads=2, max_in_flight=8)
    first_item, first = next(stream)
    assert first_item == {"n": 0} and first.output == {"twice": 0}
    assert 1 < len(started) <= 8, "later items are submitted before the first is yielded, up to the limit"
    rest = list(stream)
    assert [item["n"] for item, _ in rest] == list(range(1, 100))
    assert all(r.output == {"twice": 2 * item["n"]} for item, r in rest)


def test_a_stream_of_messages_whose_events_are_inside() -> None:
    class Message:
        def __init__(self, offset: int) -> None:
            self.offset = offset

        def value(self) -> bytes:
            return b'{"n": %d}' % self.offset

    sm = aslrt.StateMachine(CHOICE)
    pairs = list(sm.stream((Message(i) for i in range(10)), event=lambda m: m.value()))
    assert [m.offset for m, _ in pairs] == list(range(10))
    assert [r.output for _, r in pairs] == [{"twice": 2 * i} for i in range(10)]


def test_a_stream_of_nothing_and_a_source_that_raises() -> None:
    sm = aslrt.StateMachine(PASS)
    assert list(sm.stream([])) == []

    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        list(sm.stream(broken()))


def test_execute_async() -> None:
    sm = aslrt.StateMachine(CHOICE)

    async def main() -> list[Any]:
        results = await asyncio.gather(*(sm.execute_async({"n": n}) for n in range(20)))
        return [r.output for r in results]

    assert asyncio.run(main()) == [{"twice": 2 * n} for n in range(20)]


def test_cancelling_an_async_execution_stops_it() -> None:
    sm = aslrt.StateMachine(LONG_WAIT)

    async def main() -> float:
        task = asyncio.ensure_future(sm.execute_async({}))
        await asyncio.sleep(0.05)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(main()) < 5


def interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


@pytest.mark.parametrize("definition, count", [(LONG_WAIT, 20), (CHOICE, 5_000_000)])
def test_ctrl_c_stops_execute_many_promptly(definition: dict[str, Any], count: int) -> None:
    sm = aslrt.StateMachine(definition)
    events = [b'{"n": 1}'] * count
    timer = interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sm.execute_many(events, threads=2)
    timer.join()
    assert time.monotonic() - start < 10


def test_ctrl_c_stops_a_stream_promptly() -> None:
    sm = aslrt.StateMachine(LONG_WAIT)
    timer = interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in sm.stream(({} for _ in range(10)), threads=2):
            pass
    timer.join()
    assert time.monotonic() - start < 10
