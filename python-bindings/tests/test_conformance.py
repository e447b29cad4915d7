"""The AWS-recorded corpus through the Python API: each case compiled with its handlers as
Python callables (on a virtual clock, seed 0), run with ``execute`` and again with
``execute_many``, and judged as ``aslrt conformance`` judges it. Every case must pass both ways
(538 each, the CLI's count)."""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any, Callable, Optional

import aslrt


def handler_of(spec: dict[str, Any]) -> Callable[[Any], Any]:
    kind = spec.get("kind")
    if kind == "echo":
        return lambda payload: payload
    if kind == "return":
        value = spec.get("value")
        return lambda payload: value
    # A raised exception: its class name is the error, its message the cause, as with Lambda.
    error_class = type(spec.get("error") or "Exception", (Exception,), {})
    cause = spec.get("cause") or ""

    def raising(payload: Any) -> Any:
        raise error_class(cause)

    return raising


def same_json(a: Any, b: Any) -> bool:
    """JSON equality with numbers by value (1 == 1.0), and booleans apart from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


def cause_matches(pattern: str, cause: Optional[str]) -> bool:
    """``<token>`` in a recorded cause pattern matches any text."""
    if cause is None:
        return False
    parts = re.split(r"<[^<>]*>", pattern)
    return re.fullmatch(".*".join(re.escape(p) for p in parts), cause, re.DOTALL) is not None


def passes(expect: dict[str, Any], got: dict[str, Any]) -> bool:
    if expect.get("status") != got.get("status"):
        return False
    if expect["status"] == "SUCCEEDED":
        return same_json(expect.get("output"), got.get("output"))
    if expect.get("error") != got.get("error"):
        return False
    if "cause_pattern" in expect:
        return cause_matches(expect["cause_pattern"], got.get("cause"))
    return expect.get("cause") == got.get("cause")


def outcome(result: aslrt.ExecutionResult) -> dict[str, Any]:
    if result.status == "SUCCEEDED":
        return {"status": "SUCCEEDED", "output": result.output}
    return {"status": result.status, "error": result.error, "cause": result.cause}


def test_the_corpus_passes_through_python(conformance_dir: pathlib.Path) -> None:
    passed, failed = 0, []
    for name in ("cases.jsonl", "task-cases.jsonl"):
        for line in (conformance_dir / name).read_text().splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            handlers = {resource: handler_of(spec) for resource, spec in (case.get("handlers") or {}).items()}
            try:
                sm = aslrt.StateMachine(json.dumps(case["definition"]), handlers, clock="virtual", seed=0)
            except aslrt.DefinitionError as e:
                got = [{"status": "DEFINITION_ERROR", "error": str(e)}] * 2
            else:
                event = json.dumps(case["input"])
                got = [outcome(sm.execute(event)), outcome(sm.execute_many([event], threads=2)[0])]
            for way, g in zip(("execute", "execute_many"), got):
                if passes(case["expect"], g):
                    passed += 1
                else:
                    failed.append(f"{case['id']} ({way}): {g}")
    print(f"Python conformance, both ways: {passed} passed, {len(failed)} failed")
    assert not failed, f"{len(failed)} cases fail through Python: {failed[:5]}"
    assert passed == 2 * 538
