"""The pool from Python: execute_many in input order with the GIL released, stream in input
order with later items already running, asyncio, and Ctrl-C stopping long calls promptly."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
import warnings
from typing import Any, Iterator

import pytest

import aslrt
from machines import CHOICE, COUNT_TO_100, LONG_WAIT, PASS


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
    events = [b'{"n": 3}'] * 1_000_000
    stamps: list[float] = []
    running = threading.Event()
    stop = threading.Event()

    def count() -> None:
        running.set()
        while not stop.is_set():
            stamps.append(time.perf_counter())
            sum(range(100))

    counter = threading.Thread(target=count)
    counter.start()
    running.wait()
    start = time.perf_counter()
    sm.execute_many(events, threads=2)
    end = time.perf_counter()
    stop.set()
    counter.join()
    # With the GIL held for the whole batch, the counter could run only before and after it
    # (a switch interval is 5 ms): its stamps well inside the call show the batch let it run.
    assert end - start > 0.2, "the batch is too short to tell"
    inside = [t for t in stamps if start + 0.05 < t < end - 0.05]
    assert len(inside) > 100, (len(inside), end - start)


def test_stream_yields_in_input_order_while_later_items_run() -> None:
    started: list[int] = []
    second_read = threading.Event()

    def items() -> Iterator[dict[str, int]]:
        for n in range(100):
            started.append(n)
            if n == 1:
                second_read.set()
            yield {"n": n}

    def twice(event: dict[str, int]) -> dict[str, int]:
        # The first item waits until the stream has read the second, as a slow first item
        # would: however loaded the host, later items are read while it runs.
        if event["n"] == 0:
            second_read.wait(10)
        return {"twice": 2 * event["n"]}

    arn = "arn:aws:states:::local:twice"
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    sm = aslrt.StateMachine(task, {arn: twice})
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


def wait_then_task(arn: str) -> dict[str, Any]:
    """A one-second Wait, then a Task on `arn`."""
    return {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
            "T": {"Type": "Task", "Resource": arn, "End": True},
        },
    }


def test_cancelling_an_async_execution_stops_it() -> None:
    # A one-second Wait, then a Task: cancelled during the Wait, the Task never runs.
    arn = "arn:aws:states:::local:after"
    calls: list[Any] = []
    sm = aslrt.StateMachine(wait_then_task(arn), {arn: calls.append})

    async def main() -> None:
        task = asyncio.ensure_future(sm.execute_async({}))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(1.5)

    asyncio.run(main())
    assert calls == []


SLEEPY = "arn:aws:states:::local:sleepy"


def sleepy_machine(running: list[int], peak: list[int], seconds: float = 0.02) -> aslrt.StateMachine:
    """A Task whose async handler takes `seconds` and answers its input; `peak[0]` is the most
    handlers that ran at once (they all run on one event loop's thread)."""

    async def sleepy(event: Any) -> Any:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(seconds)
        running[0] -= 1
        return event

    return aslrt.StateMachine({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": SLEEPY, "End": True}}}, {SLEEPY: sleepy})


@pytest.fixture
def bound() -> Iterator[None]:
    before = aslrt.max_async_in_flight()
    yield
    aslrt.set_max_async_in_flight(before)
    assert aslrt.async_in_flight() == (0, 0)


def test_execute_async_holds_the_bound_on_executions_in_flight(bound: None) -> None:
    assert aslrt.max_async_in_flight() == 65_536  # the default
    aslrt.set_max_async_in_flight(3)
    assert aslrt.max_async_in_flight() == 3
    with pytest.raises(ValueError, match="at least 1"):
        aslrt.set_max_async_in_flight(0)
    running, peak = [0], [0]
    sm = sleepy_machine(running, peak, 0.1)

    async def main() -> list[Any]:
        results = await asyncio.gather(*(sm.execute_async({"n": n}) for n in range(12)))
        return [r.output for r in results]

    assert asyncio.run(main()) == [{"n": n} for n in range(12)]
    assert peak[0] == 3


def test_execute_when_room_returns_once_the_execution_starts(bound: None) -> None:
    aslrt.set_max_async_in_flight(1)
    sm = sleepy_machine([0], [0], 0.2)

    async def main() -> None:
        first = await sm.execute_when_room({"n": 1})
        assert aslrt.async_in_flight() == (1, 0)
        second = asyncio.ensure_future(sm.execute_when_room({"n": 2}))
        await asyncio.sleep(0.005)
        assert not second.done() and aslrt.async_in_flight() == (1, 1)
        admitted = await second
        assert (await asyncio.wait_for(first, 5)).output == {"n": 1}
        assert (await admitted).output == {"n": 2}

    asyncio.run(main())


def test_raising_the_bound_starts_waiting_executions(bound: None) -> None:
    aslrt.set_max_async_in_flight(1)
    running, peak = [0], [0]
    sm = sleepy_machine(running, peak, 0.2)

    async def main() -> None:
        tasks = [asyncio.ensure_future(sm.execute_async({"n": n})) for n in range(4)]
        await asyncio.sleep(0.005)
        assert aslrt.async_in_flight() == (1, 3)
        aslrt.set_max_async_in_flight(None)
        assert aslrt.max_async_in_flight() is None and aslrt.async_in_flight() == (4, 0)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert peak[0] == 4


def test_a_cancelled_wait_for_room_starts_nothing_and_takes_no_room(bound: None) -> None:
    aslrt.set_max_async_in_flight(1)
    calls: list[Any] = []
    arn = "arn:aws:states:::local:record"
    definition = wait_then_task(arn)
    slow = aslrt.StateMachine(definition, {arn: calls.append})
    sm = aslrt.StateMachine({"StartAt": "T", "States": {"T": definition["States"]["T"]}}, {arn: calls.append})

    async def main() -> None:
        first = asyncio.ensure_future(slow.execute_async({"n": 1}))
        await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(sm.execute_async({"n": 2}))
        admission = asyncio.ensure_future(sm.execute_when_room({"n": 3}))
        await asyncio.sleep(0.01)
        assert aslrt.async_in_flight() == (1, 2)
        waiting.cancel()
        admission.cancel()
        for cancelled in (waiting, admission):
            with pytest.raises(asyncio.CancelledError):
                await cancelled
        await asyncio.sleep(0.01)  # the futures' done callbacks run
        assert aslrt.async_in_flight() == (1, 0)
        assert (await first).status == "SUCCEEDED"
        # The cancelled ones took no room: the next runs at once.
        last = await asyncio.wait_for(sm.execute_async({"n": 4}), 5)
        assert last.status == "SUCCEEDED"

    asyncio.run(main())
    assert [c["n"] for c in calls] == [1, 4]


def test_a_handlers_nested_execution_goes_past_the_bound(bound: None) -> None:
    aslrt.set_max_async_in_flight(1)

    async def inner_handler(event: Any) -> Any:
        return "inner"

    inner = aslrt.StateMachine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": SLEEPY, "End": True}}}, {SLEEPY: inner_handler}
    )

    async def awaiting(event: Any) -> Any:
        return (await inner.execute_async(event)).output

    outer = aslrt.StateMachine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": SLEEPY, "End": True}}}, {SLEEPY: awaiting}
    )

    async def main() -> Any:
        return (await asyncio.wait_for(outer.execute_async({}), 5)).output

    assert asyncio.run(main()) == "inner"


def test_results_for_a_closed_loop_are_dropped_and_the_next_loop_gets_its_own() -> None:
    sm = aslrt.StateMachine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    loop = asyncio.new_event_loop()

    async def start() -> Any:
        return sm.execute_async({})

    orphan = loop.run_until_complete(start())
    loop.close()  # its execution ends in a second, with no loop to settle its future on
    fast = aslrt.StateMachine(PASS)

    async def many() -> list[Any]:
        return [r.output for r in await asyncio.gather(*(fast.execute_async({"n": n}) for n in range(2000)))]

    assert asyncio.run(many()) == [{"n": n} for n in range(2000)]
    deadline = time.monotonic() + 10
    while aslrt.async_in_flight() != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert aslrt.async_in_flight() == (0, 0) and not orphan.done()
    assert asyncio.run(many()) == [{"n": n} for n in range(2000)]


def interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


@pytest.mark.parametrize("definition, count", [(LONG_WAIT, 20), (COUNT_TO_100, 1_000_000)])
def test_ctrl_c_stops_execute_many_promptly(definition: dict[str, Any], count: int) -> None:
    sm = aslrt.StateMachine(definition)
    events = [b'{"i": 0}'] * count
    # Uncancelled, the Waits take 60 s, and the pure batch ten times what a tenth of it takes
    # (about 4 s here): stopped after 0.2 s, either must end in well under half of that.
    if definition is COUNT_TO_100:
        started = time.monotonic()
        sm.execute_many(events[: count // 10], threads=2)
        whole = 10 * (time.monotonic() - started)
    else:
        whole = 60.0
    timer = interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sm.execute_many(events, threads=2)
    timer.join()
    took = time.monotonic() - start
    assert took < min(10.0, whole / 2), (took, whole)


def test_ctrl_c_stops_a_stream_promptly() -> None:
    sm = aslrt.StateMachine(LONG_WAIT)
    timer = interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in sm.stream(({} for _ in range(10)), threads=2):
            pass
    timer.join()
    assert time.monotonic() - start < 10


def test_ctrl_c_while_a_stream_reads_its_source_stops_what_is_in_flight() -> None:
    # A consumer mostly waits in its source (poll, stdin): Ctrl-C lands there, and must not
    # wait for the items already running (here a 60 s Wait) before it is raised.
    sm = aslrt.StateMachine(LONG_WAIT)

    def source() -> Iterator[dict[str, int]]:
        yield {"n": 1}
        raise KeyboardInterrupt

    stream = sm.stream(source(), threads=2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        next(stream)
    assert time.monotonic() - start < 10
    assert list(stream) == []  # stopped: nothing of what was in flight comes later


def test_a_stream_yields_a_ready_result_before_reading_more_of_a_slow_source() -> None:
    sm = aslrt.StateMachine(PASS)
    pulled: list[int] = []

    def slow() -> Iterator[int]:
        for n in range(5):
            pulled.append(n)
            time.sleep(0.1)
            yield n

    stream = sm.stream(slow(), max_in_flight=1000)
    item, _ = next(stream)
    assert item == 0 and len(pulled) <= 2, "the first result waited for the source to be read on"
    stream.close()
    assert list(stream) == []


def test_a_failing_item_is_raised_after_the_items_before_it() -> None:
    sm = aslrt.StateMachine(PASS)
    items: list[Any] = [1, 2, {3}, 4]
    stream = sm.stream(items)
    assert [next(stream)[0], next(stream)[0]] == [1, 2]
    with pytest.raises(TypeError):
        next(stream)


def test_a_stream_is_iterated_by_one_caller_at_a_time() -> None:
    sm = aslrt.StateMachine(PASS)
    holder: list[Any] = []

    def source() -> Iterator[int]:
        yield 1
        next(holder[0])  # the stream's own source asking it for more
        yield 2

    holder.append(sm.stream(source()))
    with pytest.raises(ValueError, match="already executing"):
        list(holder[0])


def test_a_state_machine_is_shared_by_threads() -> None:
    sm = aslrt.StateMachine(CHOICE)
    failures: list[str] = []

    def work(offset: int) -> None:
        for n in range(offset, offset + 200):
            if sm.execute({"n": n}).output != {"twice": 2 * n}:
                failures.append(f"execute {n}")
        results = sm.execute_many([{"n": n} for n in range(offset, offset + 200)], threads=2)
        if [r.output for r in results] != [{"twice": 2 * n} for n in range(offset, offset + 200)]:
            failures.append(f"execute_many from {offset}")

    threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_a_batch_inside_a_handler_on_the_pool_is_refused_not_hung() -> None:
    inner = aslrt.StateMachine(PASS)
    arn = "arn:aws:states:::local:nested"
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    sm = aslrt.StateMachine(task, {arn: lambda e: [r.output for r in inner.execute_many([e])]})
    r = sm.execute_many([{"x": 1}], threads=1)[0]
    assert (r.status, r.error) == ("FAILED", "RuntimeError")
    assert r.cause is not None and "inside a handler" in r.cause
    # On the calling thread, a handler's batch runs on the pool as usual.
    assert sm.execute({"x": 1}).output == [{"x": 1}]


def test_one_event_given_to_execute_many_is_refused() -> None:
    with pytest.raises(TypeError, match="use execute"):
        aslrt.StateMachine(PASS).execute_many('{"a": 1}')


def test_a_forked_child_runs_batches_on_pools_of_its_own() -> None:
    import os

    sm = aslrt.StateMachine(CHOICE)
    sm.execute_many([{"n": 1}], threads=2)  # the parent's pool exists before the fork
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: a batch and an async handler must not wait for the parent's threads
        ok = [r.output for r in sm.execute_many([{"n": 2}, {"n": 3}], threads=2)] == [{"twice": 4}, {"twice": 6}]
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"


def test_a_forked_child_has_its_own_bound_on_asyncio_executions(bound: None) -> None:
    import os

    aslrt.set_max_async_in_flight(1)
    slow = aslrt.StateMachine(LONG_WAIT)
    sm = aslrt.StateMachine(PASS)
    loop = asyncio.new_event_loop()

    async def start() -> list[Any]:
        return [slow.execute_async({}), sm.execute_async({"n": 1})]

    # The parent has one execution running and one waiting for room as it forks.
    running, queued = loop.run_until_complete(start())
    assert aslrt.async_in_flight() == (1, 1)
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: none of the parent's executions take its room

        async def child() -> Any:
            return (await asyncio.wait_for(sm.execute_async({"n": 2}), 5)).output

        try:
            ok = aslrt.async_in_flight() == (0, 0) and asyncio.run(child()) == {"n": 2}
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    running.cancel()
    assert loop.run_until_complete(queued).output == {"n": 1}
    loop.close()


def test_ctrl_c_stops_an_execute_that_waits() -> None:
    sm = aslrt.StateMachine(LONG_WAIT)
    timer = interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sm.execute({})
    timer.join()
    assert time.monotonic() - start < 10


def test_a_second_ctrl_c_gives_up_on_a_handler_that_does_not_return() -> None:
    arn = "arn:aws:states:::local:stuck"
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    sm = aslrt.StateMachine(task, {arn: lambda e: time.sleep(4)})
    first, second = interrupt_after(0.2), interrupt_after(0.6)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sm.execute_many([{}], threads=3)  # a pool of its own: its worker sleeps on after this
    first.join()
    second.join()
    assert time.monotonic() - start < 3
