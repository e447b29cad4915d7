"""execute_many (a list of N copies of a workload's event, one str), execute_arrow (a pyarrow
string array of N copies) on THREADS workers, or N execute_async gathered on one event loop
(on the default pool, one worker per core): the median of five timed calls after a warm-up, as
exec/s on one JSON line (python-bindings/bench.sh compares it with `aslrt bench`).

    python bench.py WORKLOAD_DIR [N] [THREADS] [many|arrow|async]
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import statistics
import sys
import time

import aslrt


def main() -> None:
    folder = pathlib.Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    mode = sys.argv[4] if len(sys.argv) > 4 else "many"
    sm = aslrt.StateMachine((folder / "definition.asl.json").read_text())
    events = [(folder / "input.json").read_text().strip()] * n
    if mode == "arrow":
        import pyarrow as pa  # type: ignore[import-untyped]

        batch = pa.array(events)
        run = lambda: sm.execute_arrow(batch, threads=threads)  # noqa: E731
        statuses = lambda out: out.field("status").to_pylist()  # noqa: E731
    elif mode == "async":

        async def gathered() -> list[aslrt.ExecutionResult]:
            return await asyncio.gather(*(sm.execute_async(e) for e in events))

        run = lambda: asyncio.run(gathered())  # noqa: E731
        statuses = lambda out: [r.status for r in out]  # noqa: E731
    else:
        run = lambda: sm.execute_many(events, threads=threads)  # noqa: E731
        statuses = lambda out: [r.status for r in out]  # noqa: E731
    run()
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        results = run()
        rates.append(n / (time.perf_counter() - start))
    failed = sum(s != "SUCCEEDED" for s in statuses(results))
    print(json.dumps({"exec_per_s": round(statistics.median(rates)), "failed": failed}))


if __name__ == "__main__":
    main()
