"""The hostile-input catalogue's cases with their texts expanded, for the Python and C runners
(python-bindings/tests/test_catalogue.py, ffi/tests/c/catalogue.py; the Rust one is
cli/tests/catalogue.rs). A text is a string, {"repeat": TEXT, "times": N}, {"concat": [TEXT,
...]} or {"hex": "..."}; a definition may also be {"parallels": N} or {"chain": N}."""

from __future__ import annotations

import json
import pathlib
from typing import Any

CASES: list[dict[str, Any]] = [
    json.loads(line) for line in pathlib.Path(__file__).with_name("catalogue.jsonl").read_text().splitlines()
]


def text(t: Any) -> bytes:
    if isinstance(t, str):
        return t.encode()
    if isinstance(t, list):
        return b"".join(text(p) for p in t)
    if "repeat" in t:
        return text(t["repeat"]) * int(t["times"])
    if "concat" in t:
        return text(t["concat"])
    return bytes.fromhex(t["hex"])


def definition(d: Any) -> bytes:
    if isinstance(d, dict) and "parallels" in d:
        m: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        for _ in range(d["parallels"]):
            m = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [m], "End": True}}}
        return json.dumps(m).encode()
    if isinstance(d, dict) and "chain" in d:
        n = d["chain"]
        states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(n - 1)}
        states[f"S{n - 1}"] = {"Type": "Succeed"}
        return json.dumps({"StartAt": "S0", "States": states}).encode()
    return text(d)
