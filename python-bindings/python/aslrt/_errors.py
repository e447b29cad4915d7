"""The exceptions aslrt raises, and the diagnostics of an invalid definition."""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence


class Diagnostic(NamedTuple):
    """One problem in a definition: AWS's code, the JSON pointer to the node, and what is wrong."""

    code: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} at {self.pointer or '/'}: {self.message}"


class AslrtError(Exception):
    """The root of aslrt's exceptions."""


class DefinitionError(AslrtError, ValueError):
    """The definition is not valid Amazon States Language. ``diagnostics`` lists every problem."""

    diagnostics: list[Diagnostic]

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics)

    def __reduce__(self) -> tuple[type[DefinitionError], tuple[str, list[Diagnostic]]]:
        return (type(self), (str(self), self.diagnostics))


class ExecutionError(AslrtError):
    """An execution that did not succeed, raised by ``ExecutionResult.raise_for_status()``."""

    status: str
    error: Optional[str]
    cause: Optional[str]

    def __init__(self, status: str, error: Optional[str], cause: Optional[str]) -> None:
        super().__init__(f"{status}: {error or '(no error name)'}: {cause or '(no cause)'}")
        self.status = status
        self.error = error
        self.cause = cause

    def __reduce__(self) -> tuple[type[ExecutionError], tuple[str, Optional[str], Optional[str]]]:
        # Pickled whole, for multiprocessing and Spark workers.
        return (type(self), (self.status, self.error, self.cause))
