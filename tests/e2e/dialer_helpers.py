"""Helpers for the dialer's end-to-end tests: a shifted clock, campaigns of simulated phones, dialer processes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ivr.testing.factories import make_campaign, make_debtor

REPO = Path(__file__).resolve().parents[2]
BRT = dt.timezone(dt.timedelta(hours=-3))
OPEN_INSTANT = dt.datetime(2026, 3, 9, 14, 0, tzinfo=BRT)
"""A Monday afternoon inside every calling window: the tests' dialers live at this instant plus elapsed time."""

BUSY = "11990000004"
NEVER_ANSWERS = "11990000005"
CONGESTED = "11990000008"
INVALID = "11999999999"


def shifted_clock(start: dt.datetime = OPEN_INSTANT):
    """A clock that reads ``start`` now and advances in real time (the dialer's timers stay real)."""
    offset = start - dt.datetime.now(dt.timezone.utc)
    return lambda: dt.datetime.now(dt.timezone.utc) + offset


def campaign_of(sessions: sessionmaker[Session], numbers: list[str], name: str = "sandbox") -> tuple[int, list[int]]:
    camp = make_campaign(sessions, name)
    return camp, [make_debtor(sessions, camp, [n], amount=f"{1000 + i}.00") for i, n in enumerate(numbers)]


RUNNER = """
import asyncio, datetime as dt, sys
from ivr.config import load_settings
from ivr.db.session import open_database
from ivr.privacy import setup_logging
from ivr.dialer.dialer import Dialer
start = dt.datetime.fromisoformat(sys.argv[2]); epoch = float(sys.argv[3])
offset = start - dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
settings = load_settings()
setup_logging("INFO")
dialer = Dialer(settings, open_database(settings.database_url), sys.argv[1],
                clock=lambda: dt.datetime.now(dt.timezone.utc) + offset)
stats = asyncio.run(dialer.run(until_idle=True))
print("STATS", stats.originated, stats.recovered, flush=True)
"""


def dialer_env(db_url: str, **dialer: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "IVR_DATABASE_URL": db_url,
            "IVR_AMI_SECRET": os.environ.get("IVR_AMI_SECRET", "sandbox-secret"),
            "IVR_PRIVACY_HMAC_KEY": "test",
            "PYTHONPATH": str(REPO),
            # These dialers call phones that never reach the call service: none runs.
            "IVR_DIALER_SERVICE_CHECK": "false",
        }
    )
    env.update({f"IVR_DIALER_{k.upper()}": str(v) for k, v in dialer.items()})
    return env


def start_dialer(campaign: str, env: dict[str, str], epoch: float, log: Path) -> subprocess.Popen[bytes]:
    """A dialer process (``--until-idle``) whose clock reads OPEN_INSTANT at ``epoch`` (time.time())."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-c", RUNNER, campaign, OPEN_INSTANT.isoformat(), str(epoch)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
