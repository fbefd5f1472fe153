"""TTS with the real en_US Piper test voice and espeak-ng: format, duration, streaming, cache, sharing."""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterator

import pytest

from ivr.config import Settings
from ivr.errors import ConfigError, ModelMissingError
from ivr.speech import audio
from ivr.speech.tts import CachedTts, EspeakEngine, PiperEngine, TtsCache, TtsEngine, cached, make_tts, split_sentences

pytestmark = pytest.mark.models

LONG = " ".join(
    [
        "Hello, this is a courtesy call about your account.",
        "We would like to confirm a few details with you.",
        "Please say yes if you are the account holder.",
        "You can also ask to speak with a person at any time.",
        "If this is a bad moment, tell us when to call back.",
        "Thank you for your time and have a good day.",
    ]
)


def test_split_sentences_keeps_punctuation() -> None:
    assert split_sentences("Olá. Tudo bem? Sim!  Fim") == ["Olá.", "Tudo bem?", "Sim!", "Fim"]
    assert split_sentences("R$ 1.234,50 hoje.") == ["R$ 1.234,50 hoje."]


def test_piper_gives_8k_mono_pcm_of_plausible_length(piper_engine: PiperEngine) -> None:
    pcm = piper_engine.synthesize_all("Hello, this is a test of the telephone voice.")
    assert len(pcm) % 2 == 0
    # nine words at a normal pace: between 1.5 and 5 seconds of 8 kHz audio
    assert 1500 < audio.duration_ms(pcm) < 5000
    wav = audio.wav_bytes(pcm)
    samples, rate = audio.read_wav(wav)
    assert rate == 8000 and audio.level_dbfs(pcm) > -40


class CountingSession:
    """Wraps the real onnxruntime session to count network runs (instrumentation, not a fake)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.runs = 0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.runs += 1
        return self.real.run(*args, **kwargs)


def test_piper_streams_first_sentence_before_synthesizing_the_rest(piper_engine: PiperEngine) -> None:
    voice = piper_engine._voice
    real = voice.session
    counter = CountingSession(real)
    voice.session = counter
    try:
        chunks: Iterator[bytes] = piper_engine.synthesize(LONG)
        first = next(chunks)
        runs_at_first = counter.runs
        rest = b"".join(chunks)
    finally:
        voice.session = real
    assert runs_at_first == 1
    assert counter.runs == 6
    assert len(first) < (len(first) + len(rest)) / 3


def test_piper_is_shared_by_concurrent_calls(piper_engine: PiperEngine) -> None:
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            results[i] = piper_engine.synthesize_all(f"Call number {i}. Please hold the line.")
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(1000 < audio.duration_ms(results[i]) < 5000 for i in range(6))


def test_pause_markers_become_silence_not_speech(piper_engine: PiperEngine) -> None:
    plain = piper_engine.synthesize_all("Hello there. Good morning.")
    paused = list(piper_engine.synthesize("Hello there. <pause 600> Good morning."))
    assert b"\x00" * 9600 in paused  # 600 ms of 8 kHz silence as its own chunk
    assert abs(audio.duration_ms(b"".join(paused)) - audio.duration_ms(plain) - 600) < 400


def test_piper_not_started_and_missing_voice(tmp_path) -> None:
    engine = PiperEngine(tmp_path / "pt_BR-faber-medium.onnx")
    with pytest.raises(RuntimeError):
        next(engine.synthesize("x"))
    with pytest.raises(ModelMissingError) as err:
        engine.start()
    msg = str(err.value)
    assert "\n" not in msg and "pt_BR-faber-medium.onnx" in msg and "ivr models download pt_BR-faber-medium" in msg


def test_espeak_fallback_gives_8k_portuguese_audio() -> None:
    engine = EspeakEngine()
    engine.start()
    assert engine.voice_id.startswith("espeak-ng:pt-br:")
    chunks = list(engine.synthesize("Bom dia. Aqui é da central de atendimento."))
    assert len(chunks) == 2  # one per sentence
    assert 1500 < audio.duration_ms(b"".join(chunks)) < 6000


class Counting(TtsEngine):
    """Counts how often the wrapped real engine is asked to synthesize."""

    def __init__(self, inner: TtsEngine) -> None:
        self.inner = inner
        self.calls = 0
        self.texts: list[str] = []

    @property
    def voice_id(self) -> str:
        return self.inner.voice_id

    def start(self) -> None:
        self.inner.start()

    def synthesize(self, text: str) -> Iterator[bytes]:
        self.calls += 1
        self.texts.append(text)
        return self.inner.synthesize(text)


def test_cache_hit_costs_no_synthesis_and_returns_identical_audio(piper_engine: PiperEngine, tmp_path) -> None:
    counting = Counting(piper_engine)
    engine = cached(counting, tmp_path / "cache")
    text = "Your payment is due tomorrow."
    assert engine.render(text)  # `ivr prompts render`: static sentences go to disk
    assert counting.calls == 1
    path = engine.cache.path(engine.voice_id, text)
    first = path.read_bytes()
    assert path.suffix == ".sln" and not engine.render(text)
    second = engine.synthesize_all(text)
    assert counting.calls == 1 and second == first
    # a different text or voice is a miss
    engine.synthesize_all(text + " Thanks.")
    assert counting.calls == 2
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "cache").rglob("*"))


def test_static_sentences_of_a_personal_prompt_are_cache_hits(piper_engine: PiperEngine, tmp_path) -> None:
    """Issue 12: only the sentence with the debtor's name is synthesized; the static ones start at once."""
    counting = Counting(piper_engine)
    engine = cached(counting, tmp_path / "cache")
    engine.synthesize_all("Good to talk to you! Your balance is ten dollars.")
    assert counting.texts == ["Good to talk to you!", "Your balance is ten dollars."]
    audio = engine.synthesize_all("Good to talk to you! Your balance is twenty dollars.")
    assert counting.texts[2:] == ["Your balance is twenty dollars."]
    assert audio.startswith(engine.lookup("Good to talk to you!") or b"missing")
    assert engine.is_cached("Good to talk to you! Your balance is twenty dollars.")
    assert not engine.is_cached("Good to talk to you! Your balance is thirty dollars.")


def test_sentences_synthesized_during_calls_never_reach_the_disk(piper_engine: PiperEngine, tmp_path) -> None:
    """LGPD: a debtor's name and amount live only in the process's memory, bounded, never in a file."""
    counting = Counting(piper_engine)
    engine = cached(counting, tmp_path / "cache")
    engine.memory_bytes = 6 * 16000  # about six seconds of audio
    engine.synthesize_all("Hello Mary Jane Watson. Your balance is ten dollars.")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert engine.is_cached("Hello Mary Jane Watson.")
    for n in ("one", "two", "three", "four"):
        engine.synthesize_all(f"Your balance is {n} hundred and forty dollars.")
    assert not engine.is_cached("Hello Mary Jane Watson.")  # evicted: least recently used
    assert engine._memory_size <= engine.memory_bytes or len(engine._memory) == 1
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_interrupted_synthesis_is_not_cached(piper_engine: PiperEngine, tmp_path) -> None:
    engine = cached(piper_engine, tmp_path)
    gen = engine.synthesize(LONG)
    next(gen)
    gen.close()  # barge-in: the consumer stops after the first sentence
    assert not engine.is_cached(LONG)


def test_cache_key_covers_voice_text_and_format() -> None:
    k = TtsCache.key
    assert len({k("a", "x"), k("b", "x"), k("a", "y"), k("a", "x", "ulaw-8000-mono")}) == 4


def test_make_tts_honours_the_setting(tmp_path, piper_engine: PiperEngine, caplog: pytest.LogCaptureFixture) -> None:
    s = Settings(data_dir=str(tmp_path))
    s.speech.models_dir = str(tmp_path / "models")
    with caplog.at_level(logging.WARNING, logger="ivr.speech.tts"):
        auto = make_tts(s)
    assert isinstance(auto, CachedTts) and isinstance(auto.engine, EspeakEngine)
    assert "espeak-ng fallback" in caplog.text and "ivr models download pt_BR-faber-medium" in caplog.text
    assert auto.cache.dir == tmp_path / "tts-cache"

    s.speech.piper_voice = str(piper_engine.model_path)
    assert isinstance(make_tts(s, cache=False), PiperEngine)
    s.speech.tts_engine = "espeak"
    assert isinstance(make_tts(s, cache=False), EspeakEngine)
    s.speech.tts_engine = "festival"
    with pytest.raises(ConfigError, match="speech.tts_engine"):
        make_tts(s)
