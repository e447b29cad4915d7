"""aslrt: AWS Step Functions Express workflows, in process.

Compile an Amazon States Language definition once, then run it over many events with the
answers AWS gives (outputs, error names and causes), at memory speed::

    import aslrt

    sm = aslrt.StateMachine(definition, handlers={"arn:aws:lambda:us-east-1:1:function:enrich": enrich})
    result = sm.execute({"id": 1})
    result.status, result.output

A failed execution is a result (``status == "FAILED"`` with ``error`` and ``cause``), not an
exception; ``result.raise_for_status()`` turns it into ``aslrt.ExecutionError``.
"""

import os

from . import _loop
from ._errors import AslrtError, DefinitionError, Diagnostic, ExecutionError
from ._native import (
    ExecutionResult,
    StateMachine,
    Stream,
    __version__,
    _after_fork,
    async_in_flight,
    max_async_in_flight,
    set_max_async_in_flight,
)


def _in_forked_child() -> None:
    # A forked child has none of the parent's threads: it starts its own pools and event loop.
    _after_fork()
    _loop.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_forked_child)

__all__ = [
    "AslrtError",
    "DefinitionError",
    "Diagnostic",
    "ExecutionError",
    "ExecutionResult",
    "StateMachine",
    "Stream",
    "__version__",
    "async_in_flight",
    "max_async_in_flight",
    "set_max_async_in_flight",
]
