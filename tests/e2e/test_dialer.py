"""The AMI dialer against the real Asterisk sandbox: outcome mapping, two dialers on PostgreSQL, SIGKILL.

Only phones that never reach the call service are dialled (busy, never answers, congestion, invalid),
so these tests need no ``ivr serve``."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.db.models import Attempt, Campaign
from ivr.telephony.dialer import Dialer
from tests.e2e.conftest import AsteriskSandbox
from tests.e2e.dialer_helpers import (
    BUSY, CONGESTED, INVALID, NEVER_ANSWERS, campaign_of, dialer_env, shifted_clock, start_dialer,
)

pytestmark = pytest.mark.asterisk


def _settings(monkeypatch: pytest.MonkeyPatch, db_url: str, sandbox: AsteriskSandbox, **dialer: object):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IVR_DATABASE_URL", db_url)
    monkeypatch.setenv("IVR_AMI_SECRET", sandbox.ami_secret)
    for key, value in dialer.items():
        monkeypatch.setenv(f"IVR_DIALER_{key.upper()}", str(value))
    return load_settings()


def _attempts(sessions: sessionmaker[Session]) -> list[Attempt]:
    with sessions() as s:
        return list(s.scalars(select(Attempt).order_by(Attempt.id)))


def test_outcomes_from_the_real_sandbox(asterisk_sandbox: AsteriskSandbox, sessions: sessionmaker[Session],
                                        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, db_url, asterisk_sandbox, ring_timeout_seconds=4, max_concurrent=4,
                         calls_per_second=5)
    camp, debtors = campaign_of(sessions, [BUSY, NEVER_ANSWERS, CONGESTED, INVALID])
    with sessions.begin() as s:
        s.get(Campaign, camp).status = "running"  # type: ignore[union-attr]
    dialer = Dialer(settings, sessions, "sandbox", clock=shifted_clock())
    stats = asyncio.run(asyncio.wait_for(dialer.run(until_idle=True), 60))
    rows = _attempts(sessions)
    by_debtor = {a.debtor_id: a for a in rows}
    assert len(rows) == 4 and stats.originated == 4
    assert {d: (by_debtor[d].state, by_debtor[d].outcome) for d in debtors} == dict(zip(debtors, [
        ("ended", "busy"), ("ended", "no_answer"), ("ended", "failed"), ("ended", "failed"),
    ]))
    never = by_debtor[debtors[1]]
    assert never.started_at and never.ended_at and (never.ended_at - never.started_at).total_seconds() >= 3.5
    assert all(a.action_id == f"ivr-{a.id}" and a.uniqueid == f"ivr-{a.id}" for a in rows)
    asterisk_sandbox.wait_no_channels()
