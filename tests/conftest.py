"""Shared fixtures: settings isolated per test, and the database on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.testing.postgres import PostgresServer


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's config or writes into the repo's var/."""
    import os

    for var in list(os.environ):
        # IVR_SANDBOX_DIR says where the Asterisk sandbox lives: a property of the machine, not a setting.
        if var.startswith("IVR_") and var != "IVR_SANDBOX_DIR":
            monkeypatch.delenv(var)
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IVR_PRIVACY_HMAC_KEY", "test-key-not-secret")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same repository test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ivr.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    from ivr.db.session import dispose_engines, open_database

    factory = open_database(db_url)
    yield factory
    dispose_engines()


# The call service's speech engines, loaded once per session for the call service and protocol fuzz tests
# (real Vosk test model, espeak-ng); only tests that ask for `speech` pay for it.
@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ivr.callservice.service import build_speech

    cache = tmp_path_factory.mktemp("tts-cache")
    settings = load_settings(
        None,
        env={
            "IVR_SPEECH_TTS_ENGINE": "espeak",
            "IVR_SPEECH_CACHE_DIR": str(cache),
            "IVR_SPEECH_MODELS_DIR": str(cache / "none"),
        },
    )
    sp = build_speech(settings, allow_test_models=True)
    yield sp
    sp.asr_pool.shutdown()
    sp.tts_pool.shutdown()
