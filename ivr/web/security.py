"""Who is asking: console sessions (signed cookie), roles, CSRF on every form, API bearer tokens.

The session cookie is Starlette's ``SessionMiddleware`` (itsdangerous-signed, HttpOnly, SameSite=Lax).
It is re-signed on every response, so its own ``max_age`` slides; the absolute and idle limits are kept
here from the issue time and last-seen time stored inside it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import WebUser
from ivr.web.accounts import session_stamp, token_owner

ROLE_RANK = {"operator": 0, "supervisor": 1, "admin": 2}
"""Each role can do everything the roles below it can."""
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page."""


class Forbidden(Exception):
    """Logged in, but the role does not allow this (or the CSRF token is missing)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiUnauthorized(Exception):
    """The API request carries no valid token."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as the pages see it."""

    id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def actor(self) -> str:
        return f"user:{self.name}"


def csrf_token(request: Request) -> str:
    """This session's CSRF token (synchronizer-token pattern, OWASP CSRF cheat sheet), created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form field or ``X-CSRF-Token`` header does not carry the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    # bytes: compare_digest raises TypeError (a 500) on a str with non-ASCII characters
    if not expected or not sent or not secrets.compare_digest(str(expected).encode(), sent.encode()):
        raise Forbidden("Formulário expirado ou sem o código de segurança (CSRF). Recarregue a página.")


def start_session(request: Request, user: WebUser) -> None:
    now = int(time.time())
    request.session.clear()
    request.session.update(
        {"uid": user.id, "stamp": session_stamp(user), "iat": now, "seen": now, "csrf": secrets.token_urlsafe(24)}
    )


def end_session(request: Request) -> None:
    request.session.clear()


def current_viewer(request: Request) -> Viewer | None:
    """The session's user if the session is valid now; clears an expired or stale session."""
    data: dict[str, Any] = request.session
    uid = data.get("uid")
    if not isinstance(uid, int):
        return None
    web = request.app.state.settings.web
    now = int(time.time())
    iat, seen = int(data.get("iat", 0)), int(data.get("seen", 0))
    if now - iat > web.session_minutes * 60 or now - seen > web.idle_minutes * 60:
        data.clear()
        return None
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as s:
        user = s.get(WebUser, uid)
        if user is None or not user.active or session_stamp(user) != data.get("stamp"):
            data.clear()  # disabled, or the password changed since this login
            return None
        viewer = Viewer(user.id, user.name, user.role)
    if now - seen >= 15:  # re-sign the cookie at most every 15 s, not on every request
        data["seen"] = now
    return viewer


def page_viewer(request: Request) -> Viewer:
    """Dependency of every page: the logged-in user, else a redirect to the login page."""
    viewer = current_viewer(request)
    if viewer is None:
        raise LoginRequired()
    request.state.viewer = viewer
    return viewer


def require(viewer: Viewer, role: str) -> None:
    if not viewer.can(role):
        names = {"supervisor": "supervisores", "admin": "administradores"}
        raise Forbidden(f"Somente {names.get(role, role)} podem fazer isto.")


def api_client(request: Request) -> str:
    """Dependency of every API route: ``token:<name>`` of a valid bearer token, else 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiUnauthorized()
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions.begin() as s:
        row = token_owner(s, token.strip())
        if row is None:
            raise ApiUnauthorized()
        return f"token:{row.name}"
