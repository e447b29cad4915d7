"""The event loop async handlers run on: one daemon thread per process, started on first use.

A handler's coroutine runs there while its execution is suspended, not on the loop of the code
that called ``execute_async``: objects bound to another loop (an aiohttp session made there)
cannot be used in it. The native module is told the outcome through the callback it passes to
``schedule``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from typing import Any, Callable, Coroutine, Optional

_loop: Optional[asyncio.AbstractEventLoop] = None
_lock = threading.Lock()


def is_async(handler: Any) -> bool:
    """Whether calling ``handler`` gives a coroutine (``async def``, or an object whose
    ``__call__`` is one)."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)
    )


def forget() -> None:
    """In a forked child: the parent's loop thread is not there, so a new loop is made on use."""
    global _loop, _lock, _batch, _batch_lock, _woken
    _loop = None
    _lock = threading.Lock()
    _batch = []
    _batch_lock = threading.Lock()
    _woken = False


def _event_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="aslrt-asyncio", daemon=True).start()
            _loop = loop
        return _loop


async def _contained(coro: Coroutine[Any, Any, Any]) -> Any:
    """``coro``'s result; a KeyboardInterrupt or SystemExit raised in it becomes an ordinary
    exception of the same class name (the Task's error), since it would otherwise stop the
    event loop that every async handler shares."""
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as e:
        raise type(type(e).__name__, (Exception,), {})(str(e)) from e


class Scheduled:
    """A coroutine handed to the event-loop thread: cancel it from any thread."""

    __slots__ = ("_coro", "_settle", "_task", "_cancelled")

    def __init__(self, coro: Coroutine[Any, Any, Any], settle: Callable[[Any], None]) -> None:
        self._coro: Optional[Coroutine[Any, Any, Any]] = coro
        self._settle = settle
        self._task: Optional[asyncio.Task[Any]] = None
        self._cancelled = False

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        coro, self._coro = self._coro, None
        assert coro is not None
        if self._cancelled:
            coro.close()  # never started: nothing to await
            return
        contained = _contained(coro)
        try:
            task = loop.create_task(contained)
        except BaseException:
            contained.close()
            coro.close()
            raise
        task.add_done_callback(self._settle)
        self._task = task
        if self._cancelled:  # cancelled while the task was made, before its first step
            coro.close()
            task.cancel()

    def _fail(self, error: BaseException) -> None:
        """Ends a coroutine that could not be started: its Task fails with ``error``."""
        coro, self._coro = self._coro, None
        if coro is not None:
            coro.close()
        failed: concurrent.futures.Future[Any] = concurrent.futures.Future()
        failed.set_exception(error)
        self._settle(failed)

    def cancel(self) -> None:
        """Stops the coroutine: it never starts, or its task is cancelled on its loop."""
        self._cancelled = True
        task = self._task
        if task is not None:
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass  # the loop is closed


# Coroutines handed over and not yet started. Only the first of a batch wakes the loop, which
# starts them all in one callback: a wake-up per coroutine cost more than the coroutine.
_batch: list[Scheduled] = []
_batch_lock = threading.Lock()
# Whether a `_start_batch` is on its way to the loop.
_woken = False


def _start_batch() -> None:
    global _batch, _woken
    with _batch_lock:
        batch, _batch, _woken = _batch, [], False
    loop = asyncio.get_running_loop()
    for scheduled in batch:
        try:
            scheduled._start(loop)
        except Exception as e:  # a task factory that refuses, say: that Task fails, not the rest
            scheduled._fail(e)


def schedule(coro: Coroutine[Any, Any, Any], settle: Callable[[Any], None]) -> Scheduled:
    """Runs ``coro`` on the event-loop thread; ``settle`` gets its task once it is done (or a
    failed future, if the loop could not be woken)."""
    global _batch, _woken
    scheduled = Scheduled(coro, settle)
    with _batch_lock:
        _batch.append(scheduled)
        wake, _woken = not _woken, True
    if wake:
        try:
            _event_loop().call_soon_threadsafe(_start_batch)
        except BaseException as e:
            # No loop to start them on (no thread or file left, say): every coroutine of the
            # batch ends now, this one by raising, the others by failing their Tasks.
            with _batch_lock:
                batch, _batch, _woken = _batch, [], False
            for other in batch:
                if other is not scheduled:
                    other._fail(e)
            coro.close()
            raise
    return scheduled
