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
    global _loop, _lock
    _loop = None
    _lock = threading.Lock()


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


def schedule(
    coro: Coroutine[Any, Any, Any], settle: Callable[[concurrent.futures.Future[Any]], None]
) -> concurrent.futures.Future[Any]:
    """Runs ``coro`` on the event-loop thread; ``settle`` gets its future once it is done."""
    future = asyncio.run_coroutine_threadsafe(_contained(coro), _event_loop())
    future.add_done_callback(settle)
    return future
