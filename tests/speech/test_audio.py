"""PCM helpers: proper resampling, reading any WAV to 8 kHz, frames, atomic WAV writing."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
import soundfile

from ivr.speech import audio


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spec)])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def test_resample_keeps_in_band_tone_and_length() -> None:
    out = audio.resample(tone(1000, 22050), 22050)
    assert abs(len(out) - 8000) <= 1
    assert abs(peak_hz(out, 8000) - 1000) < 5
    assert rms(out) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_resample_filters_what_8k_cannot_carry() -> None:
    # A 5 kHz tone is above 8 kHz's Nyquist: naive decimation would fold it to 3 kHz at full level.
    out = audio.resample(tone(5000, 22050), 22050)
    assert rms(out) < 0.005


def test_stream_resampler_matches_length_across_chunks() -> None:
    rs = audio.StreamResampler(22050)
    x = tone(440, 22050, 2.0)
    pcm = b"".join(rs.push(chunk) for chunk in np.array_split(x, 7)) + rs.flush()
    assert abs(len(pcm) // 2 - 16000) <= 2


def test_read_wav_any_rate_and_channels_to_8k() -> None:
    stereo = np.stack([tone(700, 44100, 1.5), tone(700, 44100, 1.5)], axis=1)
    buf = io.BytesIO()
    soundfile.write(buf, stereo, 44100, format="WAV", subtype="PCM_16")
    pcm = audio.read_wav_8k(buf.getvalue())
    assert audio.duration_ms(pcm) == pytest.approx(1500, abs=1)
    assert abs(peak_hz(audio.pcm_to_float(pcm), 8000) - 700) < 5


def test_read_wav_rejects_garbage() -> None:
    with pytest.raises(audio.InputError):
        audio.read_wav_8k(b"not a wav at all")


def test_write_wav_is_8k_mono_16bit_and_leaves_no_temp(tmp_path) -> None:
    pcm = audio.float_to_pcm(tone(400, 8000, 0.5))
    path = audio.write_wav(tmp_path / "out.wav", pcm)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (8000, 1, 2, 4000)
        assert w.readframes(4000) == pcm
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


@pytest.mark.parametrize("n_bytes, frames_out, last_tail", [(0, 0, 0), (320, 1, 320), (321, 2, 1), (960, 3, 320)])
def test_frames_are_320_bytes_and_padded(n_bytes: int, frames_out: int, last_tail: int) -> None:
    pcm = bytes(range(256)) * 4
    got = list(audio.frames(pcm[:n_bytes]))
    assert len(got) == frames_out
    assert all(len(f) == audio.FRAME_BYTES for f in got)
    if got:
        assert got[-1][:last_tail] == pcm[n_bytes - last_tail : n_bytes]


def test_frame_slicer_joins_odd_chunks() -> None:
    slicer = audio.FrameSlicer()
    data = bytes(1000)
    out = list(slicer.iter([data[:7], data[7:500], data[500:]]))
    assert [len(f) for f in out] == [320, 320, 320, 320]


def test_levels_and_flatness_tell_silence_noise_and_tone_apart() -> None:
    assert audio.level_dbfs(audio.silence(20)) == -120.0
    assert audio.level_dbfs(audio.float_to_pcm(tone(1000, 8000, 0.02, amp=1.0))) == pytest.approx(-3.0, abs=0.1)
    noise = np.random.default_rng(0).normal(0, 0.1, 160).astype(np.float32)
    assert audio.spectral_flatness(audio.float_to_pcm(noise)) > 0.35
    assert audio.spectral_flatness(audio.float_to_pcm(tone(500, 8000, 0.02))) < 0.05


def test_wav_stream_header_with_placeholder_sizes() -> None:
    header = audio.wav_bytes(b"\x01\x00" * 10, rate=22050)
    # Pipe writers put 0x7fffffff in the sizes; only the layout matters.
    broken = header[:4] + b"\xff\xff\xff\x7f" + header[8:40] + b"\xff\xff\xff\x7f" + header[44:]
    assert audio.parse_wav_stream_header(broken) == (22050, 1, 44)
    assert audio.parse_wav_stream_header(broken[:20]) is None
