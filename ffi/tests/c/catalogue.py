"""Expands the hostile-input catalogue (runtime/tests/hostile/catalogue.jsonl) into the flat
file ffi/tests/c/catalogue.c reads, since C has no JSON reader: per case, length-prefixed
(u32, little-endian) fields: name, definition, input, expectation kind, expected code or status,
expected error, the clock (0 virtual, 1 system), the time cap in seconds, then the handlers as (resource, kind, error,
cause, millis), kind 0 raise, 1 panic, 2 sleep, 3 non_json. Cases for other front ends only are
left out.

    python3 ffi/tests/c/catalogue.py OUT
"""

import json
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "runtime" / "tests" / "hostile"))
from expand import CASES, definition, text  # noqa: E402

KINDS = {"invalid": 0, "too_large": 1, "bad_utf8": 2, "status": 3, "bounded": 4}


def field(b: bytes) -> bytes:
    return struct.pack("<I", len(b)) + b


HANDLERS = {"raise": 0, "panic": 1, "sleep": 2, "non_json": 3}
C_CASES = [c for c in CASES if "c" in c.get("front_ends", ["c"])]

with open(sys.argv[1], "wb") as out:
    out.write(struct.pack("<I", len(C_CASES)))
    for case in C_CASES:
        expect = case["expect"]
        kind = next(k for k in KINDS if k in expect)
        invalid = expect.get("invalid")
        # The codes, one per line, in order (catalogue.c checks the diagnostics are exactly these).
        wanted = ("\n".join(invalid) if isinstance(invalid, list) else invalid) or expect.get("status") or ""
        out.write(field(case["name"].encode()))
        out.write(field(definition(case["definition"])))
        out.write(field(text(case["input"])))
        out.write(struct.pack("<I", KINDS[kind]))
        out.write(field(wanted.encode()))
        out.write(field((expect.get("error") or "").encode()))
        out.write(struct.pack("<I", 1 if case.get("clock") == "system" else 0))
        out.write(struct.pack("<I", case.get("seconds", 60)))
        handlers = case.get("handlers", {})
        out.write(struct.pack("<I", len(handlers)))
        for resource, spec in handlers.items():
            out.write(field(resource.encode()))
            out.write(struct.pack("<I", HANDLERS[spec["kind"]]))
            for part in (spec.get("error") or "", spec.get("cause") or ""):
                out.write(field(part.encode()))
            out.write(struct.pack("<I", spec.get("millis", 0)))
