"""Admin commands end to end with the real test models: ivr say, ivr listen, ivr prompts render."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import cli
from ivr.config import load_settings
from ivr.speech.models import test_piper_voice, test_vosk_model
from ivr.speech.tts import make_tts, prepare_text

pytestmark = pytest.mark.models


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"IVR_DATA_DIR": str(tmp_path / "var"), "IVR_SPEECH_MODELS_DIR": str(tmp_path / "models"), **extra}


def test_say_writes_8k_mono_16bit_wav_with_verbalized_text(tmp_path: Path) -> None:
    env = env_for(tmp_path, IVR_SPEECH_TTS_ENGINE="piper", IVR_SPEECH_PIPER_VOICE=str(test_piper_voice()))
    out = tmp_path / "out.wav"
    res = CliRunner().invoke(cli, ["say", "O valor é R$ 150,00.", "--out", str(out)], env=env)
    assert res.exit_code == 0, res.output
    assert "cento e cinquenta reais" in res.output
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert 1.0 < w.getnframes() / 8000 < 8.0


def test_listen_reads_any_rate_and_prints_text_and_confidence(tmp_path: Path) -> None:
    wav44 = tmp_path / "hi.wav"
    raw = tmp_path / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "pt-br", "-w", str(raw), "Sim, sou eu. Pode falar."], check=True)
    subprocess.run(["sox", str(raw), "-r", "44100", "-c", "2", str(wav44)], check=True)
    env = env_for(tmp_path, IVR_SPEECH_VOSK_MODEL=str(test_vosk_model()))
    res = CliRunner().invoke(cli, ["listen", str(wav44), "--json"], env=env)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output.strip().splitlines()[-1])
    assert data["text"] and 0 < data["confidence"] <= 1 and data["words"]


def test_listen_without_a_model_is_one_line(tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    subprocess.run(["espeak-ng", "-v", "pt-br", "-w", str(wav), "sim"], check=True)
    proc = subprocess.run(
        [str(Path(__file__).parents[2] / ".venv/bin/ivr"), "listen", str(wav)],
        env={"PATH": "/usr/bin:/bin", **env_for(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 4
    assert proc.stderr.strip().count("\n") == 0
    assert "ivr models download vosk-model-small-pt-0.3" in proc.stderr


def test_prompts_render_fills_the_cache_that_calls_read(tmp_path: Path) -> None:
    env = env_for(tmp_path, IVR_SPEECH_TTS_ENGINE="espeak")
    runner = CliRunner()
    first = runner.invoke(cli, ["prompts", "render"], env=env)
    assert first.exit_code == 0, first.output
    made = int(first.output.split("prompts: ")[1].split(" rendered")[0])
    assert made > 0, first.output
    second = runner.invoke(cli, ["prompts", "render"], env=env)
    assert "0 rendered" in second.output
    # a call speaking a static prompt finds it in the cache under the same prepared text
    from ivr.language.prompts import static_variants

    pid, _, text = next(iter(static_variants()))
    engine = make_tts(load_settings(env=env))
    assert engine.is_cached(prepare_text(text))  # type: ignore[attr-defined]
