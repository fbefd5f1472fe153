"""Voice activity on the caller's 8 kHz audio: webrtcvad per 20 ms frame plus a pure endpointer.

The endpointer (``UtteranceDetector``) decides when speech starts and ends with hysteresis (start:
N consecutive voiced, loud enough, not noise-flat frames; end: trailing silence), is
stricter while the bot is playing (so line noise and the bot's own echo are not a barge-in), and
reports a silence timeout. It takes frame decisions and times in milliseconds, so it is tested
without audio. ``Vad`` wires it to webrtcvad and gates which frames reach the recognizer.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

import webrtcvad

from ivr.config import Settings
from ivr.speech.audio import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, level_dbfs, spectral_flatness


class VadEventKind(str, Enum):
    SPEECH_START = "speech_start"
    """Speech began; ``barge_in`` is true when it began while the bot was playing."""
    SPEECH_END = "speech_end"
    """Trailing silence reached ``end_silence_ms``: the utterance is over."""
    SILENCE_TIMEOUT = "silence_timeout"
    """No speech for ``silence_timeout_ms`` while listening."""


@dataclass(frozen=True)
class VadEvent:
    kind: VadEventKind
    t_ms: int
    """Audio time of the event, milliseconds from the first frame."""
    barge_in: bool = False


@dataclass(frozen=True)
class VadParams:
    start_frames: int = 3
    """Consecutive voiced frames (20 ms each) that open speech while listening."""
    start_frames_playing: int = 8
    """Same while the bot plays: 160 ms, so clicks and short echo bursts do not interrupt it."""
    energy_floor_dbfs: float = -48.0
    """A voiced frame must also be this loud; webrtcvad alone fires on some steady noise."""
    energy_floor_playing_dbfs: float = -36.0
    """Louder floor during playback: echo of the bot comes back attenuated."""
    max_flatness: float = 0.35
    """Frames that open speech must be this far from flat noise (see ``spectral_flatness``)."""
    hold_margin_db: float = 8.0
    """Once in speech, frames down to floor minus this still count (hysteresis: soft word endings)."""
    end_silence_ms: int = 700
    """Trailing silence that ends an utterance."""
    silence_timeout_ms: int = 6000
    """No speech this long while listening (not playing) → SILENCE_TIMEOUT, once per quiet period."""
    pre_roll_ms: int = 200
    """Audio kept from before the speech start and handed to the recognizer, so word onsets are heard."""
    asr_tail_ms: int = 300
    """Trailing silence after the last voiced frame that still goes to the recognizer (soft word endings).
    The rest of the end-of-utterance wait is not decoded: decoding it cost as much CPU as speech and was
    the last work between the caller's end of speech and the bot's reply."""


class UtteranceDetector:
    """Pure endpointer state machine driven by per-frame decisions with times in milliseconds."""

    def __init__(self, params: VadParams | None = None) -> None:
        self.params = params or VadParams()
        self.in_speech = False
        self._run = 0
        self._run_start = 0
        self._last_voiced = 0
        self._quiet_since: int | None = None
        self._timed_out = False
        self._was_playing = False

    @property
    def last_voiced_ms(self) -> int:
        """Start time (ms) of the last frame that kept the utterance going (0 before any speech)."""
        return self._last_voiced

    def reset_timeout(self, t_ms: int) -> None:
        """Restart the silence clock, e.g. when the dialog starts a new question."""
        self._quiet_since = t_ms
        self._timed_out = False

    def step(
        self, voiced: bool, level: float, t_ms: int, playing: bool = False, flatness: float = 0.0
    ) -> list[VadEvent]:
        """One frame starting at ``t_ms``: webrtcvad's decision, its level in dBFS and spectral flatness."""
        p = self.params
        events: list[VadEvent] = []
        if self._quiet_since is None or (self._was_playing and not playing):
            # Listening starts at the first frame, and again when playback stops.
            self._quiet_since = t_ms
            self._timed_out = False
        self._was_playing = playing

        floor = p.energy_floor_playing_dbfs if playing else p.energy_floor_dbfs
        if self.in_speech:
            if voiced and level >= floor - p.hold_margin_db:
                self._last_voiced = t_ms
            elif (
                t_ms - self._last_voiced >= p.end_silence_ms
            ):  # silence from the end of the last voiced frame through this one
                self.in_speech = False
                self._run = 0
                self._quiet_since = t_ms
                self._timed_out = False
                events.append(VadEvent(VadEventKind.SPEECH_END, t_ms))
            return events

        if voiced and level >= floor and flatness <= p.max_flatness:
            if self._run == 0:
                self._run_start = t_ms
            self._run += 1
        else:
            self._run = 0
        needed = p.start_frames_playing if playing else p.start_frames
        if self._run >= needed:
            self.in_speech = True
            self._last_voiced = t_ms
            self._run = 0
            events.append(VadEvent(VadEventKind.SPEECH_START, self._run_start, barge_in=playing))
            return events

        if not playing and not self._timed_out and t_ms + FRAME_MS - self._quiet_since >= p.silence_timeout_ms:
            self._timed_out = True
            events.append(VadEvent(VadEventKind.SILENCE_TIMEOUT, t_ms + FRAME_MS))
        return events


@dataclass
class VadStep:
    """What one frame produced: endpointer events and the frames to feed the recognizer now."""

    events: list[VadEvent] = field(default_factory=list)
    to_asr: list[bytes] = field(default_factory=list)

    @property
    def barge_in(self) -> bool:
        return any(e.kind is VadEventKind.SPEECH_START and e.barge_in for e in self.events)

    @property
    def speech_end(self) -> bool:
        return any(e.kind is VadEventKind.SPEECH_END for e in self.events)


class Vad:
    """webrtcvad + endpointer for one call. Clock is audio time: 20 ms per processed frame.

    Two webrtcvad instances: the configured aggressiveness while listening and the most aggressive
    mode (3) while the bot plays, so barge-in needs clearer speech than a normal answer does.
    """

    def __init__(self, aggressiveness: int = 2, params: VadParams | None = None) -> None:
        if not 0 <= aggressiveness <= 3:
            raise ValueError("VAD aggressiveness must be 0..3")
        self._listen = webrtcvad.Vad(aggressiveness)
        self._playing = webrtcvad.Vad(3)
        self.detector = UtteranceDetector(params)
        self._t_ms = 0
        p = self.detector.params
        # The frames that opened speech are in the pre-roll too, so it must hold at least those.
        keep = max(p.pre_roll_ms // FRAME_MS, p.start_frames, p.start_frames_playing) + 1
        self._pre_roll: deque[bytes] = deque(maxlen=keep)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vad:
        """Aggressiveness and end-of-utterance from ``[speech]``, silence timeout from ``[service]``."""
        params = VadParams(
            end_silence_ms=settings.speech.end_of_utterance_ms,
            silence_timeout_ms=int(settings.service.silence_timeout_seconds * 1000),
        )
        return cls(settings.speech.vad_aggressiveness, params)

    @property
    def t_ms(self) -> int:
        return self._t_ms

    @property
    def in_speech(self) -> bool:
        return self.detector.in_speech

    @property
    def tail_sent(self) -> bool:
        """In speech, and the short tail of trailing silence the recognizer gets has been handed out: what
        follows is the end-of-utterance wait, and the speaker has most likely stopped."""
        d = self.detector
        return d.in_speech and self._t_ms - FRAME_MS - d.last_voiced_ms > d.params.asr_tail_ms

    def reset_timeout(self) -> None:
        self.detector.reset_timeout(self._t_ms)

    def is_voiced(self, frame: bytes, playing: bool = False) -> bool:
        vad = self._playing if playing else self._listen
        return vad.is_speech(frame, SAMPLE_RATE)

    def process(self, frame: bytes, playing: bool = False) -> VadStep:
        """One 20 ms frame (320 bytes) of caller audio."""
        if len(frame) != FRAME_BYTES:
            raise ValueError(f"VAD needs {FRAME_BYTES}-byte frames, got {len(frame)}")
        t = self._t_ms
        self._t_ms += FRAME_MS
        was_speech = self.detector.in_speech
        level = level_dbfs(frame)
        voiced = self.is_voiced(frame, playing)
        # Flatness only matters for opening speech; skip the FFT otherwise.
        flat = spectral_flatness(frame) if voiced and not self.detector.in_speech else 0.0
        events = self.detector.step(voiced, level, t, playing, flat)
        step = VadStep(events=events)
        if self.detector.in_speech and not was_speech:
            step.to_asr.extend(self._pre_roll)
            step.to_asr.append(frame)
            self._pre_roll.clear()
        elif was_speech:
            # A short tail of trailing silence goes to the recognizer too (word endings); FinalResult
            # flushes the decoder, so the rest of the end-of-utterance silence need not be decoded.
            if t - self.detector.last_voiced_ms <= self.detector.params.asr_tail_ms:
                step.to_asr.append(frame)
        else:
            self._pre_roll.append(frame)
        return step
