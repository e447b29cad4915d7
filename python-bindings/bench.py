"""execute_many on N copies of a workload's event on THREADS workers: the median of five timed
batches after a warm-up, as exec/s on one JSON line (python-bindings/bench.sh compares it with
`aslrt bench`).

    python bench.py WORKLOAD_DIR [N] [THREADS]
"""

from __future__ import annotations

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
    sm = aslrt.StateMachine((folder / "definition.asl.json").read_text())
    events = [(folder / "input.json").read_text().strip()] * n
    sm.execute_many(events[: n // 10], threads=threads)
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        results = sm.execute_many(events, threads=threads)
        rates.append(n / (time.perf_counter() - start))
    failed = sum(r.status != "SUCCEEDED" for r in results)
    print(json.dumps({"exec_per_s": round(statistics.median(rates)), "failed": failed}))


if __name__ == "__main__":
    main()
