"""The dialer's database thread: every SQLAlchemy call of the dialer runs here, never on its event loop.

One thread, first in, first out: work is applied in the order it was handed over. AMI event callbacks hand
their ledger writes over in the order AMI sent the events (an attempt's OriginateResponse before its Hangup),
and the loop's own steps keep their order because it awaits them (``dialing`` is committed before the
Originate is written). One thread is also one writer at a time, which is what SQLite wants.

A blocking database (a slow disk, a locked SQLite file, a PostgreSQL failover) then slows the ledger, not the
AMI reader, the pacing timers or the Originate replies that share the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ivr.privacy import mask_text

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


def describe_error(exc: BaseException) -> str:
    """One masked line: the exception's type and the first line of its text (SQLAlchemy puts the statement and
    its parameters, which may hold phone numbers, on the following lines)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {mask_text(first)[:200]}" if first else type(exc).__name__


class DatabaseThread:
    """A single ``ivr-db`` worker thread, started on first use and again after ``aclose``."""

    def __init__(self, name: str = "ivr-db") -> None:
        self.name = name
        self.failures = 0
        """Work handed over with ``post`` that raised (each was logged as one line)."""
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        # The caller's context goes along, as asyncio.to_thread does: log lines keep their attempt id and campaign.
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=self.name)
            return self._pool.submit(call)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the database thread, after everything handed over before it; its result
        or its exception. The loop is free while it waits."""
        return await asyncio.wrap_future(self._submit(fn, *args, **kwargs))

    def post(self, what: str, fn: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs) -> None:
        """Hand ``fn`` over without waiting (AMI event callbacks, which must not block the reader). A failure is
        logged as one masked line naming ``what``; it does not stop the thread or the work queued after it."""
        self._submit(fn, *args, **kwargs).add_done_callback(functools.partial(self._report, what))

    def _report(self, what: str, future: concurrent.futures.Future[object]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.failures += 1
            log.warning(
                "%s: database write failed (%s); the ledger recovery reconciles the attempt at the next "
                "start or AMI reconnect",
                what,
                describe_error(exc),
            )

    def drain(self) -> None:
        """Block until everything handed over so far is done (tests, and callers without a loop)."""
        self._submit(lambda: None).result()

    async def aclose(self) -> None:
        """Wait for everything handed over (queued ledger writes are never dropped), then stop the thread.

        If the wait itself is cancelled (Ctrl-C), the queued work still finishes: the thread is joined."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return
        try:
            await asyncio.shield(asyncio.wrap_future(pool.submit(lambda: None)))
        finally:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
                pool.shutdown(wait=True)
