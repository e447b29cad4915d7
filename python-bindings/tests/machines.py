"""Definitions the tests share."""

from __future__ import annotations

from typing import Any

PASS: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}

# n < 0 fails with Negative; otherwise the output is {"twice": 2n}.
CHOICE: dict[str, Any] = {
    "StartAt": "C",
    "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 0, "Next": "Bad"}], "Default": "Ok"},
        "Ok": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": True},
        "Bad": {"Type": "Fail", "Error": "Negative", "Cause": "n < 0"},
    },
}

LONG_WAIT: dict[str, Any] = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}

# Counts $.i up to 100 in 201 transitions: a pure execution long enough to stop halfway.
COUNT_TO_100: dict[str, Any] = {
    "StartAt": "L",
    "States": {
        "L": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": 100, "Next": "L"}], "Default": "D"},
        "D": {"Type": "Succeed"},
    },
}
