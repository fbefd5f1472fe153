"""One caller utterance across the ASR pool's threads (ivr.callservice.call._Utterance).

Vosk recognizers are not thread-safe, and the timings that break them (a caller still talking while the
final result is computed, a pool slower than real time) cannot be provoked on demand with the real model:
these tests use FAKE recognizers that record overlaps and decode at a chosen speed. The real model is used
by tests/callservice/test_service.py and the e2e suite.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from ivr.callservice.call import _Utterance
from ivr.callservice.workers import PriorityExecutor


class _FakeResult:
    text = "sim"
    confidence = 1.0


class FakeRecognizerThatRecordsOverlaps:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.active = 0
        self.overlap = False
        self.lock = threading.Lock()
        self.in_finish = threading.Event()
        self.release = threading.Event()

    def _enter(self, what: str) -> None:
        with self.lock:
            self.active += 1
            self.overlap = self.overlap or self.active > 1
        self.log.append(what)

    def _leave(self) -> None:
        with self.lock:
            self.active -= 1

    def accept(self, pcm: bytes) -> None:
        self._enter("accept")
        time.sleep(0.01)
        self._leave()

    def finish(self) -> _FakeResult:
        self._enter("finish")
        self.in_finish.set()
        self.release.wait(2)
        self._leave()
        return _FakeResult()


class FakeSlowRecognizer:
    """Decodes 1.3 times slower than real time: a saturated pool."""

    def accept(self, pcm: bytes) -> None:
        time.sleep(len(pcm) / 16000 * 1.3)

    def finish(self) -> _FakeResult:
        return _FakeResult()


class FakeAsr:
    def __init__(self, rec: Any) -> None:
        self.rec = rec

    def recognizer(self, hints: Any) -> Any:
        return self.rec


def test_audio_arriving_during_the_final_decode_never_reaches_the_recognizer_concurrently() -> None:
    async def main() -> tuple[str, bool, list[str]]:
        pool = PriorityExecutor(2, "ivr-test")
        rec = FakeRecognizerThatRecordsOverlaps()
        u = _Utterance(FakeAsr(rec), None, pool, asyncio.get_running_loop())  # type: ignore[arg-type]
        u.feed(b"\0" * 2560)
        task = asyncio.ensure_future(u.finish())
        while not rec.in_finish.is_set():
            await asyncio.sleep(0.001)
        u.feed(b"\0" * 2560)  # the caller is still talking (MAX_UTTERANCE_S) or spoke again
        await asyncio.sleep(0.1)
        rec.release.set()
        text, _ = await asyncio.wait_for(task, 2)
        pool.shutdown()
        return text, rec.overlap, rec.log

    text, overlap, log = asyncio.run(main())
    assert text == "sim"
    assert not overlap, f"accept() ran while finish() was running on another thread: {log}"


def test_the_turn_ends_while_the_caller_keeps_talking_on_a_saturated_pool() -> None:
    """The 15 s guard must end a turn even when decoding is slower than the caller's speech."""

    async def main() -> float | None:
        pool = PriorityExecutor(1, "ivr-test")
        u = _Utterance(FakeAsr(FakeSlowRecognizer()), None, pool, asyncio.get_running_loop())  # type: ignore[arg-type]
        stop = False

        async def talk() -> None:
            while not stop:
                u.feed(b"\0" * 2560)  # 160 ms batches, in real time
                await asyncio.sleep(0.16)

        talker = asyncio.ensure_future(talk())
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(u.finish(), 3.0)
            took: float | None = time.monotonic() - t0
        except TimeoutError:
            took = None
        stop = True
        await talker
        pool.shutdown(wait=False)
        return took

    assert asyncio.run(main()) is not None, "finish() had not delivered after 3 s of continued speech"
