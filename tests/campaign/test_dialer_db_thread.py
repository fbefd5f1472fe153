"""The dialer's database thread: one thread, work applied in the order it was handed over, failures logged
as one masked line, and closing waits for the queued writes."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from ivr.dialer.dbthread import DatabaseThread


def test_database_thread_keeps_order_logs_failures_in_one_masked_line_and_drains_on_close(
        caplog: pytest.LogCaptureFixture) -> None:
    db = DatabaseThread()
    done: list[int] = []
    threads: set[str] = set()

    def write(n: int) -> None:
        threads.add(threading.current_thread().name)
        time.sleep(0.005)
        done.append(n)

    def fails() -> None:
        raise OperationalError("UPDATE attempts SET note=? WHERE phone = '+5511987654321'", {"phone": "11987654321"},
                               Exception("database is locked"))

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
