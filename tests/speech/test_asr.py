"""Vosk with the real Korean test model: streaming in 20 ms frames, grammars, sharing one model."""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.errors import ModelMissingError
from ivr.speech import audio
from ivr.speech.asr import AsrModel, AsrResult, recognize_pcm
from ivr.speech.vad import Vad

pytestmark = pytest.mark.models

PT = "Olá, bom dia. Sim, sou eu mesmo. Pode falar."


def test_recognizer_fed_20ms_frames_returns_partials_and_a_final(asr_model: AsrModel, espeak_pt) -> None:
    pcm = espeak_pt(PT)
    rec = asr_model.recognizer()
    events: list[AsrResult] = []
    for frame in audio.frames(pcm):
        res = rec.feed(frame)
        if res is not None:
            events.append(res)
    final = rec.finish()
    assert any(not e.final for e in events), "no partial result while audio was fed"
    assert final.final and final.text
    assert 0.0 < final.confidence <= 1.0
    starts = [w.start for w in final.words]
    assert starts == sorted(starts)
    assert final.words[-1].end <= audio.duration_ms(pcm) / 1000 + 0.1
    assert final.text == " ".join(w.word for w in final.words)


def test_silence_is_recognized_as_nothing(asr_model: AsrModel) -> None:
    assert recognize_pcm(asr_model, audio.silence(2000)).text == ""


def test_recognizer_is_reusable_after_finish(asr_model: AsrModel, espeak_pt) -> None:
    pcm = espeak_pt("Não, obrigado.")
    rec = asr_model.recognizer()
    for frame in audio.frames(pcm):
        rec.feed(frame)
    one = rec.finish()
    for frame in audio.frames(audio.silence(1000)):
        rec.feed(frame)
    assert one.text and rec.finish().text == ""


def test_grammar_keeps_known_words_and_drops_the_rest(asr_model: AsrModel, espeak_pt) -> None:
    # The Korean model knows 네 (yes) and 아니요 (no), not the Portuguese words.
    assert asr_model.knows("네") and not asr_model.knows("sim")
    rec = asr_model.recognizer(["네", "아니요", "sim", "não sei"])
    assert rec.grammar is not None and set(rec.grammar) - {"[unk]"} == {"네", "아니요"}
    for frame in audio.frames(espeak_pt("Sim.")):
        rec.feed(frame)
    result = rec.finish()
    assert set(result.text.split()) <= {"네", "아니요"}


def test_grammar_with_no_known_word_falls_back_to_free_speech(asr_model: AsrModel) -> None:
    assert asr_model.recognizer(["sim", "não"]).grammar is None


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.split(), b.split()).ratio()


def test_one_model_serves_many_recognizers_from_many_threads(asr_model: AsrModel, espeak_pt) -> None:
    # Kaldi dithers its features with random noise, so repeated decodes differ slightly: the test
    # checks that each concurrent stream is decoded as its own audio, not that texts are identical.
    clips = [espeak_pt(PT), espeak_pt("Não posso pagar agora, me liga semana que vem, por favor.")]
    refs = [recognize_pcm(asr_model, pcm).text for pcm in clips]
    assert all(refs) and similarity(*refs) < 0.3
    with ThreadPoolExecutor(max_workers=6) as pool:
        texts = list(pool.map(lambda i: recognize_pcm(asr_model, clips[i % 2]).text, range(12)))
    for i, text in enumerate(texts):
        own, other = refs[i % 2], refs[1 - i % 2]
        assert similarity(text, own) > 0.5 and similarity(text, own) > similarity(text, other), (i, text)


def test_vad_gated_stream_gives_the_utterance_at_speech_end(asr_model: AsrModel, espeak_pt) -> None:
    pcm = audio.silence(800) + espeak_pt("Quero pagar amanhã.") + audio.silence(1500)
    vad, rec = Vad(2), asr_model.recognizer()
    utterances = []
    for frame in audio.frames(pcm):
        step = vad.process(frame)
        for f in step.to_asr:
            rec.feed(f)
        if step.speech_end:
            utterances.append(rec.finish())
    assert len(utterances) == 1 and utterances[0].text


def test_missing_model_is_one_clear_line(tmp_path) -> None:
    model = AsrModel(tmp_path / "vosk-model-small-pt-0.3")
    with pytest.raises(ModelMissingError) as err:
        model.start()
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "vosk-model-small-pt-0.3") in msg
    assert "ivr models download vosk-model-small-pt-0.3" in msg
    with pytest.raises(RuntimeError):
        model.recognizer()
