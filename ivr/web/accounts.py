"""Console users, API tokens and the audit trail: the functions ``ivr user``/``ivr token`` and the web app share.

Passwords are hashed with argon2id (argon2-cffi defaults, RFC 9106); API tokens are random 32-byte values
kept only as SHA-256 (a token is already high-entropy, so a fast hash is enough and lookups stay indexed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db.models import WEB_ROLES, ApiToken, AuditEntry, WebUser, utcnow
from ivr.errors import InputError, NotFoundError
from ivr.privacy import mask_text

_HASHER = PasswordHasher()
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
"""Characters; NIST SP 800-63B asks at least 8, a shared call-center login deserves more."""
TOKEN_PREFIX = "ivr_"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: must have at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def session_stamp(user: WebUser) -> str:
    """Changes when the password does: a session carrying an old stamp is logged out."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def check_name(name: str, what: str = "user") -> str:
    if not _NAME_RE.match(name):
        raise InputError(f"{what} name {name!r}: use 2-64 lower-case letters, digits, '.', '_' or '-'")
    return name


def audit(session: Session, actor: str, action: str, target: str | None = None, detail: str | None = None) -> None:
    """Append one audit entry in the caller's transaction (so the record and its audit commit together)."""
    session.add(
        AuditEntry(actor=actor, action=action, target=target, detail=mask_text(detail)[:2000] if detail else None)
    )


def has_users(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(WebUser).where(WebUser.active.is_(True))) != 0


def add_user(session: Session, name: str, role: str, password: str, actor: str) -> WebUser:
    check_name(name)
    if role not in WEB_ROLES:
        raise InputError(f"--role {role!r}: must be one of {', '.join(WEB_ROLES)}")
    if session.scalar(select(WebUser).where(WebUser.name == name)) is not None:
        raise InputError(f"user {name!r} already exists; `ivr user passwd {name}` changes the password")
    user = WebUser(name=name, role=role, password_hash=hash_password(password), active=True, failed_logins=0)
    session.add(user)
    session.flush()
    audit(session, actor, "user.add", f"web_users:{user.id}", f"{name} role {role}")
    return user


def find_user(session: Session, name: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.name == name))
    if user is None:
        raise NotFoundError(f"user {name!r} does not exist; `ivr user list` shows the users")
    return user


def list_users(session: Session) -> list[WebUser]:
    """Every console user, active or disabled, by name."""
    return list(session.scalars(select(WebUser).order_by(WebUser.name)))


def set_password(session: Session, name: str, password: str, actor: str) -> None:
    user = find_user(session, name)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit(session, actor, "user.passwd", f"web_users:{user.id}", name)


def disable_user(session: Session, name: str, actor: str) -> None:
    user = find_user(session, name)
    user.active = False
    audit(session, actor, "user.disable", f"web_users:{user.id}", name)


@dataclass
class LoginResult:
    user: WebUser | None
    message: str
    """pt-BR, for the login page."""


def login(
    session: Session, name: str, password: str, now: dt.datetime, max_failures: int, lock_seconds: int
) -> LoginResult:
    """Check a login; after ``max_failures`` wrong passwords in a row the account is locked for a while.

    The same message for an unknown user and a wrong password (OWASP authentication cheat sheet).
    """
    user = session.scalar(select(WebUser).where(WebUser.name == name.strip().lower()))
    wrong = LoginResult(None, "Usuário ou senha incorretos.")
    if user is None or not user.active:
        _HASHER.hash("timing-equaliser")  # an unknown name costs as much time as a known one
        return wrong
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(None, f"Muitas tentativas erradas. Tente de novo em {minutes} min.")
    if not password_matches(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + dt.timedelta(seconds=lock_seconds)
            user.failed_logins = 0
            audit(session, f"user:{user.name}", "login.locked", f"web_users:{user.id}")
        return wrong
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit(session, f"user:{user.name}", "login", f"web_users:{user.id}")
    return LoginResult(user, "")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(session: Session, name: str, actor: str) -> str:
    """Create an API token and return it; it is never shown again (only its digest is stored)."""
    check_name(name, "token")
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise InputError(f"token {name!r} already exists; choose another name or `ivr token revoke {name}`")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_sha256=token_digest(token), active=True)
    session.add(row)
    session.flush()
    audit(session, actor, "token.add", f"api_tokens:{row.id}", name)
    return token


def revoke_token(session: Session, name: str, actor: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFoundError(f"token {name!r} does not exist; `ivr token list` shows the tokens")
    row.active = False
    audit(session, actor, "token.revoke", f"api_tokens:{row.id}", name)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every API token row, active or revoked, by name (digests only: tokens are never stored)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


def token_owner(session: Session, token: str) -> ApiToken | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token)))
    if row is None or not row.active:
        return None
    row.last_used_at = utcnow()
    return row
