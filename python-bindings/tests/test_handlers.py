"""Python callables as Task handlers: plain and async, raising (matched by Retry and Catch by
class name, as with Lambda), returning what is no JSON, and raising BaseExceptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import aslrt

ARN = "arn:aws:lambda:us-east-1:123456789012:function:enrich"


def task(**extra: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": ARN, "End": True, **extra}
    return {"StartAt": "T", "States": {"T": state}}


class QuotaExceeded(Exception):
    pass


def test_a_plain_handler_gets_the_input_and_gives_the_output() -> None:
    sm = aslrt.StateMachine(task(), {ARN: lambda e: {"seen": e["id"], "ok": True}})
    assert sm.execute({"id": 7}).output == {"seen": 7, "ok": True}


def test_handlers_by_function_name_and_prefix() -> None:
    by_name = aslrt.StateMachine(task(), {"enrich": lambda e: "by name"})
    assert by_name.execute({}).output == "by name"
    by_prefix = aslrt.StateMachine(task(), {"arn:aws:lambda:us-east-1:*": lambda e: "by prefix"})
    assert by_prefix.execute({}).output == "by prefix"


def test_an_async_handler() -> None:
    async def enrich(event: Any) -> Any:
        await asyncio.sleep(0.01)
        return {"async": event}

    sm = aslrt.StateMachine(task(), {ARN: enrich})
    assert sm.execute(1).output == {"async": 1}
    assert [r.output for r in sm.execute_many([1, 2, 3], threads=2)] == [{"async": i} for i in (1, 2, 3)]


def test_a_raised_exception_fails_the_task_by_class_name_and_catch_matches_it() -> None:
    def enrich(event: Any) -> Any:
        raise QuotaExceeded("try later")

    r = aslrt.StateMachine(task(), {ARN: enrich}).execute({})
    assert (r.status, r.error, r.cause) == ("FAILED", "QuotaExceeded", "try later")
    caught = task(Catch=[{"ErrorEquals": ["QuotaExceeded"], "ResultPath": "$.err", "Next": "Done"}])
    caught["States"]["T"].pop("End")
    caught["States"]["T"]["Next"] = "Done"
    caught["States"]["Done"] = {"Type": "Pass", "End": True}
    r = aslrt.StateMachine(caught, {ARN: enrich}).execute({"id": 1})
    assert r.output == {"id": 1, "err": {"Error": "QuotaExceeded", "Cause": "try later"}}


def test_retry_matches_a_raised_exception_by_class_name() -> None:
    calls = []

    def flaky(event: Any) -> Any:
        calls.append(event)
        if len(calls) < 3:
            raise QuotaExceeded("not yet")
        return "third time"

    definition = task(Retry=[{"ErrorEquals": ["QuotaExceeded"], "IntervalSeconds": 1, "MaxAttempts": 5}])
    r = aslrt.StateMachine(definition, {ARN: flaky}, clock="zero-delay").execute({})
    assert (r.output, len(calls)) == ("third time", 3)


def test_an_async_handler_that_raises() -> None:
    async def enrich(event: Any) -> Any:
        raise QuotaExceeded("async no")

    r = aslrt.StateMachine(task(), {ARN: enrich}).execute({})
    assert (r.error, r.cause) == ("QuotaExceeded", "async no")


def test_a_result_that_is_no_json_fails_the_task_by_name() -> None:
    r = aslrt.StateMachine(task(), {ARN: lambda e: {1, 2}}).execute({})
    assert (r.status, r.error) == ("FAILED", "Runtime.MarshalError")
    assert r.cause is not None and "Unable to marshal response" in r.cause and "set" in r.cause
    r = aslrt.StateMachine(task(), {ARN: lambda e: float("nan")}).execute({})
    assert r.error == "Runtime.MarshalError"


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit])
def test_a_base_exception_stops_the_execution_and_reaches_the_caller(raised: type) -> None:
    calls = []

    def enrich(event: Any) -> Any:
        calls.append(event)
        raise raised()

    # A Catch for everything must not swallow it: the execution stops at once.
    definition = task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Again"}])
    definition["States"]["T"].pop("End")
    definition["States"]["T"]["Next"] = "Again"
    definition["States"]["Again"] = {"Type": "Task", "Resource": ARN, "End": True}
    sm = aslrt.StateMachine(definition, {ARN: enrich})
    with pytest.raises(raised):
        sm.execute({})
    assert len(calls) == 1


def test_a_handler_may_run_another_machine() -> None:
    inner = aslrt.StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "inner", "End": True}}})
    outer = aslrt.StateMachine(task(), {ARN: lambda e: inner.execute(e).output})
    assert outer.execute({}).output == "inner"


def test_a_base_exception_in_an_async_handler_fails_only_its_task() -> None:
    async def interrupted(event: Any) -> Any:
        raise KeyboardInterrupt("from a coroutine")

    async def fine(event: Any) -> Any:
        return "still served"

    r = aslrt.StateMachine(task(), {ARN: interrupted}).execute({})
    assert (r.status, r.error, r.cause) == ("FAILED", "KeyboardInterrupt", "from a coroutine")
    # The shared event loop survived it.
    assert aslrt.StateMachine(task(), {ARN: fine}).execute({}).output == "still served"


def test_an_outer_execution_keeps_its_watch_after_a_nested_one() -> None:
    inner = aslrt.StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    calls = []

    def enrich(event: Any) -> Any:
        calls.append(event)
        if len(calls) == 1:
            return inner.execute(event).output
        raise KeyboardInterrupt()

    twice = task()
    twice["States"]["T"].pop("End")
    twice["States"]["T"]["Next"] = "Again"
    twice["States"]["Again"] = {
        "Type": "Task",
        "Resource": ARN,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Swallowed"}],
        "End": True,
    }
    twice["States"]["Swallowed"] = {"Type": "Pass", "End": True}
    with pytest.raises(KeyboardInterrupt):
        aslrt.StateMachine(twice, {ARN: enrich}).execute({})


def test_an_async_handler_awaits_another_machine_and_may_not_block_on_it() -> None:
    async def inner_handler(event: Any) -> Any:
        return "inner"

    inner = aslrt.StateMachine(task(), {ARN: inner_handler})

    async def awaiting(event: Any) -> Any:
        return (await inner.execute_async(event)).output

    async def blocking(event: Any) -> Any:
        return inner.execute(event).output  # would block the loop inner_handler needs

    assert aslrt.StateMachine(task(), {ARN: awaiting}).execute({}).output == "inner"
    r = aslrt.StateMachine(task(), {ARN: blocking}).execute({})
    assert (r.status, r.error) == ("FAILED", "RuntimeError")
    assert r.cause is not None and "execute_async" in r.cause


def test_an_async_handler_is_cancelled_when_its_task_times_out() -> None:
    import threading

    cancelled = threading.Event()

    async def slow(event: Any) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return event

    r = aslrt.StateMachine(task(TimeoutSeconds=1), {ARN: slow}).execute({})
    assert (r.status, r.error) == ("FAILED", "States.Timeout")
    assert cancelled.wait(5)


def test_many_async_handlers_answer_their_own_executions() -> None:
    async def echo(event: Any) -> Any:
        await asyncio.sleep(0)
        return {"got": event["n"]}

    results = aslrt.StateMachine(task(), {ARN: echo}).execute_many([{"n": n} for n in range(5000)], threads=2)
    assert [r.output for r in results] == [{"got": n} for n in range(5000)]


def test_a_coroutine_cancelled_before_it_starts_never_runs() -> None:
    import gc
    import threading
    import time
    import warnings

    from aslrt import _loop

    ran = threading.Event()

    async def body(event: Any) -> Any:
        ran.set()
        return event

    # The handlers' loop is busy for 2 s: the coroutine waits its turn, and the Task's
    # TimeoutSeconds ends the wait first.
    _loop._event_loop().call_soon_threadsafe(time.sleep, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = aslrt.StateMachine(task(TimeoutSeconds=1), {ARN: body}).execute({})
        # Once the loop is free again it looks at the coroutine, then runs what comes after.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.1), _loop._event_loop()).result(10)
        gc.collect()
    assert (r.status, r.error) == ("FAILED", "States.Timeout")
    assert not ran.is_set()
    assert not [w for w in caught if "never awaited" in str(w.message)]
