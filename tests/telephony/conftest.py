"""The call service's speech engines, loaded once for the telephony tests (real Vosk test model, espeak-ng)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivr.config import load_settings
from ivr.telephony.call import Speech


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Speech]:
    from ivr.telephony.service import build_speech

    cache = tmp_path_factory.mktemp("tts-cache")
    settings = load_settings(None, env={"IVR_SPEECH_TTS_ENGINE": "espeak", "IVR_SPEECH_CACHE_DIR": str(cache),
                                        "IVR_SPEECH_MODELS_DIR": str(cache / "none")})
    sp = build_speech(settings, allow_test_models=True)
    yield sp
    sp.asr_pool.shutdown()
    sp.tts_pool.shutdown()
