"""The dialer's handling of IvrHangup with a Recording: the call's end reaches the ledger even when keeping
the recording row fails (the ledger, not the recording, decides whether the debtor is called again)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import recordings
from ivr.db.models import Attempt
from ivr.dialer.dialer import Dialer
from ivr.testing import factories
from tests.recordings.test_recordings import _settings


def test_a_failing_recording_row_does_not_lose_the_hangup(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = _settings(tmp_path)
    camp = factories.campaign(sessions, name="rec-event")
    d, p, debt = factories.debtor(sessions, camp, 1)
    aid = factories.attempt(sessions, camp, d, p, debt, state="answered")
    with sessions.begin() as s:
        row = s.get(Attempt, aid)
        assert row is not None
        row.answered_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
    dialer = Dialer(st, sessions, "rec-event")

    def fake_db_down(*_: object, **__: object) -> bool:  # fake: the database refuses the recording row
        raise OperationalError("INSERT INTO recordings", {}, Exception("database is locked"))

    monkeypatch.setattr(recordings, "note_reported", fake_db_down)
    dialer._on_event(
        {
            "Event": "UserEvent",
            "UserEvent": "IvrHangup",
            "AttemptId": str(aid),
            "Cause": "16",
            "Recording": recordings.asterisk_path(st, aid),
        }
    )
    dialer.db.drain()  # the callback only queued the work on the dialer's database thread
    with sessions() as s:
        row = s.get(Attempt, aid)
        assert row is not None and row.state == "ended"
