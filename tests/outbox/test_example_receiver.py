"""The example receiver in examples/ runs, verifies signatures, and keeps each event once across retries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ivr.outbox.delivery import Worker
from tests.outbox.test_outbox import SECRET, _events, _promise, outbox_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_example_receiver(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    port, store = _free_port(), tmp_path / "eventos.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", str(port), "--store", str(store)],
        env={**os.environ, "IVR_OUTBOX_WEBHOOK_SECRET": SECRET},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and "listening" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/ivr"
        _promise(sessions, 0)
        assert Worker(outbox_settings(url), sessions).run(until_idle=True).delivered == 3
        kept = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines()]
        assert [e["type"] for e in kept] == ["promise.created", "payment_instruction.requested", "call.completed"]
        # The same event again (a retry after a lost answer): 200, not stored twice.
        first = _events(sessions)[0]
        with sessions.begin() as s:
            s.get(type(first), first.id).state = "pending"  # type: ignore[union-attr]
        Worker(outbox_settings(url), sessions).run(until_idle=True)
        assert len(store.read_text(encoding="utf-8").splitlines()) == 3
        forged = urllib.request.Request(
            url, data=b'{"id": "x"}', method="POST", headers={"X-IVR-Signature": "sha256=00", "Idempotency-Key": "x"}
        )
        try:
            urllib.request.urlopen(forged, timeout=5)
            raise AssertionError("a forged event was accepted")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
            exc.close()
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
