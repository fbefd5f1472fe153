"""The delivery worker: POSTs outbox events to the creditor's webhook, signed, at least once.

Each round claims due events under a lease (a transaction sets ``lease_owner``/``lease_expires_at``; on
PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers share the outbox), POSTs each one and records
the result in a second transaction. A worker killed mid-delivery leaves the lease to expire; the next worker
sends the event again with the SAME ``Idempotency-Key`` and the same body, so the receiver keeps it once.

Headers: ``Content-Type: application/json``, ``Idempotency-Key``, ``X-IVR-Event`` and
``X-IVR-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``. A 2xx answer is delivered; anything else,
a timeout or a refused connection is a failure, retried after ``backoff_seconds × 2^(n-1)`` (at most
``backoff_max_seconds``); after ``max_deliveries`` failures the event is dead (``ivr outbox retry``).
HTTP is the standard library's ``urllib``: one POST per event needs no client library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import OutboxSettings
from ivr.db.models import OutboxEvent, utcnow
from ivr.errors import ConfigError
from ivr.outbox.events import body_bytes

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-IVR-Signature"
EVENT_HEADER = "X-IVR-Event"
KEY_HEADER = "Idempotency-Key"
BATCH = 20


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>``: the X-IVR-Signature header value for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the signature over the raw body, compare in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def check_settings(settings: OutboxSettings) -> None:
    """ConfigError (one line naming the key) when the worker cannot run with these settings."""
    if not settings.webhook_url:
        raise ConfigError(
            "setting outbox.webhook_url is empty: set it (or IVR_OUTBOX_WEBHOOK_URL) to the creditor's https webhook"
        )
    if not settings.webhook_url.startswith(("https://", "http://")):
        raise ConfigError(f"setting outbox.webhook_url: {settings.webhook_url!r} is not an http(s) URL")
    if not settings.webhook_secret:
        raise ConfigError(
            "the webhook secret is missing: set IVR_OUTBOX_WEBHOOK_SECRET in the environment "
            "(the receiver verifies X-IVR-Signature with it)"
        )
    if settings.max_deliveries < 1:
        raise ConfigError("setting outbox.max_deliveries must be at least 1")
    if settings.lease_seconds <= settings.timeout_seconds:
        raise ConfigError(
            "setting outbox.lease_seconds must be longer than outbox.timeout_seconds "
            "(else a slow answer lets a second worker send the event too)"
        )


def backoff(settings: OutboxSettings, failures: int) -> dt.timedelta:
    """Wait after the ``failures``-th failure: base × 2^(failures-1), capped."""
    seconds = settings.backoff_seconds * (2 ** max(failures - 1, 0))
    return dt.timedelta(seconds=min(seconds, settings.backoff_max_seconds))


@dataclass
class RoundResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    claimed: int = 0


@dataclass
class Worker:
    settings: OutboxSettings
    sessions: sessionmaker[Session]
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    clock: Callable[[], dt.datetime] = utcnow

    def __post_init__(self) -> None:
        check_settings(self.settings)
        self._secret = self.settings.webhook_secret.encode()

    def claim(self) -> list[tuple[int, str, str, bytes]]:
        """Lease due events: (id, type, key, body)."""
        now = self.clock()
        with self.sessions.begin() as s:
            query = (
                select(OutboxEvent)
                .where(
                    OutboxEvent.state == "pending",
                    OutboxEvent.next_attempt_at <= now,
                    or_(OutboxEvent.lease_expires_at.is_(None), OutboxEvent.lease_expires_at < now),
                )
                .order_by(OutboxEvent.id)
                .limit(BATCH)
            )
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            events = list(s.scalars(query))
            lease = now + dt.timedelta(seconds=self.settings.lease_seconds)
            for ev in events:
                ev.lease_owner, ev.lease_expires_at = self.owner, lease
            return [(ev.id, ev.event_type, ev.idempotency_key, body_bytes(ev.payload)) for ev in events]

    def post(self, event_type: str, key: str, body: bytes) -> str | None:
        """None when the receiver answered 2xx; else why not (one line)."""
        request = urllib.request.Request(
            self.settings.webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                KEY_HEADER: key,
                EVENT_HEADER: event_type,
                SIGNATURE_HEADER: sign(self._secret, body),
                "User-Agent": "ivr-cobranca-outbox/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as response:
                response.read(65536)
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{type(reason).__name__}: {reason}"

    def settle(self, event_id: int, error: str | None) -> str:
        """Record one delivery's result, if this worker still holds the lease; the event's new state."""
        now = self.clock()
        with self.sessions.begin() as s:
            ev = s.get(OutboxEvent, event_id, with_for_update=True)
            if ev is None or ev.state != "pending" or ev.lease_owner != self.owner:
                return ev.state if ev is not None else "gone"
            ev.lease_owner, ev.lease_expires_at = None, None
            if error is None:
                ev.state, ev.delivered_at, ev.last_error = "delivered", now, None
                return ev.state
            ev.deliveries += 1
            ev.last_error = error[:500]
            if ev.deliveries >= self.settings.max_deliveries:
                ev.state = "dead"
                log.warning(
                    "outbox event %s (%s) is dead after %s failures: %s", ev.id, ev.event_type, ev.deliveries, error
                )
            else:
                ev.next_attempt_at = now + backoff(self.settings, ev.deliveries)
            return ev.state

    def run_once(self) -> RoundResult:
        """Deliver one claimed batch. The batch shares one lease: an event is sent only while its lease
        outlasts one more request (else another worker may already have claimed it); the rest wait for the
        next round."""
        result = RoundResult()
        claimed_at = self.clock()
        last_start = claimed_at + dt.timedelta(seconds=self.settings.lease_seconds - self.settings.timeout_seconds)
        for event_id, event_type, key, body in self.claim():
            if self.clock() >= last_start:
                log.info("outbox lease running out: the rest of the batch waits for the next round")
                break
            result.claimed += 1
            error = self.post(event_type, key, body)
            state = self.settle(event_id, error)
            if error is None:
                result.delivered += 1
                log.info("outbox event %s (%s) delivered", event_id, event_type)
            else:
                result.failed += 1
                result.dead += state == "dead"
                log.info("outbox event %s (%s) not delivered: %s", event_id, event_type, error)
        return result

    def next_due(self) -> dt.datetime | None:
        with self.sessions() as s:
            return s.scalar(
                select(OutboxEvent.next_attempt_at)
                .where(OutboxEvent.state == "pending")
                .order_by(OutboxEvent.next_attempt_at)
                .limit(1)
            )

    def run(self, stop: threading.Event | None = None, until_idle: bool = False) -> RoundResult:
        """Deliver until ``stop`` is set (or, with ``until_idle``, until nothing is pending or all is dead)."""
        stop = stop or threading.Event()
        total = RoundResult()
        while not stop.is_set():
            try:
                done = self.run_once()
            except Exception:  # the database went away, say: keep the worker alive, try again
                log.exception("outbox round failed; retrying in %.0f s", self.settings.poll_seconds)
                done = RoundResult()
            total.delivered += done.delivered
            total.failed += done.failed
            total.dead += done.dead
            total.claimed += done.claimed
            if until_idle and done.claimed == 0 and self.next_due() is None:
                break
            if done.claimed == 0:
                stop.wait(self.settings.poll_seconds)
        return total


def start_in_thread(
    settings: OutboxSettings, sessions: sessionmaker[Session]
) -> tuple[threading.Thread, threading.Event]:
    """The worker on a daemon thread (``ivr serve``); set the event to stop it."""
    worker = Worker(settings, sessions)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="outbox", daemon=True)
    thread.start()
    return thread, stop
