"""The dialer's event loop does not wait on the database (issue 17): its queries and ledger writes run on one
database thread, in AMI order, and the dialer stops only when the writes queued there are done."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.asterisk.ami import Message, parse_message, parse_trace
from ivr.config import load_settings
from ivr.db.models import Campaign
from ivr.dialer.dbthread import DatabaseThread
from ivr.dialer.dialer import Dialer
from tests.campaign.test_ledger import FIVE, TRACES, _dialing, _rows

DB_DELAY_S = 0.05
"""What every statement costs once the database is made slow: a disk or a network having a bad moment."""
PROBE_S = 0.01
MAX_LAG_S = 0.04
"""Loop lag the dialer may show while the database is that slow: well under one statement's delay. With the
database on the loop it was at least DB_DELAY_S (one statement), in practice several statements in a row."""


def _wire(msg: Message) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in msg.items()) + "\r\n").encode()


class FakeManager:
    """Just enough of Asterisk's manager for a dialer with nothing to dial: Login, CoreShowChannels (the
    attempts' channels are live), and, after the first channel list, a recorded trace written in one burst."""

    def __init__(self, live: list[str], burst: list[Message]) -> None:
        self.live = live
        self.burst = b"".join(_wire(m) for m in burst)
        self.burst_sent = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/7.0.3\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                msg = parse_message(block.decode())
                ident = msg.get("ActionID", "")
                if msg.get("Action") == "Login":
                    writer.write(
                        _wire({"Response": "Success", "ActionID": ident, "Message": "Authentication accepted"})
                    )
                elif msg.get("Action") == "CoreShowChannels":
                    writer.write(_wire({"Response": "Success", "ActionID": ident, "EventList": "start"}))
                    for uid in self.live:
                        writer.write(
                            _wire(
                                {
                                    "Event": "CoreShowChannel",
                                    "ActionID": ident,
                                    "Uniqueid": uid,
                                    "Channel": f"Local/{uid}@ivr-outbound-00000001;1",
                                }
                            )
                        )
                    writer.write(
                        _wire(
                            {
                                "Event": "CoreShowChannelsComplete",
                                "ActionID": ident,
                                "EventList": "Complete",
                                "ListItems": str(len(self.live)),
                            }
                        )
                    )
                    if not self.burst_sent.is_set():
                        self.burst_sent.set()
                        self.live = []  # the calls of the trace all end
                        writer.write(self.burst)
                else:
                    writer.write(_wire({"Response": "Error", "ActionID": ident, "Message": "not in this fake"}))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def slow_database(sessions: sessionmaker[Session]) -> Iterator[threading.Event]:
    """Every statement sleeps DB_DELAY_S once the returned flag is set (a real database, made slow)."""
    engine = sessions.kw["bind"]
    slow = threading.Event()

    def before_cursor_execute(*_: Any) -> None:
        if slow.is_set():
            time.sleep(DB_DELAY_S)

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    yield slow
    event.remove(engine, "before_cursor_execute", before_cursor_execute)


def test_a_slow_database_does_not_block_the_dialers_loop(
    sessions: sessionmaker[Session],
    db_url: str,
    slow_database: threading.Event,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A burst of recorded AMI events (five calls ending) reaches a dialer whose database takes 50 ms a
    statement: the loop keeps its 10 ms timers, and the ledger still ends as the trace says (AMI order kept)."""
    _dialing(sessions, FIVE)  # five attempts dialling, owned by dialer d1, in campaign c1
    with sessions.begin() as s:
        s.execute(
            update(Campaign).where(Campaign.name == "c1").values(status="paused")
        )  # nothing new is dialled: only the trace's events reach the ledger
    events = [m for m in parse_trace((TRACES / "sandbox_five_calls.txt").read_text()) if "Event" in m]
    lags: list[float] = []

    async def scenario() -> None:
        manager = FakeManager([f"ivr-{i}" for i in FIVE], events)
        port = await manager.start()
        settings = load_settings(
            None,
            env={
                "IVR_DATABASE_URL": db_url,
                "IVR_DATA_DIR": str(tmp_path / "var"),
                "IVR_AMI_PORT": str(port),
                "IVR_AMI_SECRET": "fake",
                "IVR_DIALER_SERVICE_CHECK": "false",
                "IVR_DIALER_OUTCOME_GRACE_SECONDS": "0",
            },
        )
        dialer = Dialer(settings, sessions, "c1", dialer_id="d1", poll_seconds=0.05, housekeeping_seconds=0.1)
        done = asyncio.Event()

        async def probe() -> None:
            await manager.burst_sent.wait()  # the lag while the burst is reconciled
            while not done.is_set():
                start = time.perf_counter()
                await asyncio.sleep(PROBE_S)
                lags.append(time.perf_counter() - start - PROBE_S)

        probing = asyncio.create_task(probe())
        slow_database.set()
        try:
            await asyncio.wait_for(dialer.run(until_idle=True), 120)
        finally:
            done.set()
            slow_database.clear()
            await probing
            await manager.close()

    asyncio.run(scenario())
    worst = max(lags)
    with capsys.disabled():
        print(
            f"\n[{db_url.split(':')[0]}] dialer loop lag with {DB_DELAY_S * 1000:.0f} ms statements: "
            f"max {worst * 1000:.1f} ms over {len(lags)} probes"
        )
    assert worst < MAX_LAG_S, f"the dialer's loop stalled {worst * 1000:.0f} ms: the database ran on it"
    assert len(lags) >= 10, "the probe ran while the dialer reconciled the burst"
    rows = _rows(sessions)
    assert {i: (rows[i].state, rows[i].outcome) for i in FIVE[:4]} == {
        9004: ("ended", "busy"),
        9008: ("ended", "failed"),
        9099: ("ended", "failed"),
        9005: ("ended", "no_answer"),
    }
    # OriginateResponse (answered) was applied before the Hangup that ends the call: AMI's order.
    answered = rows[9007]
    assert answered.state == "ended" and answered.answered_at is not None and answered.duration_s is not None


def test_database_thread_keeps_order_logs_failures_in_one_masked_line_and_drains_on_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = DatabaseThread()
    done: list[int] = []
    threads: set[str] = set()

    def write(n: int) -> None:
        threads.add(threading.current_thread().name)
        time.sleep(0.005)
        done.append(n)

    def fails() -> None:
        raise OperationalError(
            "UPDATE attempts SET note=? WHERE phone = '+5511987654321'",
            {"phone": "11987654321"},
            Exception("database is locked"),
        )

    async def scenario() -> None:
        for n in range(5):
            db.post("AMI Hangup of attempt 1", write, n)
        db.post("AMI OriginateResponse of attempt 2", fails)
        for n in range(5, 10):
            db.post("AMI Hangup of attempt 3", write, n)
        assert len(done) < 10  # posting waited for nothing (50 ms of writes are queued)...
        await db.aclose()  # ...and closing waits for every queued write

    with caplog.at_level(logging.WARNING, logger="ivr.dialer.dbthread"):
        asyncio.run(scenario())
    assert done == list(range(10))
    assert len(threads) == 1 and threads.pop().startswith("ivr-db")
    assert db.failures == 1
    [record] = caplog.records
    line = record.getMessage()
    assert "\n" not in line and "OperationalError" in line and "attempt 2" in line
    assert "987654321" not in line and "UPDATE" not in line
