"""Text to telephone audio: Piper (default) or espeak-ng (fallback) behind one interface, plus a disk cache.

Every engine yields 8 kHz s16le mono PCM chunks, one or more per sentence, so playback can begin
before a long prompt is fully synthesized. Models load in ``start()``, never on construction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator

from ivr import metrics
from ivr.config import Settings
from ivr.errors import ConfigError, ModelMissingError
from ivr.language.prompts import split_pauses
from ivr.language.verbalize import verbalize
from ivr.speech.audio import SAMPLE_RATE, StreamResampler, atomic_write, parse_wav_stream_header, pcm_to_float, silence

log = logging.getLogger(__name__)

AUDIO_FORMAT = "s16le-8000-mono"
"""Part of every cache key: what the cached bytes are."""

MEMORY_CACHE_BYTES = 64 * 2**20
"""In-memory tier of the TTS cache per process: about 70 minutes of 8 kHz audio, some thousands of sentences."""
INFLIGHT_WAIT_S = 10.0
"""Seconds a thread waits for another thread's rendering of the same sentence before making its own."""

_SENTENCE_END = re.compile(r"(?<=[.!?;:…])\s+")


def speech_pieces(text: str) -> list[tuple[str, int]]:
    """Catalog text as (words, pause after in ms): ``<pause>`` markers become silence, never speech."""
    return split_pauses(text)


def prepare_text(text: str) -> str:
    """Verbalize (numbers, R$, dates → words) the words between ``<pause>`` markers, keeping the markers.

    ``ivr prompts render`` caches audio under this text; callers use it too so their lookups hit.
    "<pause 600>" must stay a marker, not become "seiscentos", hence per piece.
    """
    pieces = speech_pieces(text)
    if len(pieces) == 1 and not pieces[0][1]:
        return verbalize(text)
    return " ".join(f"{verbalize(words)} <pause {ms}>" if ms else verbalize(words) for words, ms in pieces)


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation followed by space; keeps the punctuation (it shapes prosody)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


class TtsEngine(ABC):
    """Text (already verbalized) → 8 kHz s16le mono PCM chunks."""

    name: str = "tts"

    @property
    @abstractmethod
    def voice_id(self) -> str:
        """Identifies the voice and its settings; changes when the audio would change (cache key)."""

    @abstractmethod
    def start(self) -> None:
        """Load the model or check the program; idempotent."""

    def synthesize(self, text: str) -> Iterator[bytes]:
        """Yield PCM chunks as soon as each is ready (at least one per sentence; pauses as silence)."""
        for words, pause_ms in speech_pieces(text):
            sentences = split_sentences(words)
            if sentences:
                yield from self._render(sentences)
            if pause_ms:
                yield silence(pause_ms)

    def _render(self, sentences: list[str]) -> Iterator[bytes]:
        """The engine's own work: sentences (no markup) → PCM chunks."""
        raise NotImplementedError

    def synthesize_all(self, text: str) -> bytes:
        return b"".join(self.synthesize(text))


class PiperEngine(TtsEngine):
    """A Piper voice, loaded once and shared by all calls of the process.

    Sharing is safe without a lock: onnxruntime documents ``InferenceSession.run`` as callable from
    several threads at once, and piper guards its one global espeak phonemizer with its own lock
    (piper/voice.py ``_ESPEAK_PHONEMIZER_LOCK``). Each call owns its resampler state.
    """

    name = "piper"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        config_path: str | os.PathLike[str] | None = None,
        length_scale: float | None = None,
        intra_op_threads: int = 1,
        fetch_hint: str = "ivr models download pt_BR-faber-medium",
    ) -> None:
        self.model_path = Path(model_path)
        self.config_path = Path(config_path) if config_path else Path(f"{self.model_path}.json")
        self.length_scale = length_scale
        self.intra_op_threads = intra_op_threads
        self.fetch_hint = fetch_hint
        self._voice: Any = None
        self._lock = threading.Lock()

    @property
    def voice_id(self) -> str:
        size = self.model_path.stat().st_size if self.model_path.exists() else 0
        return f"piper:{self.model_path.stem}:{size}:{self.length_scale or 'default'}"

    @property
    def sample_rate(self) -> int:
        return int(self._require().config.sample_rate)

    def start(self) -> None:
        with self._lock:
            if self._voice is not None:
                return
            for path in (self.model_path, self.config_path):
                if not path.is_file():
                    raise ModelMissingError(f"Piper voice file not found: {path} (fetch it with: {self.fetch_hint})")
            import json

            import onnxruntime
            from piper import PiperConfig, PiperVoice

            opts = onnxruntime.SessionOptions()
            # One intra-op thread per synthesis: concurrent calls scale across cores instead of
            # every call fighting for all of them.
            opts.intra_op_num_threads = self.intra_op_threads
            config = PiperConfig.from_dict(json.loads(self.config_path.read_text(encoding="utf-8")))
            session = onnxruntime.InferenceSession(
                str(self.model_path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            self._voice = PiperVoice(session=session, config=config)
            log.info("Piper voice loaded: %s", self.model_path.name)

    def _require(self) -> Any:
        if self._voice is None:
            raise RuntimeError("PiperEngine.start() must be called before use")
        return self._voice

    def _render(self, sentences: list[str]) -> Iterator[bytes]:
        voice = self._require()
        from piper import SynthesisConfig

        syn = SynthesisConfig(length_scale=self.length_scale)
        resampler = StreamResampler(int(voice.config.sample_rate), SAMPLE_RATE)
        # Piper phonemizes the whole text, then runs the network sentence by sentence lazily:
        # the first sentence's audio is yielded before the rest is synthesized.
        for sentence in sentences:
            for chunk in voice.synthesize(sentence, syn_config=syn):
                pcm = resampler.push(chunk.audio_float_array)
                if pcm:
                    yield pcm
        tail = resampler.flush()
        if tail:
            yield tail


class EspeakEngine(TtsEngine):
    """``espeak-ng -v pt-br`` in a subprocess per sentence: robotic but always available."""

    name = "espeak"

    def __init__(self, voice: str = "pt-br", speed: int = 160, program: str = "espeak-ng") -> None:
        self.voice = voice
        self.speed = speed
        self.program = program
        self._exe: str | None = None
        self._version = ""

    @property
    def voice_id(self) -> str:
        # The version is part of the key (a new espeak-ng sounds different), so it is probed even
        # before start(): cache lookups must not depend on whether the engine was started.
        if not self._version:
            self.start()
        return f"espeak-ng:{self.voice}:{self.speed}:{self._version}"

    def start(self) -> None:
        if self._exe:
            return
        exe = shutil.which(self.program)
        if not exe:
            raise ModelMissingError(f"{self.program} not found on PATH (install the Debian package espeak-ng)")
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
        self._version = out.split(":")[1].strip().split()[0] if ":" in out else "unknown"
        self._exe = exe

    def _sentence(self, sentence: str) -> bytes:
        assert self._exe
        # Text goes through stdin, never argv: a sentence starting with "-" is not an option.
        proc = subprocess.run(
            [self._exe, "-v", self.voice, "-s", str(self.speed), "--stdout", "--stdin"],
            input=sentence.encode("utf-8"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"espeak-ng failed: {proc.stderr.decode(errors='replace').strip()}")
        header = parse_wav_stream_header(proc.stdout)
        if header is None:
            return b""
        rate, channels, offset = header
        data = proc.stdout[offset:]
        samples = pcm_to_float(data[: len(data) - len(data) % (2 * channels)])
        if channels > 1:
            samples = samples.reshape(-1, channels).mean(axis=1)
        resampler = StreamResampler(rate, SAMPLE_RATE)
        return resampler.push(samples) + resampler.flush()

    def _render(self, sentences: list[str]) -> Iterator[bytes]:
        if not self._exe:
            raise RuntimeError("EspeakEngine.start() must be called before use")
        for sentence in sentences:
            pcm = self._sentence(sentence)
            if pcm:
                yield pcm


class TtsCache:
    """Rendered audio on disk, keyed by (voice id, text, format); files are raw 8 kHz slin (``.sln``).

    ``.sln`` is Asterisk's own name for this format, so a cached prompt is also playable by Asterisk.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)

    @staticmethod
    def key(voice_id: str, text: str, fmt: str = AUDIO_FORMAT) -> str:
        return hashlib.sha256("\x1f".join((voice_id, fmt, text)).encode("utf-8")).hexdigest()

    def path(self, voice_id: str, text: str, fmt: str = AUDIO_FORMAT) -> Path:
        k = self.key(voice_id, text, fmt)
        return self.dir / k[:2] / f"{k}.sln"

    def get(self, voice_id: str, text: str) -> bytes | None:
        try:
            return self.path(voice_id, text).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, voice_id: str, text: str, pcm: bytes) -> Path:
        return atomic_write(self.path(voice_id, text), pcm)


class CachedTts(TtsEngine):
    """An engine behind two caches of rendered sentences: the disk (``TtsCache``) for what
    ``ivr prompts render`` puts there, the static sentences of the catalog, shared by every process and kept
    across restarts; and a bounded in-memory LRU (``memory_bytes``) for everything synthesized while calls
    run, the sentences with a debtor's name, amount or dates among them.

    Privacy (LGPD art. 6 III, necessity): personal sentences never reach the disk, so nothing with a name or
    an amount outlives the process or accumulates without a retention rule; audio rendered ahead for a call
    that ends at a wrong party is simply evicted.

    Sentence granularity (issue 12): a prompt with the debtor's name or amount is mostly static sentences
    ("Que bom falar com você!"); those are hits, so the reply starts at once and only the personal sentence
    is synthesized. The engines render sentence by sentence anyway (Piper runs its network per sentence),
    so the audio is the same as a whole-text rendering.
    """

    def __init__(
        self, engine: TtsEngine, cache: TtsCache, chunk_bytes: int = 16000, memory_bytes: int = MEMORY_CACHE_BYTES
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.chunk_bytes = chunk_bytes
        self.memory_bytes = memory_bytes
        """Bound of the in-memory tier in bytes (8 kHz 16-bit: 16,000 bytes a second of audio)."""
        self.name = engine.name
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._memory_size = 0

    @property
    def voice_id(self) -> str:
        return self.engine.voice_id

    def start(self) -> None:
        self.engine.start()

    @staticmethod
    def sentences(text: str) -> list[str]:
        """The cache entries ``text`` (verbalized, maybe with ``<pause>`` markers) is made of."""
        return [s for words, _ in speech_pieces(text) for s in split_sentences(words)]

    def is_cached(self, text: str, *, on_disk: bool = False) -> bool:
        """Every sentence of ``text`` is cached (in memory or on disk; ``on_disk``: on disk). A prompt of
        pauses only counts as cached."""
        voice_id = self.voice_id
        return all(
            self.cache.path(voice_id, s).is_file() or (not on_disk and s in self._memory) for s in self.sentences(text)
        )

    def synthesize(self, text: str) -> Iterator[bytes]:
        for words, pause_ms in speech_pieces(text):
            for sentence in split_sentences(words):
                hit = self.lookup(sentence)
                if hit is None:
                    hit = self.render_sentence(sentence)
                for i in range(0, len(hit), self.chunk_bytes):
                    yield hit[i : i + self.chunk_bytes]
            if pause_ms:
                yield silence(pause_ms)

    def lookup(self, sentence: str) -> bytes | None:
        """One sentence's audio (8 kHz s16le) if it is cached, else None: memory, then a file read; never a
        synthesis (the call service reads hits on its event loop, so a cached reply never waits behind
        synthesis jobs)."""
        with self._lock:
            hit = self._memory.get(sentence)
            if hit is not None:
                self._memory.move_to_end(sentence)
        if hit is None:
            hit = self.cache.get(self.voice_id, sentence)
        if hit is not None:
            metrics.TTS_CACHE_HITS.inc()
        return hit

    def render_sentence(self, sentence: str, *, persist: bool = False) -> bytes:
        """One sentence's audio, synthesized now (once, however many threads ask) and kept in memory, or on
        disk with ``persist`` (only for static catalog sentences: ``ivr prompts render``)."""
        return self._synthesize_once(self.voice_id, sentence, persist)

    def _remember(self, sentence: str, pcm: bytes) -> None:
        with self._lock:
            old = self._memory.pop(sentence, None)
            if old is not None:
                self._memory_size -= len(old)
            self._memory[sentence] = pcm
            self._memory_size += len(pcm)
            while self._memory_size > self.memory_bytes and len(self._memory) > 1:
                _, evicted = self._memory.popitem(last=False)
                self._memory_size -= len(evicted)

    def _synthesize_once(self, voice_id: str, sentence: str, persist: bool) -> bytes:
        """Synthesize and keep one sentence; a thread asking for a sentence another thread is synthesizing
        (a prefetch and the call that needs it) waits for that rendering instead of making a second one.

        The sentence is rendered whole before any of it is returned: the engines produce a sentence at a time
        anyway, and no generator is ever suspended while it holds a sentence others wait for. Only complete
        sentences are kept: a consumer that stops early (barge-in) leaves the rest of the prompt unrendered.
        """
        key = self.cache.key(voice_id, sentence)
        with self._lock:
            running = self._inflight.get(key)
            if running is None:
                self._inflight[key] = threading.Event()
        if running is not None:
            running.wait(INFLIGHT_WAIT_S)
            hit = self.lookup(sentence)
            if hit is not None:
                if persist:
                    self.cache.put(voice_id, sentence, hit)
                return hit
        metrics.TTS_CACHE_MISSES.inc()
        try:
            pcm = b"".join(self.engine.synthesize(sentence))
            if persist:
                self.cache.put(voice_id, sentence, pcm)
            else:
                self._remember(sentence, pcm)
            return pcm
        finally:
            if running is None:
                with self._lock:
                    self._inflight.pop(key).set()

    def render(self, text: str, *, persist: bool = True) -> bool:
        """Make sure every sentence of ``text`` is cached, on disk with ``persist`` (``ivr prompts render``,
        static prompts only) or in memory; True when some had to be synthesized."""
        made = False
        voice_id = self.voice_id
        for sentence in self.sentences(text):
            if self.cache.path(voice_id, sentence).is_file() or (not persist and sentence in self._memory):
                continue
            held = self._memory.get(sentence) if persist else None
            if held is not None:
                self.cache.put(voice_id, sentence, held)
                continue
            self.render_sentence(sentence, persist=persist)
            made = True
        return made


def cached(engine: TtsEngine, cache_dir: str | os.PathLike[str]) -> CachedTts:
    return CachedTts(engine, TtsCache(cache_dir))


def default_voice_path(settings: Settings) -> Path:
    return (
        Path(settings.speech.piper_voice)
        if settings.speech.piper_voice
        else Path(settings.speech.models_dir) / "pt_BR-faber-medium.onnx"
    )


def default_cache_dir(settings: Settings) -> Path:
    return Path(settings.speech.cache_dir) if settings.speech.cache_dir else settings.data_path / "tts-cache"


def make_tts(settings: Settings, cache: bool = True) -> TtsEngine:
    """The configured engine (not started), behind the disk cache unless ``cache`` is false.

    ``auto`` picks Piper when the voice file exists, else espeak-ng with a warning that says how to
    get the Piper voice.
    """
    choice = settings.speech.tts_engine.strip().lower()
    voice = default_voice_path(settings)
    engine: TtsEngine
    if choice == "piper":
        engine = PiperEngine(voice)
    elif choice == "espeak":
        engine = EspeakEngine()
    elif choice == "auto":
        if voice.is_file():
            engine = PiperEngine(voice)
        else:
            log.warning(
                "TTS: Piper voice %s not found, using the espeak-ng fallback (robotic voice); "
                "get the Piper voice with: ivr models download pt_BR-faber-medium",
                voice,
            )
            engine = EspeakEngine()
    else:
        raise ConfigError(f"setting speech.tts_engine: {settings.speech.tts_engine!r} is not piper, espeak or auto")
    return cached(engine, default_cache_dir(settings)) if cache else engine


__all__ = [
    "AUDIO_FORMAT",
    "CachedTts",
    "EspeakEngine",
    "PiperEngine",
    "TtsCache",
    "TtsEngine",
    "cached",
    "default_cache_dir",
    "default_voice_path",
    "make_tts",
    "prepare_text",
    "speech_pieces",
    "split_sentences",
]
