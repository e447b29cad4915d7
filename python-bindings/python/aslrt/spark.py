"""aslrt on Spark: a state machine over a DataFrame column of JSON events, with ``mapInArrow``.

Each partition builds one ``StateMachine`` from the definition's text (a StateMachine is not
pickled: the text is) and runs its Arrow batches with ``execute_arrow``, so that no Python
object is made per event::

    from aslrt.spark import run_state_machine

    results = run_state_machine(events_df, definition_text, column="event")
    results.filter("status != 'SUCCEEDED'").show()

The result has the event column and ``status``, ``output``, ``error`` and ``cause`` (strings).
Handlers are made in each partition by ``handlers``, a function (picklable: defined at module
level) that returns the dict ``StateMachine`` takes. pyspark is needed only to call this.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional


def run_state_machine(
    df: Any,
    definition: str,
    column: str = "event",
    *,
    handlers: Optional[Callable[[], Mapping[str, Callable[[Any], Any]]]] = None,
    threads: Optional[int] = 1,
    clock: str = "system",
) -> Any:
    """``df`` with its ``column`` of JSON events (string) run through the state machine of
    ``definition``: a DataFrame of the event and ``status``, ``output``, ``error``, ``cause``.
    Each partition runs on ``threads`` workers (default 1: Spark already runs a task per core)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore[import-untyped]

        import aslrt

        machine = aslrt.StateMachine(definition, handlers() if handlers else None, clock=clock)
        for batch in batches:
            events = batch.column(column)
            out = machine.execute_arrow(events, threads=threads)
            names = ["status", "output", "error", "cause"]
            yield pa.RecordBatch.from_arrays([events, *(out.field(n) for n in names)], names=[column, *names])

    schema = f"`{column}` string, status string, output string, error string, cause string"
    return df.mapInArrow(run, schema)
