"""Console fixtures: the app on a real database (SQLite here; PostgreSQL through ``db_url``), a user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings, load_settings
from ivr.db.session import dispose_engines, open_database
from ivr.web.accounts import add_token, add_user
from ivr.web.app import create_app

PASSWORD = "senha-de-teste-123"
ROLES = ("admin", "supervisor", "operator")


def make_settings(db_url: str, tmp_path: Path) -> Settings:
    settings = load_settings(
        env={
            "IVR_DATA_DIR": str(tmp_path / "var"),
            "IVR_DATABASE_URL": db_url,
            "IVR_PRIVACY_HMAC_KEY": "test-key-not-secret",
            "IVR_WEB_SECRET_KEY": "web-test-secret",
        }
    )
    return settings


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return make_settings(f"sqlite:///{tmp_path / 'web.db'}", tmp_path)


@pytest.fixture
def web_sessions(web_settings: Settings) -> Iterator[sessionmaker[Session]]:
    factory = open_database(web_settings.database_url)
    with factory.begin() as s:
        for role in ROLES:
            add_user(s, role, role, PASSWORD, "test")
    yield factory
    dispose_engines()


@pytest.fixture
def app_client(web_settings: Settings, web_sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings), follow_redirects=False) as client:
        yield client


@pytest.fixture
def api_token(web_sessions: sessionmaker[Session]) -> str:
    with web_sessions.begin() as s:
        return add_token(s, "erp", "test")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def log_in(client: TestClient, role: str) -> str:
    """Log in as the user named after ``role``; returns the session's CSRF token."""
    page = client.get("/login")
    token = csrf_of(page.text)
    r = client.post("/login", data={"username": role, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/campanhas").text)
