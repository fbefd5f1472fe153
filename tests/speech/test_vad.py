"""Voice activity: the pure endpointer on tables of frames, then webrtcvad on made audio."""

from __future__ import annotations

import numpy as np
import pytest

from ivr.speech import audio
from ivr.speech.vad import UtteranceDetector, Vad, VadEvent, VadEventKind, VadParams

START, END, TIMEOUT = VadEventKind.SPEECH_START, VadEventKind.SPEECH_END, VadEventKind.SILENCE_TIMEOUT
LOUD, QUIET = -20.0, -70.0


def run(frames: list[tuple[bool, float, bool]], params: VadParams | None = None) -> list[VadEvent]:
    """Frames are (voiced, level dBFS, playing), 20 ms apart from t=0."""
    det = UtteranceDetector(params)
    return [e for i, (v, lvl, play) in enumerate(frames) for e in det.step(v, lvl, i * 20, play)]


def speech(n: int, playing: bool = False, level: float = LOUD) -> list[tuple[bool, float, bool]]:
    return [(True, level, playing)] * n


def quiet(n: int, playing: bool = False) -> list[tuple[bool, float, bool]]:
    return [(False, QUIET, playing)] * n


def test_three_voiced_frames_open_speech_at_the_first_one() -> None:
    assert run(quiet(5) + speech(3)) == [VadEvent(START, 100)]


def test_two_voiced_frames_are_a_click_not_speech() -> None:
    assert run(quiet(5) + speech(2) + quiet(5) + speech(2)) == []


def test_quiet_voiced_frames_below_the_energy_floor_do_not_count() -> None:
    assert run(speech(20, level=-60.0)) == []


def test_noise_flat_frames_do_not_open_speech() -> None:
    det = UtteranceDetector()
    assert [e for i in range(20) for e in det.step(True, LOUD, i * 20, False, flatness=0.55)] == []


def test_trailing_silence_ends_the_utterance_after_end_silence_ms() -> None:
    events = run(speech(10) + quiet(40), VadParams(end_silence_ms=300))
    assert events[0] == VadEvent(START, 0)
    # the last voiced frame ends at 200 ms; 300 ms of silence are complete with the frame 480-500.
    assert events[1] == VadEvent(END, 480)


def test_hysteresis_keeps_soft_word_endings_in_speech() -> None:
    params = VadParams(end_silence_ms=200)
    soft = [(True, params.energy_floor_dbfs - 4, False)] * 30  # below the start floor, above floor - margin
    events = run(speech(5) + soft + quiet(20), params)
    assert [e.kind for e in events] == [START, END]
    assert events[1].t_ms > (5 + 30) * 20


def test_barge_in_needs_longer_and_louder_speech_while_playing() -> None:
    p = VadParams()
    assert run(speech(p.start_frames_playing - 1, playing=True)) == []
    assert run(speech(20, playing=True, level=p.energy_floor_playing_dbfs - 5)) == []  # echo level
    assert run(speech(p.start_frames_playing, playing=True)) == [VadEvent(START, 0, barge_in=True)]


def test_silence_timeout_fires_once_and_not_while_playing() -> None:
    p = VadParams(silence_timeout_ms=1000)
    assert run(quiet(200, playing=True), p) == []
    events = run(quiet(10, playing=True) + quiet(120), p)
    # listening starts when playback stops at 200 ms
    assert events == [VadEvent(TIMEOUT, 1200)]


def test_silence_timeout_restarts_after_an_utterance() -> None:
    p = VadParams(silence_timeout_ms=1000, end_silence_ms=200)
    events = run(quiet(10) + speech(10) + quiet(70), p)
    assert [e.kind for e in events] == [START, END, TIMEOUT]
    end = events[1].t_ms
    assert events[2].t_ms == end + 1000


# -- the real webrtcvad ---------------------------------------------------------------------------


def feed(vad: Vad, pcm: bytes, playing: bool = False) -> tuple[list[VadEvent], int]:
    events: list[VadEvent] = []
    asr_frames = 0
    for frame in audio.frames(pcm):
        step = vad.process(frame, playing)
        events += step.events
        asr_frames += len(step.to_asr)
    return events, asr_frames


def noise(seconds: float, dbfs: float, seed: int = 0) -> bytes:
    x = np.random.default_rng(seed).normal(0, 10 ** (dbfs / 20), int(8000 * seconds))
    return audio.float_to_pcm(x.astype(np.float32))


def test_digital_silence_is_not_speech() -> None:
    events, to_asr = feed(Vad(2), audio.silence(5000))
    assert events == [] and to_asr == 0


@pytest.mark.parametrize("dbfs", [-60, -45, -35, -25, -15])
@pytest.mark.parametrize("aggressiveness", [0, 2, 3])
def test_white_noise_is_not_speech(dbfs: float, aggressiveness: int) -> None:
    events, to_asr = feed(Vad(aggressiveness), noise(4.0, dbfs))
    assert [e for e in events if e.kind is not TIMEOUT] == [] and to_asr == 0


def test_espeak_speech_starts_and_ends_and_reaches_the_recognizer(espeak_pt) -> None:
    pcm = espeak_pt("Sim, sou eu mesmo. Pode falar.")
    events, to_asr = feed(Vad(2), audio.silence(600) + pcm + audio.silence(1500))
    kinds = [e.kind for e in events]
    assert kinds[0] is START and kinds[-1] is END
    assert 500 <= events[0].t_ms <= 900
    # the recognizer gets the speech (with pre-roll), not the leading silence
    assert to_asr * 20 >= audio.duration_ms(pcm) * 0.8
    assert to_asr * 20 < audio.duration_ms(pcm) + 1500


def test_speech_in_line_noise_is_still_heard(espeak_pt) -> None:
    pcm = espeak_pt("Não, obrigado.")
    mixed = audio.pcm_to_float(pcm) + audio.pcm_to_float(noise(audio.duration_ms(pcm) / 1000, -40, seed=3))
    events, _ = feed(Vad(2), audio.float_to_pcm(mixed))
    assert START in [e.kind for e in events]


def test_barge_in_on_speech_but_not_on_its_faint_echo(espeak_pt) -> None:
    pcm = audio.pcm_to_float(espeak_pt("Espera, quero falar com um atendente."))
    events, _ = feed(Vad(2), audio.float_to_pcm(pcm), playing=True)
    assert any(e.kind is START and e.barge_in for e in events)
    # The bot's own voice coming back 30 dB down: speech to webrtcvad, but not a barge-in.
    echo = audio.float_to_pcm(pcm * 10 ** (-30 / 20))
    events, _ = feed(Vad(2), echo, playing=True)
    assert events == []
    # The same faint audio while listening is a (quiet) caller.
    events, _ = feed(Vad(2), echo, playing=False)
    assert START in [e.kind for e in events]


def test_vad_rejects_wrong_frame_size() -> None:
    with pytest.raises(ValueError):
        Vad().process(b"\x00" * 100)


def test_vad_takes_its_timings_from_the_settings() -> None:
    from ivr.config import Settings

    s = Settings()
    s.speech.end_of_utterance_ms, s.service.silence_timeout_seconds = 900, 4.5
    p = Vad.from_settings(s).detector.params
    assert (p.end_silence_ms, p.silence_timeout_ms) == (900, 4500)
