"""Runs a state machine over NDJSON events on stdin and prints one JSON line per event, in input
order, while later events already run: the loop of a stream consumer.

    python stream_ndjson.py DEFINITION.json [HANDLERS.json] < events.ndjson

HANDLERS.json maps a Resource to "echo" (the Task returns its input), as `aslrt run
--handlers` takes it. A line that is not JSON gives a FAILED line; nothing is skipped.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import aslrt


def echo(payload: Any) -> Any:
    return payload


def main() -> int:
    definition = open(sys.argv[1]).read()
    handlers: dict[str, Callable[[Any], Any]] = {}
    if len(sys.argv) > 2:
        for resource, kind in json.load(open(sys.argv[2])).items():
            if kind != "echo":
                raise SystemExit(f"{resource}: only 'echo' handlers here, not {kind!r}")
            handlers[resource] = echo
    sm = aslrt.StateMachine(definition, handlers)
    lines = (line for line in sys.stdin if line.strip())
    for number, (_, result) in enumerate(sm.stream(lines, max_in_flight=256), start=1):
        row: dict[str, Any] = {"line": number, "status": result.status}
        if result.status == "SUCCEEDED":
            row["output"] = result.output
        else:
            row.update(error=result.error, cause=result.cause)
        # Here a Kafka consumer would commit the event's offset: its result is out.
        print(json.dumps(row, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
