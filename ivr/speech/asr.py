"""Streaming recognition with Vosk: one ``Model`` per process, one recognizer per call at 8 kHz.

Audio is fed as it arrives (20 ms frames); the recognizer reports partial results while the caller
speaks and segment finals when Vosk closes a segment; ``finish()`` returns the whole utterance,
which the caller asks for when the VAD says the utterance ended. Results are plain text for the NLU.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ivr import metrics
from ivr.errors import ModelMissingError
from ivr.speech.audio import SAMPLE_RATE

log = logging.getLogger(__name__)

UNK = "[unk]"


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    """Seconds from the first audio fed to this recognizer."""
    end: float
    """Seconds."""
    conf: float
    """0..1."""


@dataclass(frozen=True)
class AsrResult:
    text: str
    confidence: float
    """Mean word confidence, 0..1; 0 when Vosk gave no words."""
    final: bool
    words: tuple[Word, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.text


def _words(items: Sequence[dict[str, Any]] | None) -> tuple[Word, ...]:
    return tuple(
        Word(str(w.get("word", "")), float(w.get("start", 0.0)), float(w.get("end", 0.0)), float(w.get("conf", 0.0)))
        for w in items or ()
    )


def _clean(text: str) -> str:
    # "[unk]" is the grammar's garbage word: it is not something the caller said.
    return " ".join(t for t in text.split() if t != UNK)


def _result(raw: str, final: bool) -> AsrResult:
    data = json.loads(raw)
    if final:
        words = tuple(w for w in _words(data.get("result")) if w.word != UNK)
        text = _clean(data.get("text", ""))
    else:
        words = tuple(w for w in _words(data.get("partial_result")) if w.word != UNK)
        text = _clean(data.get("partial", ""))
    conf = sum(w.conf for w in words) / len(words) if words else 0.0
    return AsrResult(text=text, confidence=round(conf, 4), final=final, words=words)


class Recognizer:
    """One call's recognizer. Not thread-safe itself: one per call, used by that call's thread."""

    def __init__(self, kaldi: Any, grammar: list[str] | None) -> None:
        self._rec = kaldi
        self.grammar = grammar
        """Phrases actually in effect (after dropping out-of-vocabulary ones), or None for free speech."""
        self._segments: list[AsrResult] = []
        self._last_partial = ""
        self._busy_s = self._audio_bytes = 0.0  # for the real-time factor metric

    def feed(self, frame: bytes) -> AsrResult | None:
        """Feed 8 kHz s16le audio. Returns a partial when its text changed, a final when Vosk closed a segment."""
        if self._rec.AcceptWaveform(frame):
            res = _result(self._rec.Result(), final=True)
            self._last_partial = ""
            if res.text:
                self._segments.append(res)
                return res
            return None
        partial = _result(self._rec.PartialResult(), final=False)
        if partial.text and partial.text != self._last_partial:
            self._last_partial = partial.text
            return partial
        return None

    def accept(self, pcm: bytes) -> None:
        """Like ``feed`` without partial results: the call service only wants the final text, and a
        partial costs a lattice search per call."""
        started = time.perf_counter()
        if self._rec.AcceptWaveform(pcm):
            res = _result(self._rec.Result(), final=True)
            if res.text:
                self._segments.append(res)
        self._busy_s, self._audio_bytes = self._busy_s + time.perf_counter() - started, self._audio_bytes + len(pcm)

    def finish(self) -> AsrResult:
        """The utterance so far (all segments plus the tail), final; the recognizer is ready for the next one."""
        tail = _result(self._rec.FinalResult(), final=True)
        parts = [*self._segments, tail] if tail.text else list(self._segments)
        self._segments = []
        self._last_partial = ""
        words = tuple(w for p in parts for w in p.words)
        conf = sum(w.conf for w in words) / len(words) if words else 0.0
        if self._audio_bytes:  # 8 kHz s16le: 16000 bytes a second
            metrics.ASR_REALTIME_FACTOR.observe(self._busy_s / (self._audio_bytes / 16000))
            self._busy_s = self._audio_bytes = 0.0
        return AsrResult(" ".join(p.text for p in parts), round(conf, 4), True, words)


@dataclass
class AsrModel:
    """A Vosk model loaded once per process (``start``) and shared by every call's recognizer."""

    path: Path
    sample_rate: int = SAMPLE_RATE
    fetch_hint: str = "ivr models download vosk-model-small-pt-0.3"
    _model: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _oov_warned: set[str] = field(default_factory=set, init=False, repr=False)
    _grammars: dict[tuple[str, ...], list[str] | None] = field(default_factory=dict, init=False, repr=False)
    """usable_grammar per phrase list: questions repeat, and the vocabulary checks (and warnings) need not."""

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def started(self) -> bool:
        return self._model is not None

    def start(self) -> None:
        """Load the model (a few seconds); idempotent and safe to call from several threads."""
        with self._lock:
            if self._model is not None:
                return
            if not (self.path / "am" / "final.mdl").is_file() and not (self.path / "final.mdl").is_file():
                raise ModelMissingError(f"Vosk model not found at {self.path} (fetch it with: {self.fetch_hint})")
            import vosk

            vosk.SetLogLevel(-1)  # Kaldi's stderr chatter would drown the service log
            try:
                self._model = vosk.Model(str(self.path))
            except Exception as exc:  # vosk raises a bare Exception
                raise ModelMissingError(
                    f"Vosk model at {self.path} could not be loaded ({exc}); re-fetch it with: {self.fetch_hint}"
                ) from None
            log.info("Vosk model loaded from %s", self.path)

    def knows(self, word: str) -> bool:
        """Whether ``word`` is in the model's vocabulary (grammars may only use such words)."""
        self._require()
        return bool(self._model.vosk_model_find_word(word) >= 0)

    def usable_grammar(self, phrases: Sequence[str]) -> list[str] | None:
        """Phrases whose every word the model knows, plus "[unk]"; None when none survive.

        Vosk would silently mis-handle out-of-vocabulary grammar words, so they are dropped here and
        logged once per word; with nothing left the recognizer listens freely instead.
        """
        kept: list[str] = []
        for phrase in phrases:
            words = phrase.lower().split()
            missing = [w for w in words if not self.knows(w)]
            if not words:
                continue
            if missing:
                new = [w for w in missing if w not in self._oov_warned]
                if new:
                    self._oov_warned.update(new)
                    log.warning("grammar words not in the Vosk vocabulary, phrase dropped: %s", ", ".join(new))
                continue
            if " ".join(words) not in kept:
                kept.append(" ".join(words))
        if not kept:
            if phrases:
                log.warning("no grammar phrase is in the Vosk vocabulary; listening without a phrase list")
            return None
        # "[unk]" absorbs out-of-grammar speech; only models that have it in their lexicon accept it.
        return [*kept, UNK] if self.knows(UNK) else kept

    def recognizer(self, grammar: Sequence[str] | None = None) -> Recognizer:
        """A fresh recognizer for one call (or one question when ``grammar`` is given)."""
        self._require()
        import vosk

        phrases = None
        if grammar:
            key = tuple(grammar)
            if key not in self._grammars:
                self._grammars[key] = self.usable_grammar(grammar)
            phrases = self._grammars[key]
        if phrases is not None:
            kaldi = vosk.KaldiRecognizer(self._model, float(self.sample_rate), json.dumps(phrases, ensure_ascii=False))
        else:
            kaldi = vosk.KaldiRecognizer(self._model, float(self.sample_rate))
        kaldi.SetWords(True)
        kaldi.SetPartialWords(True)
        return Recognizer(kaldi, phrases)

    def _require(self) -> None:
        if self._model is None:
            raise RuntimeError("AsrModel.start() must be called before use")


def recognize_pcm(
    model: AsrModel, pcm: bytes, grammar: Sequence[str] | None = None, frame_bytes: int = 320
) -> AsrResult:
    """Whole-buffer helper (``ivr listen``, tests): feed in 20 ms frames, return the utterance."""
    rec = model.recognizer(grammar)
    for start in range(0, len(pcm), frame_bytes):
        rec.feed(pcm[start : start + frame_bytes])
    return rec.finish()
