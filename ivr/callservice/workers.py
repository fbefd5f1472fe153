"""Speech worker threads that run the most urgent job first, and the urgency levels the call service uses.

Why not ``concurrent.futures.ThreadPoolExecutor``: its queue is FIFO, so one burst of streaming work (eight
callers speaking at once) delays the last batch of an utterance whose speaker has stopped and who is now
waiting for the reply. Here every job carries an ``Urgency`` whose level may be raised while it waits (an
utterance ends: its queued batches become urgent), and a free worker takes the lowest (level, arrival).
The queue is scanned linearly: it holds at most a few jobs per active call, and a scan of a hundred entries
costs microseconds against the tens of milliseconds of a Vosk or Piper job. This is scheduling glue around
the standard ``Future``, not a thread-pool reimplementation: results, exceptions and cancellation are the
stdlib's.

Threads get a Linux name (``comm``, at most 15 bytes: ``ivr-asr-0``, ``ivr-tts-1``) so ``top -H``, py-spy
and ``bench/load.py`` can tell ASR from TTS CPU, and run at a lower priority than the event loop
(``WORKER_NICENESS``) so that pacing every call's audio comes first when decoding saturates the cores.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from enum import IntEnum
from typing import Any, TypeVar

from ivr.callservice.threads import name_native_thread

T = TypeVar("T")

WORKER_NICENESS = 10
"""Speech worker threads run this much nicer than the event loop, which paces every call's audio (Linux
weights: a nice-10 thread gets about a tenth of what the loop gets when both want the same core)."""
URGENT_NICENESS = 5
"""The urgent lane: well below the event loop (nice 2 here let three decoders crowd it out at 20-40 calls:
more late frames than before the lane existed), above the bulk of the speech work."""
URGENT_RESCAN_S = 0.02
"""How soon the urgent lane sees a job whose urgency was raised while it waited in the queue."""


class Level(IntEnum):
    """Lower runs first."""

    WAITED = 0
    """A caller is waiting on this: the end of an utterance, a reply with (almost) nothing left to play."""
    STREAMING = 1
    """Useful now, but nobody waits yet: batches of an utterance in progress, audio ahead of playback."""
    PREFETCH = 2
    """Ahead of need: the personal prompts of a call rendered while its earlier prompts play."""


class Urgency:
    """A job's level, shared by every job of one purpose (an utterance, a prompt); may be raised while queued."""

    __slots__ = ("level",)

    def __init__(self, level: Level = Level.STREAMING) -> None:
        self.level = level

    def raise_to(self, level: Level) -> None:
        if level < self.level:
            self.level = level


def lower_priority(niceness: int = WORKER_NICENESS) -> None:
    """This thread runs ``niceness`` steps nicer (Linux: per thread); elsewhere keep the default priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):
        pass


class _Job:
    __slots__ = ("fn", "args", "future", "urgency", "seq")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], urgency: Urgency, seq: int) -> None:
        self.fn = fn
        self.args = args
        self.future: Future[Any] = Future()
        self.urgency = urgency
        self.seq = seq


class PriorityExecutor(Executor):
    """``workers`` named threads taking the most urgent queued job first, plus ``urgent_workers`` that take
    only ``Level.WAITED`` jobs.

    A running job is never preempted: with every worker inside a long synthesis, a caller's reply would wait
    for one of them to finish. The urgent lane is idle until such a job is queued and then runs it at once
    beside the others (the OS shares the cores; the lane runs at a smaller niceness than the bulk workers).

    ``submit(fn, *args)`` queues at ``Level.STREAMING`` (so ``loop.run_in_executor`` works as with any
    executor); ``submit_at(urgency, fn, *args)`` with an ``Urgency`` the caller may raise later.
    """

    def __init__(
        self,
        workers: int,
        name: str,
        *,
        urgent_workers: int = 0,
        niceness: int = WORKER_NICENESS,
        urgent_niceness: int = URGENT_NICENESS,
    ) -> None:
        if workers < 1 or urgent_workers < 0:
            raise ValueError("workers must be >= 1 and urgent_workers >= 0")
        self.name = name
        self._jobs: list[_Job] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._shutdown = False
        self._threads = [
            threading.Thread(target=self._work, args=(f"{name}-{i}", niceness, False), name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ] + [
            threading.Thread(
                target=self._work, args=(f"{name}-u{i}", urgent_niceness, True), name=f"{name}-u{i}", daemon=True
            )
            for i in range(urgent_workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if kwargs:
            return self.submit_at(Urgency(), lambda: fn(*args, **kwargs))
        return self.submit_at(Urgency(), fn, *args)

    def submit_at(self, urgency: Urgency, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        with self._cond:
            if self._shutdown:
                raise RuntimeError(f"{self.name}: cannot schedule new jobs after shutdown")
            job = _Job(fn, args, urgency, next(self._seq))
            self._jobs.append(job)
            self._cond.notify_all()  # the urgent lane must hear of a WAITED job
        return job.future

    def queued(self) -> int:
        """Jobs waiting for a worker (not counting the ones running)."""
        with self._cond:
            return len(self._jobs)

    def _take(self, urgent_only: bool) -> _Job | None:
        with self._cond:
            while True:
                best = None
                for i, job in enumerate(self._jobs):
                    key = (job.urgency.level, job.seq)
                    if urgent_only and key[0] != Level.WAITED:
                        continue
                    if best is None or key < best[0]:
                        best = (key, i)
                if best is not None:
                    return self._jobs.pop(best[1])
                if self._shutdown and (urgent_only or not self._jobs):
                    return None
                # An urgency raised while queued does not notify: the urgent lane looks again soon.
                self._cond.wait(URGENT_RESCAN_S if urgent_only else None)

    def _work(self, name: str, niceness: int, urgent_only: bool) -> None:
        name_native_thread(name)
        lower_priority(niceness)
        while (job := self._take(urgent_only)) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                result = job.fn(*job.args)
            except BaseException as exc:
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
            del job

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._shutdown = True
            if cancel_futures:
                for job in self._jobs:
                    job.future.cancel()
                self._jobs.clear()
            self._cond.notify_all()
        if wait:
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join()


__all__ = ["Level", "PriorityExecutor", "Urgency", "WORKER_NICENESS", "lower_priority"]
