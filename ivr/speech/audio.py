"""PCM helpers for telephone audio: 8 kHz, signed 16-bit little-endian, mono, in 20 ms frames.

Resampling uses soxr (a proper band-limited resampler), never sample dropping, so TTS output at
22.05 kHz does not alias into the telephone band.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import soundfile
import soxr

from ivr.errors import InputError

SAMPLE_RATE = 8000
"""Hertz; what Asterisk's AudioSocket and slin carry."""
SAMPLE_WIDTH = 2
"""Bytes per sample (s16le)."""
FRAME_MS = 20
"""Milliseconds per frame."""
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * SAMPLE_WIDTH
"""320 bytes: one 20 ms frame at 8 kHz."""

_INT16_MAX = 32767.0


def float_to_pcm(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] to s16le bytes (clipped, not wrapped)."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32) * _INT16_MAX, -_INT16_MAX, _INT16_MAX)
    return clipped.astype("<i2").tobytes()


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """s16le bytes to float32 samples in [-1, 1]."""
    if len(pcm) % SAMPLE_WIDTH:
        raise ValueError("PCM length is not a whole number of 16-bit samples")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / _INT16_MAX


def resample(samples: np.ndarray, src_rate: int, dst_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample mono float samples with soxr's high-quality filter."""
    samples = np.asarray(samples, dtype=np.float32)
    if src_rate == dst_rate or samples.size == 0:
        return samples
    return np.asarray(soxr.resample(samples, src_rate, dst_rate, quality="HQ"), dtype=np.float32)


class StreamResampler:
    """Resamples a stream of float chunks to 8 kHz s16le, keeping filter state between chunks.

    Chunk-by-chunk one-shot resampling would click at every boundary; this keeps one soxr stream.
    """

    def __init__(self, src_rate: int, dst_rate: int = SAMPLE_RATE) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream = (
            None if src_rate == dst_rate else soxr.ResampleStream(src_rate, dst_rate, 1, dtype="float32", quality="HQ")
        )

    def push(self, samples: np.ndarray, last: bool = False) -> bytes:
        samples = np.asarray(samples, dtype=np.float32)
        if self._stream is None:
            return float_to_pcm(samples)
        return float_to_pcm(self._stream.resample_chunk(samples, last=last))

    def flush(self) -> bytes:
        return self.push(np.zeros(0, dtype=np.float32), last=True)


def read_wav(source: str | os.PathLike[str] | BinaryIO | bytes) -> tuple[np.ndarray, int]:
    """Any WAV/FLAC/OGG soundfile reads → (mono float32 samples, rate). Channels are averaged."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise InputError(
            f"cannot read audio {source if isinstance(source, (str, Path)) else ''}: {exc}".replace("  ", " ")
        ) from None
    except FileNotFoundError:
        raise InputError(f"audio file {source} not found") from None
    return data.mean(axis=1).astype(np.float32), int(rate)


def read_wav_8k(source: str | os.PathLike[str] | BinaryIO | bytes) -> bytes:
    """Read an audio file of any common rate/channel count as 8 kHz mono s16le PCM."""
    samples, rate = read_wav(source)
    return float_to_pcm(resample(samples, rate, SAMPLE_RATE))


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """Wrap mono s16le PCM in a WAV container, in memory."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buf.getvalue()


def write_wav(path: str | os.PathLike[str], pcm: bytes, rate: int = SAMPLE_RATE) -> Path:
    """Write mono s16le PCM as a WAV file atomically (a reader never sees half a file)."""
    return atomic_write(path, wav_bytes(pcm, rate))


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write bytes to ``path`` via a temporary file in the same directory and ``os.replace``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def duration_ms(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Length of mono s16le PCM in milliseconds."""
    return len(pcm) / SAMPLE_WIDTH / rate * 1000.0


def silence(ms: int, rate: int = SAMPLE_RATE) -> bytes:
    return b"\x00" * (rate * ms // 1000 * SAMPLE_WIDTH)


def frames(pcm: bytes, frame_bytes: int = FRAME_BYTES, pad: bool = True) -> Iterator[bytes]:
    """Slice PCM into fixed frames; the last one is zero-padded (or dropped when ``pad`` is false)."""
    for start in range(0, len(pcm), frame_bytes):
        frame = pcm[start : start + frame_bytes]
        if len(frame) < frame_bytes:
            if not pad:
                return
            frame = frame + b"\x00" * (frame_bytes - len(frame))
        yield frame


@dataclass
class FrameSlicer:
    """Turns chunks of any size (TTS sentences) into exact 20 ms frames for real-time sending."""

    frame_bytes: int = FRAME_BYTES
    _buf: bytearray = field(default_factory=bytearray)

    def push(self, chunk: bytes) -> Iterator[bytes]:
        self._buf.extend(chunk)
        while len(self._buf) >= self.frame_bytes:
            yield bytes(self._buf[: self.frame_bytes])
            del self._buf[: self.frame_bytes]

    def flush(self) -> Iterator[bytes]:
        """The remainder, zero-padded to a whole frame."""
        if self._buf:
            yield bytes(self._buf) + b"\x00" * (self.frame_bytes - len(self._buf))
            self._buf.clear()

    def iter(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield from self.push(chunk)
        yield from self.flush()


def level_dbfs(frame: bytes) -> float:
    """RMS level of s16le PCM in dBFS; digital silence is -120."""
    if not frame:
        return -120.0
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    rms = float(np.sqrt(np.mean(samples * samples)))
    if rms < 1e-9:
        return -120.0
    return 20.0 * float(np.log10(rms / _INT16_MAX))


_WINDOW = np.hanning(FRAME_BYTES // SAMPLE_WIDTH)
_FREQS = np.fft.rfftfreq(256, 1 / SAMPLE_RATE)
_BAND = (_FREQS >= 300) & (_FREQS <= 3400)


def spectral_flatness(frame: bytes) -> float:
    """Geometric over arithmetic mean of the 300-3400 Hz power spectrum of one 20 ms frame.

    About 0.55 for white or band-limited noise, mostly under 0.15 for voiced speech: it tells hiss
    from a voice where level and webrtcvad alone cannot (webrtcvad calls loud hiss speech).
    """
    x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    if x.size != _WINDOW.size:
        raise ValueError("spectral_flatness needs one 20 ms frame")
    power = np.abs(np.fft.rfft(x * _WINDOW, 256)) ** 2
    band = power[_BAND] + 1e-9
    return float(np.exp(np.mean(np.log(band))) / np.mean(band))


def parse_wav_stream_header(data: bytes) -> tuple[int, int, int] | None:
    """For WAV written to a pipe (sizes unknown, e.g. ``espeak-ng --stdout``): (rate, channels, data offset).

    Returns None until enough header bytes are present. Chunk sizes are ignored for the data chunk,
    because pipe writers put a placeholder there.
    """
    if len(data) < 12:
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError("not a WAV stream")
    pos = 12
    rate = channels = 0
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"data":
            if not rate:
                raise InputError("WAV stream has no fmt chunk before data")
            return rate, channels, pos + 8
        if cid == b"fmt ":
            if pos + 8 + 16 > len(data):
                return None
            fmt, channels, rate = struct.unpack("<HHI", data[pos + 8 : pos + 16])
            bits = struct.unpack("<H", data[pos + 22 : pos + 24])[0]
            if fmt != 1 or bits != 16:
                raise InputError("WAV stream is not 16-bit PCM")
        pos += 8 + size + (size & 1)
    return None
