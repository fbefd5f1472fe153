"""The speech worker pool runs the most urgent job first (issue 12): a caller waiting for the end of an
utterance or for a reply is served before streaming audio and prompts rendered ahead."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ivr.callservice.workers import Level, PriorityExecutor, Urgency
from ivr.speech.tts import EspeakEngine, cached


def _blocked_pool() -> tuple[PriorityExecutor, threading.Event, list[str]]:
    """A one-thread pool whose worker is held busy until the returned event is set."""
    pool = PriorityExecutor(1, "ivr-test")
    release = threading.Event()
    ran: list[str] = []
    pool.submit_at(Urgency(Level.WAITED), release.wait, 10)
    while pool.queued():  # the worker has taken the blocking job
        time.sleep(0.001)
    return pool, release, ran


def test_waited_work_runs_before_streaming_and_prefetch_queued_earlier() -> None:
    pool, release, ran = _blocked_pool()
    futures = [
        pool.submit_at(Urgency(Level.PREFETCH), ran.append, "prefetch"),
        pool.submit_at(Urgency(Level.STREAMING), ran.append, "streaming 1"),
        pool.submit_at(Urgency(Level.STREAMING), ran.append, "streaming 2"),
        pool.submit_at(Urgency(Level.WAITED), ran.append, "end of utterance"),
    ]
    release.set()
    for f in futures:
        f.result(5)
    assert ran == ["end of utterance", "streaming 1", "streaming 2", "prefetch"]
    pool.shutdown()


def test_an_urgency_raised_while_queued_moves_the_job_ahead() -> None:
    pool, release, ran = _blocked_pool()
    utterance = Urgency(Level.STREAMING)
    futures = [
        pool.submit_at(Urgency(Level.STREAMING), ran.append, "other caller"),
        pool.submit_at(utterance, ran.append, "this caller's last batch"),
    ]
    utterance.raise_to(Level.WAITED)  # the speaker stopped while the batch waited
    utterance.raise_to(Level.PREFETCH)  # never lowered again
    release.set()
    for f in futures:
        f.result(5)
    assert ran == ["this caller's last batch", "other caller"]
    pool.shutdown()


def test_errors_reach_the_caller_and_the_worker_goes_on() -> None:
    pool = PriorityExecutor(2, "ivr-test")
    bad = pool.submit(int, "not a number")
    with pytest.raises(ValueError):
        bad.result(5)
    assert pool.submit(lambda a, b: a + b, 2, b=3).result(5) == 5
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(int, "1")


def test_worker_threads_carry_a_linux_name_for_top_and_the_benchmark() -> None:
    pool = PriorityExecutor(2, "ivr-asr")
    tid = pool.submit(threading.get_native_id).result(5)
    assert Path(f"/proc/self/task/{tid}/comm").read_text().strip() in ("ivr-asr-0", "ivr-asr-1")
    pool.shutdown()


class CountingEspeak(EspeakEngine):
    """The real espeak-ng engine, counting the sentences it is asked to render (instrumentation)."""

    def __init__(self) -> None:
        super().__init__()
        self.rendered: list[str] = []
        self._count_lock = threading.Lock()

    def _sentence(self, sentence: str) -> bytes:
        with self._count_lock:
            self.rendered.append(sentence)
        time.sleep(0.2)  # make the two requests overlap
        return super()._sentence(sentence)


def test_a_sentence_prefetched_and_played_at_once_is_synthesized_once(tmp_path: Path) -> None:
    inner = CountingEspeak()
    inner.start()
    tts = cached(inner, tmp_path)
    text = "Que bom falar com você, Maria."
    out: list[bytes] = []
    threads = [threading.Thread(target=lambda: out.append(tts.synthesize_all(text))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert inner.rendered == [text]
    assert len(out) == 2 and out[0] == out[1] and len(out[0]) > 8000


def test_the_personal_prompts_are_rendered_when_the_agi_session_starts(speech, tmp_path: Path) -> None:
    """Greeting, identity question with the name, and the disclosure with the amount are in the TTS cache
    before the media leg connects; nothing is played (the disclosure still waits for the identity)."""
    import datetime as dt
    from decimal import Decimal

    from ivr.callservice.service import CallService
    from ivr.config import load_settings
    from ivr.db.session import open_database
    from ivr.dialog.engine import CallContext, CallStarted, DialogEngine, Digit, Say
    from ivr.speech.tts import prepare_text

    ctx = CallContext(
        debtor_name="Quitéria Bezerra",
        creditor_name="Banco Exemplo",
        amount=Decimal("4321.09"),
        due_date=dt.date(2026, 11, 10),
        today=dt.date(2026, 12, 1),
        debtor_id="d-9",
        seed="attempt-77",
    )
    tts = speech.tts
    engine = DialogEngine(ctx)  # the same pure engine the call runs: what its first two turns say
    says = [a for a in engine.handle(CallStarted(0.0)) + engine.handle(Digit("1", 8.0)) if isinstance(a, Say)]
    sentences = [s for a in says for s in tts.sentences(prepare_text(a.tts or a.text))]
    personal = [s for s in sentences if "Quitéria" in s or "quatro mil trezentos e vinte e um reais" in s]
    assert len(personal) == 2 and not any(tts.is_cached(s) for s in personal)

    service = CallService(load_settings(None, env={}), open_database(f"sqlite:///{tmp_path / 'x.db'}"), speech)
    for f in service.render_ahead(ctx):
        f.result(60)
    assert all(tts.is_cached(s) for s in sentences)


def test_the_urgent_lane_runs_a_waited_job_while_every_worker_is_busy() -> None:
    """A reply the caller waits for does not wait for a long synthesis to finish (no preemption)."""
    pool = PriorityExecutor(1, "ivr-test", urgent_workers=1)
    release, started = threading.Event(), threading.Event()
    busy = pool.submit_at(Urgency(Level.PREFETCH), lambda: started.set() or release.wait(10))
    assert started.wait(5)  # the only bulk worker is inside a long job
    streaming = pool.submit_at(Urgency(Level.STREAMING), threading.get_native_id)
    waited = pool.submit_at(Urgency(Level.WAITED), threading.get_native_id)
    tid = waited.result(2)  # the bulk worker is still blocked
    assert Path(f"/proc/self/task/{tid}/comm").read_text().strip() == "ivr-test-u0"
    assert not streaming.done()  # the urgent lane takes only WAITED work
    raised = Urgency(Level.STREAMING)
    late = pool.submit_at(raised, threading.get_native_id)
    raised.raise_to(Level.WAITED)  # e.g. the speaker stopped while the batch was queued
    assert late.result(2) == tid
    release.set()
    assert busy.result(5) and streaming.result(5)
    pool.shutdown()


def test_a_cached_greeting_plays_at_once_while_every_tts_worker_is_busy(speech, tmp_path: Path) -> None:
    """Cache hits are read on the event loop: a call's first audio does not queue behind synthesis jobs
    (here every TTS worker, the urgent lane included, is held busy until the first audio has gone out)."""
    import asyncio
    import datetime as dt

    from ivr.callservice.call import Speech
    from ivr.callservice.service import CallService, context_for
    from ivr.config import load_settings
    from ivr.db import results
    from ivr.db.models import utcnow
    from ivr.db.session import open_database
    from ivr.testing import factories
    from ivr.testing.fake_asterisk import SimulatedCall

    sessions = open_database(f"sqlite:///{tmp_path / 'jam.db'}")
    camp = factories.campaign(sessions, name="jam", policy={})
    d, p, debt = factories.debtor(sessions, camp, 7, name="Jurema Tavares", due=dt.date(2026, 11, 10))
    attempt = factories.attempt(sessions, camp, d, p, debt)
    settings = load_settings(None, env={"IVR_SERVICE_AGI_PORT": "0", "IVR_SERVICE_AUDIOSOCKET_PORT": "0"})
    # The call's opening turn is cached beforehand (as render_ahead does when the AGI session starts).
    ctx = context_for(results.load_call(sessions, attempt), utcnow())
    for f in CallService(settings, sessions, speech).render_ahead(ctx):
        f.result(60)

    jammed_tts = PriorityExecutor(1, "ivr-jam", urgent_workers=1)
    release = threading.Event()
    for level in (Level.PREFETCH, Level.WAITED):  # the bulk worker and the urgent lane, both stuck
        jammed_tts.submit_at(Urgency(level), release.wait, 30)
    jammed = Speech(tts=speech.tts, asr=speech.asr, asr_pool=speech.asr_pool, tts_pool=jammed_tts)

    async def run() -> float | None:
        service = CallService(settings, sessions, jammed)
        await service.start()
        sim = SimulatedCall("127.0.0.1", service.agi_port, attempt, [], keep_audio=False)
        task = asyncio.create_task(sim.run(timeout=60))
        try:
            while sim.result.answer_to_first_audio_ms is None and not task.done():
                await asyncio.sleep(0.02)
            return sim.result.answer_to_first_audio_ms
        finally:
            release.set()
            sim.hung_up = True
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await service.stop()

    first_audio_ms = asyncio.run(run())
    jammed_tts.shutdown()
    assert first_audio_ms is not None and first_audio_ms < 1500, first_audio_ms
