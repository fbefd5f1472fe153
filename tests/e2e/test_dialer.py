"""The AMI dialer against the real Asterisk sandbox: outcome mapping, two dialers on PostgreSQL, SIGKILL.

Only phones that never reach the call service are dialled (busy, never answers, congestion, invalid),
so these tests need no ``ivr serve``."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.db.models import Attempt, Campaign
from ivr.dialer.dialer import Dialer
from tests.e2e.conftest import AsteriskSandbox
from tests.e2e.test_calls import _offset_attempt_ids
from tests.e2e.dialer_helpers import (
    BUSY,
    CONGESTED,
    INVALID,
    NEVER_ANSWERS,
    campaign_of,
    dialer_env,
    shifted_clock,
    start_dialer,
)

pytestmark = pytest.mark.asterisk


def _settings(monkeypatch: pytest.MonkeyPatch, db_url: str, sandbox: AsteriskSandbox, **dialer: object):
    monkeypatch.setenv("IVR_DATABASE_URL", db_url)
    monkeypatch.setenv("IVR_AMI_SECRET", sandbox.ami_secret)
    monkeypatch.setenv("IVR_DIALER_SERVICE_CHECK", "false")  # these phones never reach the call service
    for key, value in dialer.items():
        monkeypatch.setenv(f"IVR_DIALER_{key.upper()}", str(value))
    return load_settings()


def _attempts(sessions: sessionmaker[Session], campaign_id: int) -> list[Attempt]:
    with sessions() as s:
        return list(s.scalars(select(Attempt).where(Attempt.campaign_id == campaign_id).order_by(Attempt.id)))


def test_outcomes_from_the_real_sandbox(
    asterisk_sandbox: AsteriskSandbox, sessions: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(
        monkeypatch, db_url, asterisk_sandbox, ring_timeout_seconds=4, max_concurrent=4, calls_per_second=5
    )
    camp, debtors = campaign_of(sessions, [BUSY, NEVER_ANSWERS, CONGESTED, INVALID])
    above = _offset_attempt_ids(db_url)
    with sessions.begin() as s:
        s.get(Campaign, camp).status = "running"  # type: ignore[union-attr]
    dialer = Dialer(settings, sessions, "sandbox", clock=shifted_clock())
    stats = asyncio.run(asyncio.wait_for(dialer.run(until_idle=True), 60))
    rows = _attempts(sessions, camp)
    by_debtor = {a.debtor_id: a for a in rows}
    assert len(rows) == 4 and stats.originated == 4
    assert {d: (by_debtor[d].state, by_debtor[d].outcome) for d in debtors} == dict(
        zip(
            debtors,
            [
                ("ended", "busy"),
                ("ended", "no_answer"),
                ("ended", "failed"),
                ("ended", "failed"),
            ],
        )
    ), [(a.id, a.hangup_cause, a.note, a.started_at, a.ended_at, stats) for a in rows]
    never = by_debtor[debtors[1]]
    assert never.started_at and never.ended_at and (never.ended_at - never.started_at).total_seconds() >= 3.5
    assert all(a.action_id == f"ivr-{a.id}" and a.uniqueid == f"ivr-{a.id}" for a in rows)
    asterisk_sandbox.wait_no_channels(attempts_above=above)


def _max_overlap(rows: list[Attempt]) -> int:
    """Most attempts live at one instant, from the ledger's [scheduled_at, ended_at] intervals."""
    points = sorted(
        [(a.scheduled_at, 1) for a in rows] + [(a.ended_at, -1) for a in rows if a.ended_at], key=lambda p: (p[0], p[1])
    )
    live = peak = 0
    for _, step in points:
        live += step
        peak = max(peak, live)
    return peak


@pytest.mark.postgres
def test_two_dialers_on_postgres_share_one_campaign(
    asterisk_sandbox: AsteriskSandbox, postgres, tmp_path: Path
) -> None:
    from ivr.db.session import dispose_engines, open_database

    url = postgres.new_database()
    sessions = open_database(url)
    numbers = [NEVER_ANSWERS, BUSY, CONGESTED] * 6  # 18 people, one call each (retries wait 15+ minutes)
    camp, debtors = campaign_of(sessions, numbers)
    above = _offset_attempt_ids(url)
    with sessions.begin() as s:
        s.get(Campaign, camp).status = "running"  # type: ignore[union-attr]
    # Each process handles at most 2 calls, the trunk 3: both must dial, and the global cap must hold.
    env = dialer_env(url, ring_timeout_seconds=3, max_concurrent=3, calls_per_second=4, process_max_concurrent=2)
    env["IVR_AMI_SECRET"] = asterisk_sandbox.ami_secret
    epoch = time.time()
    procs = [start_dialer("sandbox", env, epoch, tmp_path / f"dialer{i}.log") for i in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0, (tmp_path / "dialer0.log").read_text() + (tmp_path / "dialer1.log").read_text()
    rows = _attempts(sessions, camp)
    per_person = {d: sum(a.debtor_id == d for a in rows) for d in debtors}
    assert set(per_person.values()) == {1}, per_person
    assert len({a.lease_owner for a in rows}) == 2  # both dialers really dialled
    assert all(a.state == "ended" and a.outcome in ("no_answer", "busy", "failed") for a in rows)
    assert _max_overlap(rows) <= 3
    asterisk_sandbox.wait_no_channels(attempts_above=above)
    dispose_engines()


def test_sigkill_dialer_mid_campaign_then_restart(
    asterisk_sandbox: AsteriskSandbox, sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    """Kill -9 the dialer while calls ring; a new dialer recovers them and finishes; nobody is dialled twice."""
    numbers = [NEVER_ANSWERS] * 4 + [BUSY] * 2
    camp, debtors = campaign_of(sessions, numbers)
    above = _offset_attempt_ids(db_url)
    with sessions.begin() as s:
        s.get(Campaign, camp).status = "running"  # type: ignore[union-attr]
    env = dialer_env(db_url, ring_timeout_seconds=8, max_concurrent=3, calls_per_second=5, lease_seconds=3)
    env["IVR_AMI_SECRET"] = asterisk_sandbox.ami_secret
    epoch = time.time()
    first = start_dialer("sandbox", env, epoch, tmp_path / "first.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sessions() as s:
            if (
                s.scalar(
                    select(func.count())
                    .select_from(Attempt)
                    .where(Attempt.campaign_id == camp, Attempt.state == "dialing")
                )
                >= 2
            ):
                break
        time.sleep(0.1)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed_during = {a.id for a in _attempts(sessions, camp) if a.state != "ended"}
    assert killed_during, "the dialer was killed before any call was in progress"
    second = start_dialer("sandbox", env, epoch, tmp_path / "second.log")
    assert second.wait(timeout=120) == 0, (tmp_path / "second.log").read_text()
    rows = _attempts(sessions, camp)
    assert all(a.state == "ended" and a.outcome is not None for a in rows), [(a.id, a.state, a.outcome) for a in rows]
    per_person = {d: sum(a.debtor_id == d for a in rows) for d in debtors}
    assert set(per_person.values()) == {1}, per_person
    assert _max_overlap(rows) <= 3
    asterisk_sandbox.wait_no_channels(attempts_above=above)


def test_the_dialer_unit_is_told_ready_fed_and_stopping(
    asterisk_sandbox: AsteriskSandbox, sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    """``ivr campaign run`` as ivr-dialer@.service starts it (Type=notify, WatchdogSec=): READY=1 when its
    loop runs, watchdog pings while it dials, STOPPING=1 when the campaign is done (sd_notify(3))."""
    import subprocess
    import sys

    from tests.callservice.test_sdnotify import SystemdSocket
    from tests.e2e.dialer_helpers import OPEN_INSTANT

    camp, _ = campaign_of(sessions, [BUSY, NEVER_ANSWERS])
    above = _offset_attempt_ids(db_url)
    with sessions.begin() as s:
        s.get(Campaign, camp).status = "running"  # type: ignore[union-attr]
    env = dialer_env(db_url, ring_timeout_seconds=3, max_concurrent=2, calls_per_second=5)
    env["IVR_AMI_SECRET"] = asterisk_sandbox.ami_secret
    systemd = SystemdSocket(tmp_path / "notify")
    env.update(NOTIFY_SOCKET=str(systemd.path), WATCHDOG_USEC="2000000")  # WatchdogSec=2s
    log = tmp_path / "dialer.log"
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from ivr.cli import main; sys.exit(main())"]
                + ["campaign", "run", "sandbox", "--until-idle", "--as-of", OPEN_INSTANT.isoformat()],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        ready_at = systemd.wait_for("READY=1", 60, proc, log)
        deadline = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < deadline:
            systemd.collect(time.monotonic() + 0.1)  # read as they come: the arrival times are the test
        assert proc.wait(timeout=5) == 0, log.read_text()[-3000:]
        systemd.collect(time.monotonic() + 0.3)
    finally:
        systemd.close()
    stopping = systemd.times("STOPPING=1")
    assert len(stopping) == 1 and systemd.count("READY=1") == 1
    assert systemd.longest_watchdog_gap(ready_at, stopping[0]) < 2.0, systemd.messages
    assert {a.outcome for a in _attempts(sessions, camp)} == {"busy", "no_answer"}
    asterisk_sandbox.wait_no_channels(attempts_above=above)
