"""One call's media leg: AudioSocket packets in and out, VAD and Vosk on the caller's audio, Piper on the bot's,
and the pure dialog engine in between.

Timing model: the sender ticks every 20 ms on a monotonic schedule and always sends a frame (bot audio, or
silence), so Asterisk gets a steady stream and underruns are measurable. Caller audio is processed as it
arrives; when the caller's channel sends nothing (a Local channel in silence does not), the same tick feeds
silence to the VAD so end-of-speech and timeouts run on wall time. CPU-heavy work (Vosk, Piper) runs in
shared thread pools, never in the event loop; one recognizer per call, fed only speech frames while listening.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import soxr

from ivr.dialog.engine import (
    Action,
    CallStarted,
    DialogEngine,
    Digit,
    Event,
    HangUp,
    Heard,
    HungUp,
    Listen,
    NoInput,
    RecordOutcome,
    RecordTurn,
    Say,
    Transfer,
)
from ivr.speech.asr import AsrModel, Recognizer
from ivr.speech.audio import silence
from ivr.speech.tts import CachedTts, TtsEngine, prepare_text, speech_pieces, split_sentences
from ivr.speech.vad import Vad, VadEventKind, VadParams
from ivr.asterisk.audiosocket import FRAME_BYTES, Kind, Packet, ProtocolError, audio_packet, read_packet
from ivr.callservice.workers import Level, PriorityExecutor, Urgency

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_S = 0.020
SILENT_FRAME = bytes(FRAME_BYTES)
SILENT_PACKET = audio_packet(SILENT_FRAME)
"""Sent every tick nobody speaks: built once, not per frame."""
UNDERRUN_BUDGET_S = 0.010
"""A frame sent later than its slot plus this budget counts as an underrun (the caller hears a gap)."""
GAP_FILL_S = 0.060
"""No caller frame for this long: the line is treated as silent (Local channels send nothing in silence)."""
WRITE_DEADLINE_S = 3.0
"""Seconds the sender waits for a peer that stopped reading (after about 1.3 s of audio queued) before it
aborts the connection: a hung Asterisk across a network keeps the socket open but reads nothing."""
LINE_RATE = 8000
"""Hertz the dialog, VAD and recognizer work at; wideband caller audio is resampled to it (soxr)."""
INTER_DIGIT_S = 3.0
MAX_UTTERANCE_S = 15.0
WAITED_BUFFER_FRAMES = 15
"""With less than this much bot audio queued (300 ms), the next TTS chunk is awaited by the caller."""
ASR_BATCH_BYTES = 8 * FRAME_BYTES
"""Speech goes to Vosk in 160 ms batches: one pool job per batch instead of one per 20 ms frame."""


class _Utterance:
    """The recognizer state of one caller utterance, fed by jobs in the shared ASR pool.

    Audio is queued here and one drain job at a time feeds it to the recognizer, so the batches of one
    utterance stay in order and a pool that fell behind hands Vosk the backlog in one call. The jobs share
    one ``Urgency``: streaming while the caller speaks, raised to ``WAITED`` once the speaker has stopped,
    so the last audio of a finished utterance is decoded before the streaming audio of everyone else.

    The Vosk recognizer is made by the first batch of speech (in the pool), not before the question is
    played: most answers are keypad presses and need none. A new object per utterance means a late job of
    an abandoned utterance cannot leak audio into the next one.
    """

    def __init__(self, asr: AsrModel, hints: list[str] | None, pool: Executor, loop: asyncio.AbstractEventLoop) -> None:
        self.asr = asr
        self.hints = hints
        self.pool = pool
        self.loop = loop
        self.urgency = Urgency(Level.STREAMING)
        self.recognizer: Recognizer | None = None
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._scheduled = False
        self._finishing = False
        self._delivered = False
        self._error: BaseException | None = None
        self._result: asyncio.Future[tuple[str, float]] | None = None

    def feed(self, pcm: bytes) -> None:
        """Queue caller audio (event loop); a drain job is scheduled unless one is queued or running."""
        with self._lock:
            if self._finishing:
                return  # the turn is over: audio after the final decode began belongs to no answer
            self._pending += pcm
            if self._scheduled:
                return
            self._scheduled = True
        submit(self.pool, self.urgency, self._drain)

    def stopped(self) -> None:
        """The speaker has stopped: the rest of this utterance is awaited by the caller."""
        self.urgency.raise_to(Level.WAITED)

    async def finish(self) -> tuple[str, float]:
        """Decode what is queued, then the final result: (text, confidence); ("", 0.0) without speech."""
        self.stopped()
        self._result = self.loop.create_future()
        with self._lock:
            self._finishing = True
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            submit(self.pool, self.urgency, self._drain)
        return await self._result

    def _drain(self) -> None:
        """Pool thread: feed everything queued, and deliver the final result once asked and drained."""
        while True:
            with self._lock:
                data = bytes(self._pending)
                self._pending.clear()
                if not data:
                    deliver = self._finishing and not self._delivered
                    self._delivered = self._delivered or deliver
                    # While the final result is computed no other drain may start: Vosk recognizers are
                    # not thread-safe (and nothing is fed after finishing began anyway).
                    self._scheduled = deliver
                    break
            if self._error is None:
                try:
                    if self.recognizer is None:
                        self.recognizer = self.asr.recognizer(self.hints)
                    self.recognizer.accept(data)
                except Exception as exc:  # delivered to the awaiting call by finish()
                    self._error = exc
        if not deliver:
            return
        outcome: tuple[str, float] | BaseException
        if self._error is not None:
            outcome = self._error
        elif self.recognizer is None:
            outcome = ("", 0.0)
        else:
            try:
                final = self.recognizer.finish()
                outcome = (final.text, final.confidence)
            except Exception as exc:
                outcome = exc
        try:
            self.loop.call_soon_threadsafe(self._deliver, outcome)
        except RuntimeError:  # the loop is closed: the call is gone
            pass

    def _deliver(self, outcome: tuple[str, float] | BaseException) -> None:
        if self._result is None or self._result.done():
            return
        if isinstance(outcome, BaseException):
            self._result.set_exception(outcome)
        else:
            self._result.set_result(outcome)


def submit(pool: Executor, urgency: Urgency, fn: Callable[..., T], *args: Any) -> Future[T]:
    """Queue ``fn(*args)`` at ``urgency`` on a ``PriorityExecutor``; any other executor is FIFO."""
    if isinstance(pool, PriorityExecutor):
        return pool.submit_at(urgency, fn, *args)
    return pool.submit(fn, *args)


class LineResampler:
    """Streaming soxr resampler from ``rate`` Hz to the 8 kHz line rate, signed 16-bit little-endian mono.

    soxr's medium quality: its filter holds back about 100 ms and then releases audio in blocks, which the VAD
    and the recognizer take as they come (end-of-utterance is 700 ms, so the delay does not show).
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        """Hertz of the input"""
        self._stream = soxr.ResampleStream(rate, LINE_RATE, 1, dtype="int16", quality="MQ")
        self._odd = b""

    def feed(self, pcm: bytes) -> bytes:
        """Input bytes (any length; an odd byte waits for the next call) → 8 kHz bytes (maybe none yet)."""
        data = self._odd + pcm
        cut = len(data) - len(data) % 2
        self._odd = data[cut:]
        if not cut:
            return b""
        out = self._stream.resample_chunk(np.frombuffer(data[:cut], dtype="<i2"))
        return out.astype("<i2", copy=False).tobytes()


class DtmfCollector:
    """Keypad digits for one question: done at ``max_digits``, at the terminator, or after an inter-digit pause."""

    def __init__(self, max_digits: int = 1, terminator: str = "#", inter_digit_s: float = INTER_DIGIT_S) -> None:
        self.max_digits = max_digits
        self.terminator = terminator
        self.inter_digit_s = inter_digit_s
        self.digits = ""
        self.last_at: float | None = None
        self.complete = False

    def press(self, digit: str, at: float) -> bool:
        """Add a key; True when the answer is complete."""
        if self.complete:
            return True
        if digit == self.terminator:
            self.complete = bool(self.digits) or self.max_digits == 0
            return self.complete
        self.digits += digit
        self.last_at = at
        self.complete = len(self.digits) >= self.max_digits
        return self.complete

    def expired(self, now: float) -> bool:
        """Some digits were typed and then nothing for ``inter_digit_s``: take what was typed."""
        if self.digits and self.last_at is not None and now - self.last_at >= self.inter_digit_s:
            self.complete = True
        return self.complete


@dataclass
class Speech:
    """The process-wide engines every call shares (models loaded once in ``start``)."""

    tts: TtsEngine
    asr: AsrModel | None
    asr_pool: Executor
    tts_pool: Executor
    vad_aggressiveness: int = 2
    vad_params: VadParams = field(default_factory=VadParams)
    barge_in: bool = True


@dataclass
class CallStats:
    answer_to_first_audio_ms: float | None = None
    turn_latencies_ms: list[float] = field(default_factory=list)
    underruns: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    starved_frames: int = 0
    """Ticks where a prompt had begun and its next audio was still being synthesized: silence the caller
    hears inside a sentence's flow (a gap, although every frame left on time)."""
    asr_bytes: int = 0
    """Caller audio handed to the recognizer (8 kHz 16-bit: 16,000 bytes a second)."""


@dataclass
class CallEnd:
    outcome: RecordOutcome | None
    transfer: Transfer | None
    hung_up: bool
    """The caller (or Asterisk) ended the call before the dialog did."""
    stats: CallStats


Sink = Callable[[Action, dict[str, Any]], None]
"""Receives RecordTurn / RecordOutcome actions with timing details, to store them; it must not block
(``CallRecorder`` queues the writes for its own task)."""


class _Hangup(Exception):
    pass


class CallMedia:
    """Runs one dialog over one AudioSocket connection until the dialog or the caller ends it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        engine: DialogEngine,
        speech: Speech,
        sink: Sink,
        *,
        max_call_s: float = 300.0,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.engine = engine
        self.speech = speech
        self.sink = sink
        self.max_call_s = max_call_s
        self.stats = CallStats()
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.vad = Vad(speech.vad_aggressiveness, speech.vad_params)
        self._out: deque[bytes] = deque()
        self._pending = b""
        self._hung_up = asyncio.Event()
        self._wake = asyncio.Event()
        self._last_rx = self.t0
        self._playing = False
        self._barge_allowed = False
        self._barged = False
        self._listening = False
        self._dtmf: DtmfCollector | None = None
        self._early_digits: list[str] = []
        self._speech_started_at: float | None = None
        self._speech_ended = False
        self._input_end_at: float | None = None
        self._first_frame_at: float | None = None
        self._hints: list[str] | None = None
        self._utterance: _Utterance | None = None
        self._asr_buf = bytearray()
        self._last_say_started: float | None = None
        self._resamplers: dict[int, LineResampler] = {}
        self._awaiting_audio = False
        self.stalled = False
        """The peer stopped reading and the connection was aborted."""

    # -- clock ------------------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the call was answered (the engine's ``at``)."""
        return self.loop.time() - self.t0

    # -- network tasks ------------------------------------------------------------------------------
    async def _receive(self) -> None:
        try:
            while True:
                packet = await read_packet(self.reader)
                if packet is None or packet.kind in (Kind.HANGUP, Kind.ERROR):
                    if packet is not None and packet.kind is Kind.ERROR:
                        log.warning("AudioSocket error packet from Asterisk: %r", packet.payload[:16])
                    break
                if packet.kind is Kind.AUDIO:
                    self._last_rx = self.loop.time()  # real audio flows: the sender stops filling
                    if not self._pending and len(packet.payload) == FRAME_BYTES:
                        self._caller_frame(packet.payload)  # the usual case: one whole frame, no copy
                        continue
                    self._caller_audio(packet.payload)
                elif packet.rate is not None:
                    self._last_rx = self.loop.time()
                    self._caller_audio(self._to_line_rate(packet))
                elif packet.kind is Kind.DTMF:
                    self._digit(packet.digit)
        except (ProtocolError, ConnectionError, OSError) as exc:
            log.info("media connection ended: %s", exc)
        finally:
            self._hung_up.set()
            self._wake.set()

    async def _send(self) -> None:
        """One frame every 20 ms on a fixed schedule, bot audio or silence."""
        next_at = self.loop.time()
        try:
            while not self._hung_up.is_set():
                now = self.loop.time()
                if now - next_at > UNDERRUN_BUDGET_S:
                    if self._out:
                        self.stats.underruns += 1
                    next_at = now  # resynchronise rather than burst
                if self._out:
                    packet = audio_packet(self._out.popleft())
                    if self._first_frame_at is None:
                        self._first_frame_at = now
                else:
                    packet = SILENT_PACKET
                    if self._playing:
                        if self._awaiting_audio and self._first_frame_at is not None:
                            self.stats.starved_frames += 1
                        self._wake.set()  # playback drained
                self.writer.write(packet)
                self.stats.frames_sent += 1
                if now - self._last_rx > GAP_FILL_S:
                    self._caller_frame(SILENT_FRAME, filler=True)  # one 20 ms frame per 20 ms tick
                if self._dtmf is not None and self._dtmf.expired(self.now()):
                    self._wake.set()
                next_at += TICK_S
                await asyncio.sleep(max(0.0, next_at - self.loop.time()))
                if self.writer.transport.get_write_buffer_size() > 64 * FRAME_BYTES:
                    try:
                        await asyncio.wait_for(self.writer.drain(), WRITE_DEADLINE_S)
                    except TimeoutError:
                        log.warning("media peer stopped reading for %.0f s; connection aborted", WRITE_DEADLINE_S)
                        self.stalled = True
                        self.writer.transport.abort()
                        return
        except (ConnectionError, OSError):
            pass
        finally:
            # Whatever stopped the sender, nobody may wait for audio that will never drain.
            self._hung_up.set()
            self._wake.set()

    # -- caller input -----------------------------------------------------------------------------------
    def _caller_audio(self, pcm: bytes) -> None:
        """8 kHz caller audio of any length: cut into 20 ms frames, the remainder kept for the next packet."""
        data = self._pending + pcm
        usable = len(data) - len(data) % FRAME_BYTES
        self._pending = data[usable:]
        for i in range(0, usable, FRAME_BYTES):
            self._caller_frame(data[i : i + FRAME_BYTES])

    def _to_line_rate(self, packet: Packet) -> bytes:
        """A wideband packet (slin12 ... slin192) resampled to 8 kHz; one streaming resampler per rate."""
        rate = packet.rate
        assert rate is not None
        resampler = self._resamplers.get(rate)
        if resampler is None:
            log.info("caller audio at %d Hz; resampled to %d Hz", rate, LINE_RATE)
            resampler = self._resamplers[rate] = LineResampler(rate)
        return resampler.feed(packet.payload)

    def _caller_frame(self, frame: bytes, filler: bool = False) -> None:
        if not filler:
            self.stats.frames_received += 1
        step = self.vad.process(frame, playing=self._playing)
        for ev in step.events:
            if ev.kind is VadEventKind.SPEECH_START:
                if self._playing and not (self._barge_allowed and self.speech.barge_in):
                    continue
                if self._playing:
                    self._barge_in()
                if self._listening or self._barged:
                    self._speech_started_at = self.now()
                    self._wake.set()
            elif ev.kind is VadEventKind.SPEECH_END and self._speech_started_at is not None:
                self._speech_ended = True
                self._input_end_at = self.loop.time()
                self._wake.set()
        if self._speech_started_at is not None and self.speech.asr is not None:
            for pcm in step.to_asr:
                self._asr_buf += pcm
            if len(self._asr_buf) >= ASR_BATCH_BYTES:
                self._submit_asr()
            elif self.vad.tail_sent and (self._asr_buf or self._utterance is not None):
                # The speaker has stopped: hand over the tail now and make this utterance urgent, so its
                # decode is done by the end of the end-of-utterance wait.
                self._submit_asr()
                if self._utterance is not None:
                    self._utterance.stopped()

    def _digit(self, digit: str) -> None:
        if self._playing:
            if not self._barge_allowed:
                # This prompt must be heard whole (e.g. the recording notice): keep the key for the question.
                self._early_digits.append(digit)
                return
            self._barge_in()
        if self._dtmf is not None:
            if self._dtmf.press(digit, self.now()):
                self._input_end_at = self.loop.time()
            self._wake.set()
        else:
            self._early_digits.append(digit)

    def _barge_in(self) -> None:
        self._out.clear()
        self._barged = True
        self._playing = False
        self._wake.set()

    # -- recognizer -------------------------------------------------------------------------------------
    def _submit_asr(self) -> None:
        """Queue the buffered speech for this utterance's recognizer (in the shared ASR pool)."""
        asr = self.speech.asr
        if asr is None or not self._asr_buf:
            return
        if self._utterance is None:
            self._utterance = _Utterance(asr, self._hints, self.speech.asr_pool, self.loop)
        self._utterance.feed(bytes(self._asr_buf))
        self.stats.asr_bytes += len(self._asr_buf)
        self._asr_buf.clear()

    async def _finish_asr(self) -> tuple[str, float]:
        self._submit_asr()
        utterance = self._utterance
        if utterance is None:
            return "", 0.0
        return await utterance.finish()

    # -- playback ----------------------------------------------------------------------------------------
    def _pieces(self, say: Say) -> Generator[bytes | Callable[[], bytes | None], None, None]:
        """One Say's audio as it becomes available: bytes ready now, or a job for the TTS pool that returns
        the next bytes (None: no more). The text is prepared exactly as ``ivr prompts render`` prepares it.

        With the sentence cache, hits are read here, on the event loop (a file of a few tens of kB from the
        page cache): a cached reply never queues behind synthesis jobs, so the first audio of a call and a
        static reply start at once however busy the TTS pool is. Only missing sentences become jobs.
        """
        text = prepare_text(say.tts or say.text)
        tts = self.speech.tts
        if isinstance(tts, CachedTts):
            for words, pause_ms in speech_pieces(text):
                for sentence in split_sentences(words):
                    hit = tts.lookup(sentence)
                    yield hit if hit is not None else functools.partial(tts.render_sentence, sentence)
                if pause_ms:
                    yield silence(pause_ms)
            return
        chunks = tts.synthesize(text)
        try:
            while True:
                yield functools.partial(next, chunks, None)
        finally:
            close = getattr(chunks, "close", None)  # a generator: stop the engine's work (barge-in)
            if close is not None:
                try:
                    close()
                except ValueError:  # still running in the pool (the call was cancelled): it ends by itself
                    pass

    async def _play(self, say: Say) -> float | None:
        """Play one prompt; returns the call time its first frame went out, or None if interrupted first."""
        self._playing = True
        self._barge_allowed = say.barge_in
        self._first_frame_at = None
        pieces = self._pieces(say)
        carry = b""
        try:
            for piece in pieces:
                if self._hung_up.is_set() or self._barged:
                    break
                if callable(piece):
                    # The caller hears a gap unless this audio comes before the buffered audio runs out.
                    level = Level.WAITED if len(self._out) < WAITED_BUFFER_FRAMES else Level.STREAMING
                    self._awaiting_audio = True
                    try:
                        audio = await asyncio.wrap_future(submit(self.speech.tts_pool, Urgency(level), piece))
                    finally:
                        self._awaiting_audio = False
                    if audio is None or self._barged:
                        break
                else:
                    audio = piece
                carry = self._enqueue(carry + audio)
            if say.pause_after_ms and not self._barged:
                carry = self._enqueue(carry + silence(say.pause_after_ms))
        finally:
            pieces.close()
        if carry and not self._barged:
            # Pad the last frame: a short frame would play at the wrong pace.
            self._out.append(carry.ljust(FRAME_BYTES, b"\0"))
        while self._out and not self._hung_up.is_set() and not self._barged:
            self._wake.clear()
            await self._wake.wait()
        self._playing = False
        first = self._first_frame_at
        return None if first is None else first - self.t0

    def _enqueue(self, data: bytes) -> bytes:
        """Queue whole 20 ms frames of ``data`` for the sender; returns the remainder (under one frame)."""
        usable = len(data) - len(data) % FRAME_BYTES
        for i in range(0, usable, FRAME_BYTES):
            self._out.append(data[i : i + FRAME_BYTES])
        return data[usable:]

    # -- listening ----------------------------------------------------------------------------------------
    async def _listen(self, listen: Listen) -> Event:
        loop = self.loop
        self._dtmf = DtmfCollector(listen.max_digits, listen.terminator)
        for d in self._early_digits:
            self._dtmf.press(d, self.now())
        self._early_digits.clear()
        self._hints = listen.hints or None
        self._listening = True
        self.vad.reset_timeout()
        deadline = loop.time() + listen.timeout_s
        try:
            while True:
                if self._hung_up.is_set():
                    raise _Hangup
                if self._dtmf.complete or self._dtmf.expired(self.now()):
                    self._input_end_at = self._input_end_at or loop.time()
                    return Digit(self._dtmf.digits, self.now())
                if self._speech_ended:
                    text, confidence = await self._finish_asr()
                    return Heard(text, confidence, self.now())
                if self._speech_started_at is not None:
                    deadline = max(deadline, loop.time() + 1.0)
                    if loop.time() - self.t0 - self._speech_started_at > MAX_UTTERANCE_S:
                        self._input_end_at = loop.time()
                        text, confidence = await self._finish_asr()
                        return Heard(text, confidence, self.now())
                elif not self._dtmf.digits and loop.time() >= deadline:
                    self._input_end_at = loop.time()
                    return NoInput(self.now())
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.1)
                except TimeoutError:
                    pass
        finally:
            self._listening = False
            self._barged = False
            self._speech_started_at = None
            self._speech_ended = False
            self._dtmf = None
            self._utterance = None
            self._asr_buf.clear()

    # -- the call -------------------------------------------------------------------------------------------
    async def run(self) -> CallEnd:
        receiver = asyncio.create_task(self._receive())
        sender = asyncio.create_task(self._send())
        outcome: RecordOutcome | None = None
        transfer: Transfer | None = None
        hung_up = False
        try:
            async with asyncio.timeout(self.max_call_s):
                actions = self.engine.handle(CallStarted(self.now()))
                while actions:
                    event: Event | None = None
                    question = next((a for a in actions if isinstance(a, Listen)), None)
                    if question is not None:
                        self._hints = question.hints or None  # for barge-in during the prompts
                    # The prompts after the first one of this turn render while it plays: no gap between them.
                    prefetch(self.speech, [a for a in actions if isinstance(a, Say)][1:], Level.STREAMING)
                    for action in actions:
                        if isinstance(action, Say):
                            if self._barged:
                                continue  # the caller interrupted: the rest of this turn is not played
                            started = await self._play(action)
                            if started is not None and self.stats.answer_to_first_audio_ms is None:
                                self.stats.answer_to_first_audio_ms = started * 1000
                            self._last_say_started = started
                        elif isinstance(action, RecordTurn):
                            await self._record_turn(action)
                        elif isinstance(action, RecordOutcome):
                            outcome = action
                            await self._store(action, {})
                        elif isinstance(action, Listen):
                            event = await self._listen(action)
                        elif isinstance(action, Transfer):
                            transfer = action
                        elif isinstance(action, HangUp):
                            wait = action.not_before_s - self.now()
                            if wait > 0:
                                # Anatel: no answered call shorter than 6 s; keep the line open politely.
                                await self._sleep(wait)
                        if self._hung_up.is_set():
                            raise _Hangup
                    if event is None:
                        break
                    actions = self.engine.handle(event)
        except _Hangup:
            hung_up = True
            outcome = await self._finish(outcome)
        except TimeoutError:
            log.warning("call exceeded %.0f s; ending it", self.max_call_s)
            outcome = await self._finish(outcome)
        except Exception as exc:  # a speech engine or the dialog failed: end the call, keep what was decided
            log.error("call ended by an internal error: %s: %s", type(exc).__name__, exc)
            outcome = await self._finish(outcome)
        finally:
            sender.cancel()
            await self._close()
            receiver.cancel()
            for result in await asyncio.gather(receiver, sender, return_exceptions=True):
                if isinstance(result, Exception):
                    log.error("media task failed: %s: %s", type(result).__name__, result)
        return CallEnd(outcome, transfer, hung_up, self.stats)

    async def _finish(self, stored: RecordOutcome | None) -> RecordOutcome | None:
        """The call ends early: let the engine conclude, and store its outcome if not stored yet.

        The engine decides the outcome before its closing prompt (e.g. an opt-out confirmation); a caller who
        hangs up during that prompt must not lose it.
        """
        for action in self.engine.handle(HungUp(self.now())):
            if isinstance(action, RecordOutcome) and stored is None:
                stored = action
                await self._store(action, {})
            elif isinstance(action, RecordTurn):
                await self._record_turn(action)
        decided = getattr(self.engine, "outcome", None)
        if stored is None and isinstance(decided, RecordOutcome):
            stored = decided
            await self._store(decided, {})
        return stored

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._hung_up.wait(), seconds)
        except TimeoutError:
            pass

    async def _record_turn(self, turn: RecordTurn) -> None:
        details: dict[str, Any] = {"at": self.now()}
        if turn.speaker == "bot" and self._input_end_at is not None and self._last_say_started is not None:
            latency = (self._last_say_started + self.t0 - self._input_end_at) * 1000
            if latency >= 0:
                details["latency_ms"] = latency
                self.stats.turn_latencies_ms.append(latency)
            self._input_end_at = None
        await self._store(turn, details)

    async def _store(self, action: Action, details: dict[str, Any]) -> None:
        self.sink(action, details)

    async def _close(self) -> None:
        """End the media leg: Asterisk's AudioSocket() returns and the AGI script continues."""
        await close_writer(self.writer)


async def close_writer(writer: asyncio.StreamWriter, timeout: float = 2.0) -> None:
    """Close a connection; if its unsent data is not taken within ``timeout`` seconds (a peer that stopped
    reading), abort it: ``close()`` alone keeps the socket open as long as data is queued."""
    try:
        if not writer.is_closing():
            writer.close()
        await asyncio.wait_for(writer.wait_closed(), timeout)
    except TimeoutError:
        writer.transport.abort()
    except (ConnectionError, OSError):
        pass


def prefetch(speech: Speech, says: list[Say], level: Level = Level.PREFETCH) -> list[Future[bytes]]:
    """Queue the rendering of ``says`` into the TTS cache at ``level``, one job per sentence not cached yet
    (prepared exactly as playback prepares them, so playback hits; kept in memory, never on disk, see
    ``CachedTts``). One job per sentence, so a prefetch never holds a worker for a whole prompt. Errors
    surface at playback."""
    tts = speech.tts
    if not isinstance(tts, CachedTts):
        return []
    futures = []
    seen: set[str] = set()
    for say in says:
        for sentence in tts.sentences(prepare_text(say.tts or say.text)):
            if sentence in seen or tts.is_cached(sentence):
                continue
            seen.add(sentence)
            futures.append(submit(speech.tts_pool, Urgency(level), tts.render_sentence, sentence))
    return futures
