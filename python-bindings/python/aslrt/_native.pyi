"""The native part of aslrt (Rust, through PyO3). Import from ``aslrt``, not from here."""

import asyncio
import datetime
from typing import Any, Callable, Iterable, Mapping, Optional, Union, final


__all__ = [
    "ExecutionResult",
    "StateMachine",
    "Stream",
    "__version__",
    "_after_fork",
    "async_in_flight",
    "max_async_in_flight",
    "set_max_async_in_flight",
]

__version__: str

def _after_fork() -> None:
    """Called in a child process after ``os.fork()``: the parent's pools have no threads there."""

def set_max_async_in_flight(n: Optional[int]) -> None:
    """Bounds the executions started by ``execute_async`` and ``execute_when_room`` that run at
    once in this process (``None``: no bound; default 65,536; 0 raises ValueError). Past it
    they wait their turn, in order, without blocking the event loop. Raising it starts
    waiting ones at once. ``stream`` and ``execute_many`` bound themselves."""

def max_async_in_flight() -> Optional[int]:
    """The bound ``set_max_async_in_flight`` sets (``None``: none)."""

def async_in_flight() -> tuple[int, int]:
    """``(running, waiting)``: executions started by ``execute_async`` and
    ``execute_when_room`` that have not ended, and those waiting for room."""

@final
class ExecutionResult:
    """How one execution ended: its status, its output (SUCCEEDED) or its error and cause
    (FAILED, TIMED_OUT), and when it was started and stopped. A failed execution is a result,
    not an exception: ``raise_for_status()`` turns it into one."""

    @property
    def status(self) -> str:
        """``"SUCCEEDED"``, ``"FAILED"``, ``"TIMED_OUT"`` or ``"ABORTED"``."""
    @property
    def output(self) -> Any:
        """The output as a Python value, parsed from ``output_json`` at each access (keep it);
        ``None`` unless SUCCEEDED."""
    @property
    def output_json(self) -> Optional[str]:
        """The output as the JSON text the execution wrote; ``None`` unless SUCCEEDED."""
    @property
    def error(self) -> Optional[str]:
        """The error name of a FAILED or TIMED_OUT execution; ``None`` otherwise, or when the
        failure named none."""
    @property
    def cause(self) -> Optional[str]:
        """The cause, as AWS words it, of a FAILED or TIMED_OUT execution; ``None`` when there is
        none."""
    @property
    def transitions(self) -> int:
        """State transitions the execution made (CloudWatch's StateTransitions)."""
    @property
    def start_date(self) -> datetime.datetime:
        """When the execution was accepted (a ``datetime`` in UTC)."""
    @property
    def stop_date(self) -> datetime.datetime:
        """When the execution ended (a ``datetime`` in UTC)."""
    def raise_for_status(self) -> "ExecutionResult":
        """Raises ``aslrt.ExecutionError`` (with ``.error``, ``.cause`` and ``.status``) unless
        SUCCEEDED; returns the result itself otherwise."""

@final
class Stream:
    """The iterator ``StateMachine.stream`` returns: ``(item, result)`` pairs in input order."""

    def __iter__(self) -> "Stream": ...
    def __next__(self) -> tuple[Any, ExecutionResult]: ...
    def close(self) -> None:
        """Ends the stream: executions in flight are stopped (ABORTED) and their items never
        yielded; later ``next()`` calls end at once."""

@final
class StateMachine:
    """A state machine compiled from its Amazon States Language definition, with its Task
    handlers. Immutable: share it between threads freely."""

    def __new__(
        cls,
        definition: Union[str, bytes, Mapping[str, Any]],
        handlers: Optional[Mapping[str, Callable[[Any], Any]]] = None,
        *,
        limits: Optional[Mapping[str, int]] = None,
        clock: str = "system",
        seed: Optional[int] = None,
        allowed_resources: Optional[Iterable[str]] = None,
    ) -> "StateMachine":
        """Compiles ``definition`` (a str, bytes or dict) with ``handlers``, a dict from a
        Resource ARN, a Lambda function name or a prefix ending in ``*`` to a callable
        ``fn(input) -> output`` (or ``async def``). ``limits`` overrides ``RuntimeLimits``
        (``max_payload_bytes``, ``max_execution_seconds``, ``max_transitions``, ``max_depth``,
        ``max_arena_bytes``, ``max_definition_bytes``, ``max_states``, ``max_jsonata_depth``,
        ``max_jsonata_steps``, ``max_map_items``). ``clock`` is ``"system"`` (a Wait waits), ``"virtual"`` (waits
        advance a virtual clock at once) or ``"zero-delay"`` (retry back-off takes no time
        either); ``seed`` fixes the random source. ``allowed_resources`` (Resource ARNs,
        patterns with ``*`` and ``?``, or Lambda function names) is what Tasks may invoke: a
        Task naming another does not compile, and a ``lambda:invoke`` FunctionName outside them
        fails its Task with ``Lambda.AWSLambdaException``. Raises ``aslrt.DefinitionError``,
        with every diagnostic, when the definition is not valid."""
    def execute(self, input: Any) -> ExecutionResult:
        """Runs one execution with the GIL released: on the calling thread, except on the main
        thread when the machine may wait (a Wait on the system clock, an async handler): then on
        the pool, so that Ctrl-C can stop it. ``input`` is a JSON str or bytes, or any JSON-able
        value; malformed JSON is a FAILED result."""
    def execute_many(self, inputs: Iterable[Any], *, threads: Optional[int] = None) -> list[ExecutionResult]:
        """Runs every input on the work-stealing pool (``threads`` workers; default one per
        core) with the GIL released, and returns their results in input order. Executions that
        may wait (async handlers, Waits) all start at once: bound them with
        ``stream(max_in_flight=...)``."""
    def stream(
        self,
        iterable: Iterable[Any],
        *,
        threads: Optional[int] = None,
        max_in_flight: int = 1024,
        event: Optional[Callable[[Any], Any]] = None,
    ) -> Stream:
        """Runs the items of ``iterable`` on the pool and yields ``(item, result)`` in input
        order, while up to ``max_in_flight`` later items already run. ``event(item)`` gives an
        item's input when the item is not the input itself (a Kafka message:
        ``event=lambda m: m.value()``)."""
    def execute_arrow(self, array: Any, *, threads: Optional[int] = None) -> Any:
        """Runs a pyarrow array (or chunked array) of JSON events, ``string``, ``large_string``,
        ``binary``, ``large_binary`` or their views, on the pool, and returns a pyarrow
        ``StructArray`` of ``status``, ``output``, ``error`` and ``cause`` (strings), one row per
        event, with no Python object made per event. A null event is a FAILED row."""
    def execute_async(self, input: Any) -> "asyncio.Future[ExecutionResult]":
        """Runs one execution on the pool for asyncio: ``await sm.execute_async(input)``.
        Cancelling the awaiting task stops the execution (it ends ABORTED). At most
        ``aslrt.max_async_in_flight()`` such executions run at once; past it, the execution waits
        its turn without blocking the event loop (see ``execute_when_room``); one a handler
        starts goes past it, since its own execution holds a place."""
    def execute_when_room(self, input: Any) -> "asyncio.Future[asyncio.Future[ExecutionResult]]":
        """Waits for room under ``aslrt.max_async_in_flight()``, starts the execution, and gives the
        future of its result: ``result = await (await sm.execute_when_room(input))``. A
        producer that awaits it before taking its next event goes no faster than executions
        end. Cancelled while it waits, it has started nothing."""
