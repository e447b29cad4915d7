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

from ._errors import AslrtError, DefinitionError, Diagnostic, ExecutionError
from ._native import ExecutionResult, StateMachine, Stream, __version__

__all__ = [
    "AslrtError",
    "DefinitionError",
    "Diagnostic",
    "ExecutionError",
    "ExecutionResult",
    "StateMachine",
    "Stream",
    "__version__",
]
