"""The StateMachine API as a user meets it: inputs of every kind, results, dates, definition
errors with their diagnostics, limits, and bad arguments."""

from __future__ import annotations

import datetime
import json
import types

import pytest

import aslrt
from machines import PASS

FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Custom.Oops", "Cause": "it broke"}}}


def test_a_definition_as_str_bytes_or_dict() -> None:
    for definition in (json.dumps(PASS), json.dumps(PASS).encode(), PASS):
        assert aslrt.StateMachine(definition).execute({"a": 1}).output == {"a": 1}


def test_a_definition_and_handlers_as_any_mapping() -> None:
    # The stubs take a Mapping: a read-only view of a dict works as the dict does.
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:::function:f", "End": True}}}
    sm = aslrt.StateMachine(types.MappingProxyType(task), types.MappingProxyType({"f": lambda e: e["a"] + 1}))
    assert sm.execute({"a": 1}).output == 2


def test_inputs_as_json_text_bytes_or_values() -> None:
    sm = aslrt.StateMachine(PASS)
    assert sm.execute('{"a": [1, 2]}').output_json == '{"a":[1,2]}'
    assert sm.execute(b'{"a": 1}').output == {"a": 1}
    assert sm.execute(bytearray(b"[true]")).output == [True]
    assert sm.execute({"s": "é", "n": None, "f": 1.5}).output == {"s": "é", "n": None, "f": 1.5}
    assert sm.execute([1, "two"]).output == [1, "two"]


def test_malformed_input_is_a_failed_result_that_says_where() -> None:
    r = aslrt.StateMachine(PASS).execute('{"a": ')
    assert (r.status, r.error) == ("FAILED", "States.Runtime")
    assert r.cause is not None and "line 1, column" in r.cause
    assert r.output is None and r.output_json is None


def test_an_input_that_is_no_json_raises_type_error() -> None:
    with pytest.raises(TypeError):
        aslrt.StateMachine(PASS).execute({1, 2})


def test_a_failed_execution_is_a_result_and_raise_for_status_raises_it() -> None:
    r = aslrt.StateMachine(FAIL).execute({})
    assert (r.status, r.error, r.cause, r.output) == ("FAILED", "Custom.Oops", "it broke", None)
    with pytest.raises(aslrt.ExecutionError) as e:
        r.raise_for_status()
    assert (e.value.status, e.value.error, e.value.cause) == ("FAILED", "Custom.Oops", "it broke")
    assert isinstance(e.value, aslrt.AslrtError)
    ok = aslrt.StateMachine(PASS).execute({})
    assert ok.raise_for_status() is ok


def test_dates_are_utc_and_ordered() -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    r = aslrt.StateMachine(PASS).execute({})
    after = datetime.datetime.now(datetime.timezone.utc)
    assert r.start_date.tzinfo is not None and r.start_date.utcoffset() == datetime.timedelta(0)
    assert before - datetime.timedelta(seconds=1) <= r.start_date <= r.stop_date <= after + datetime.timedelta(seconds=1)
    assert r.transitions == 1


def test_definition_errors_carry_every_diagnostic() -> None:
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    with pytest.raises(aslrt.DefinitionError) as e:
        aslrt.StateMachine(bad)
    codes = {(d.code, d.pointer) for d in e.value.diagnostics}
    assert ("MISSING_TRANSITION_TARGET", "/States/A/Next") in codes
    assert all(isinstance(d, aslrt.Diagnostic) and d.message for d in e.value.diagnostics)
    assert isinstance(e.value, aslrt.AslrtError) and isinstance(e.value, ValueError)
    with pytest.raises(aslrt.DefinitionError):
        aslrt.StateMachine("{not json")


@pytest.mark.parametrize(
    "definition, error",
    [(42, TypeError), (b"\xff", ValueError), (None, TypeError)],
)
def test_bad_definition_arguments(definition: object, error: type) -> None:
    with pytest.raises(error):
        aslrt.StateMachine(definition)  # type: ignore[arg-type]


def test_bad_handlers_and_options() -> None:
    with pytest.raises(TypeError):
        aslrt.StateMachine(PASS, handlers=[("r", print)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        aslrt.StateMachine(PASS, handlers={"r": 42})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        aslrt.StateMachine(PASS, handlers={"": print})
    with pytest.raises(ValueError):
        aslrt.StateMachine(PASS, clock="sundial")
    with pytest.raises(ValueError):
        aslrt.StateMachine(PASS, limits={"max_bananas": 3})
    with pytest.raises(ValueError):
        aslrt.StateMachine(PASS, limits={"max_payload_bytes": -1})
    with pytest.raises(ValueError):
        aslrt.StateMachine(PASS).execute_many([{}], threads=0)
    with pytest.raises(ValueError):
        aslrt.StateMachine(PASS).stream([{}], max_in_flight=0)


def test_limits_apply() -> None:
    sm = aslrt.StateMachine(PASS, limits={"max_payload_bytes": 64})
    r = sm.execute({"big": "x" * 100})
    assert (r.status, r.error) == ("FAILED", "States.DataLimitExceeded")
    items = {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True,
             "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    sm = aslrt.StateMachine(items, limits={"max_map_items": 2})
    assert sm.execute([1, 2]).status == "SUCCEEDED"
    r = sm.execute([1, 2, 3])
    assert (r.status, r.error) == ("FAILED", "States.Runtime")
    assert "more than RuntimeLimits::max_map_items (2)" in (r.cause or "")
    with pytest.raises(aslrt.DefinitionError):
        aslrt.StateMachine(items, limits={"max_states": 1})
    with pytest.raises(ValueError, match="max_jsonata_steps"):
        aslrt.StateMachine(PASS, limits={"max_bananas": 3})


def test_a_virtual_clock_skips_waits() -> None:
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 120, "End": True}}}
    r = aslrt.StateMachine(wait, clock="virtual").execute({"x": 1})
    assert r.output == {"x": 1}
    assert (r.stop_date - r.start_date).total_seconds() < 60


def test_errors_survive_pickling() -> None:
    import pickle

    e = pickle.loads(pickle.dumps(aslrt.ExecutionError("FAILED", "Custom.Oops", "it broke")))
    assert (e.status, e.error, e.cause) == ("FAILED", "Custom.Oops", "it broke")
    d = pickle.loads(pickle.dumps(aslrt.DefinitionError("bad", [aslrt.Diagnostic("CODE", "/States", "why")])))
    assert d.diagnostics == [aslrt.Diagnostic("CODE", "/States", "why")] and str(d) == "bad"


def test_a_str_that_is_no_utf8_is_a_failed_result() -> None:
    sm = aslrt.StateMachine(PASS)
    event = '{"a": "\ud800"}'
    for r in (sm.execute(event), sm.execute_many([event, '{"ok": 1}'])[0]):
        assert (r.status, r.error) == ("FAILED", "States.Runtime")
        assert r.cause is not None and "not a Unicode character (line 1, column 8)" in r.cause
    assert sm.execute_many([event, '{"ok": 1}'])[1].output == {"ok": 1}


def test_allowed_resources_limit_what_tasks_may_invoke() -> None:
    task = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.fn", "Payload": {}},
                "End": True,
            }
        },
    }
    handlers = {"ok-fn": lambda e: {"ran": True}, "secret": lambda e: {"ran": True}}
    sm = aslrt.StateMachine(task, handlers, allowed_resources=["arn:aws:lambda:*:*:function:ok-*"])
    assert sm.execute({"fn": "ok-fn"}).output["Payload"] == {"ran": True}
    denied = sm.execute({"fn": "secret"})
    assert denied.status == "FAILED" and denied.error == "Lambda.AWSLambdaException"
    assert "not authorized to perform: lambda:InvokeFunction" in (denied.cause or "")
    direct = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}}
    with pytest.raises(aslrt.DefinitionError) as refused:
        aslrt.StateMachine(direct, allowed_resources=["ok-*"])
    assert refused.value.diagnostics[0].pointer == "/States/T/Resource"
    with pytest.raises(TypeError):
        aslrt.StateMachine(direct, allowed_resources="arn:aws:states:::sqs:sendMessage")
