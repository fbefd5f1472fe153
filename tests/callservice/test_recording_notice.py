"""The recording notice is said only when Asterisk really records (IVR_RECORDING_FILE set by the dialplan's
MixMonitor step), with Asterisk's side played by the FAKE in fake_asterisk.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.db.models import Turn
from ivr.db.session import dispose_engines, open_database
from ivr.callservice.call import Speech
from ivr.callservice.service import CallService
from ivr.testing import factories
from tests.support.faulty_asterisk import FakeCall


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    sessions = open_database(f"sqlite:///{tmp_path_factory.mktemp('notice') / 'ivr.db'}")
    yield sessions
    dispose_engines()


def test_notice_only_when_the_call_is_really_recorded(
    db: sessionmaker[Session], speech: Speech, caplog: pytest.LogCaptureFixture
) -> None:
    ids = {}
    for n, (name, records) in enumerate((("recorded", True), ("not-started", True), ("not-recording", False))):
        camp = factories.campaign(db, name=f"notice-{name}", records_calls=records)
        d, p, debt = factories.debtor(db, camp, 800 + n)
        ids[name] = factories.attempt(db, camp, d, p, debt)

    def recording_started(call: FakeCall, cmd: str, n: int) -> str | None:
        if cmd == "GET VARIABLE IVR_RECORDING_FILE":
            return "200 result=1 (/var/spool/asterisk/monitor/ivr/ivr-1.wav)\n"
        return None

    async def run() -> list[FakeCall]:
        svc = CallService(
            load_settings(None, env={"IVR_SERVICE_AGI_PORT": "0", "IVR_SERVICE_AUDIOSOCKET_PORT": "0"}), db, speech
        )
        await svc.start()
        try:
            return list(
                await asyncio.gather(
                    FakeCall(svc.agi_port, ids["recorded"], reply_override=recording_started).run(90),
                    FakeCall(svc.agi_port, ids["not-started"]).run(90),
                    FakeCall(svc.agi_port, ids["not-recording"]).run(90),
                )
            )
        finally:
            await svc.stop()

    with caplog.at_level(logging.WARNING, logger="ivr.callservice.service"):
        calls = asyncio.run(run())
    said = {}
    with db() as s:
        for name, aid in ids.items():
            said[name] = " ".join(
                t.text for t in s.scalars(select(Turn).where(Turn.attempt_id == aid, Turn.speaker == "bot"))
            )
    assert all(c.variables.get("IVR_OUTCOME") == "transferred" for c in calls), [c.commands for c in calls]
    assert "gravada" in said["recorded"]
    assert "gravada" not in said["not-started"] and "gravada" not in said["not-recording"]
    assert said["not-started"] and said["not-recording"]
    assert "GET VARIABLE IVR_RECORDING_FILE" not in calls[2].commands  # a campaign that does not record: no query
    warned = [r.getMessage() for r in caplog.records if "started no recording" in r.getMessage()]
    assert len(warned) == 1 and f"attempt {ids['not-started']}:" in warned[0]
