"""The outbox: events in the transaction of what they describe; delivery to a REAL local HTTP server.

The receiver here is a real ``http.server`` on a free port that verifies the signature itself (its own
HMAC, not the worker's helper), keeps events by idempotency key, and can be told to fail or stall.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import OutboxSettings
from ivr.db import results
from ivr.db.models import OutboxEvent, PaymentInstructionRecord, PromisePlanRecord, Review
from ivr.dialog.offers import Balance, InstallmentsOffer, installment_plan, proposal, PromisePlan
from ivr.outbox.delivery import Worker
from ivr.outbox.events import schema
from ivr.payment.instructions import PaymentInstruction
from ivr.testing import factories

SECRET = "segredo-de-teste"
D = Decimal


@dataclass
class Receiver:
    """A real webhook receiver: verifies signatures, stores each key once, can fail or stall on request.

    Header names arrive in any case (HTTP headers are case-insensitive): they are looked up lower-cased."""

    fail_first: int = 0
    """Answer 500 to the first N POSTs of every key."""
    always_fail: bool = False
    stall_first_s: float = 0.0
    """Store the very first event, then wait this long before answering (a slow or hung receiver)."""
    requests: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    stored: dict[str, dict[str, object]] = field(default_factory=dict)
    duplicates: int = 0
    bad_signatures: int = 0
    stalled: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        key = headers.get("idempotency-key", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        with self.lock:
            self.requests.append((key, body, headers))
            if not hmac.compare_digest(expected, headers.get("x-ivr-signature", "")):
                self.bad_signatures += 1
                return 401
            seen = sum(1 for k, _, _ in self.requests if k == key)
            if self.always_fail or seen <= self.fail_first:
                return 500
            if key in self.stored:
                self.duplicates += 1
                return 200
            self.stored[key] = json.loads(body)
            stall = self.stall_first_s and len(self.stored) == 1
        if stall:
            self.stalled.set()
            time.sleep(self.stall_first_s)
        return 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.handle(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def outbox_settings(url: str, **kw: object) -> OutboxSettings:
    base: dict[str, object] = {
        "webhook_url": url,
        "webhook_secret": SECRET,
        "backoff_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "poll_seconds": 0.05,
        "timeout_seconds": 2.0,
        "lease_seconds": 5.0,
    }
    base.update(kw)
    return OutboxSettings(**base)  # type: ignore[arg-type]


def _call(sessions: sessionmaker[Session], n: int) -> tuple[int, int]:
    camp = factories.campaign(sessions, name=f"c{n}") if n == 0 else _camp_id(sessions)
    debtor, phone, debt = factories.debtor(sessions, camp, n, amount="350.00")
    return factories.attempt(sessions, camp, debtor, phone, debt), debtor


def _camp_id(sessions: sessionmaker[Session]) -> int:
    from ivr.db.models import Campaign

    with sessions() as s:
        return s.scalars(select(Campaign.id)).first() or factories.campaign(sessions, name="c")


TODAY = dt.date(2026, 12, 1)


def _plan() -> PromisePlan:
    plan = installment_plan(
        Balance(D("350.00")), InstallmentsOffer(max=3, down_payment_percent=D("20")), 3, dt.date(2026, 12, 5), TODAY, 10
    )
    assert isinstance(plan, PromisePlan)
    return plan


def _promise(sessions: sessionmaker[Session], n: int) -> int:
    attempt, _ = _call(sessions, n)
    plan = _plan()
    pix = PaymentInstruction(
        "pix", "whatsapp", "+5511987654321", "00020126...6304ABCD", plan.first.amount, plan.first.date
    )
    assert results.record_outcome(sessions, attempt, "promise_to_pay", plan=plan, payment=pix)
    return attempt


def _events(sessions: sessionmaker[Session]) -> list[OutboxEvent]:
    with sessions() as s:
        return list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def test_a_promise_stores_its_plan_and_writes_its_events(sessions: sessionmaker[Session]) -> None:
    attempt = _promise(sessions, 0)
    with sessions() as s:
        plan = s.scalars(select(PromisePlanRecord)).one()
        assert plan.offer_type == "installments" and plan.down_payment and plan.promise_id is not None
        assert [i.amount for i in plan.items] == [D("70.01"), D("93.33"), D("93.33"), D("93.33")]
        assert sum(i.amount for i in plan.items) == plan.total == plan.original_balance - plan.discount
        assert plan.promise is not None and plan.promise.installments == 3 and plan.promise.amount == D("70.01")
        instruction = s.scalars(select(PaymentInstructionRecord)).one()
        assert instruction.plan_id == plan.id and instruction.method == "pix"
    events = _events(sessions)
    assert [e.event_type for e in events] == ["promise.created", "payment_instruction.requested", "call.completed"]
    validator = jsonschema.Draft202012Validator(schema())
    for ev in events:
        validator.validate(ev.payload)
        assert ev.payload["id"] == ev.idempotency_key and ev.payload["attempt_id"] == attempt
    promise = events[0].payload["data"]
    assert promise["offer_type"] == "installments" and promise["total"] == "350.00"
    assert promise["items"][0] == {"date": "2026-12-05", "amount": "70.01"}
    assert events[1].payload["data"]["destination"] == "+5511987654321"
    assert events[2].payload["data"]["outcome"] == "promise_to_pay"


def test_a_proposal_is_reviewed_with_the_debtors_terms(sessions: sessionmaker[Session]) -> None:
    attempt, _ = _call(sessions, 0)
    terms = proposal(Balance(D("350.00")), [(dt.date(2027, 1, 5), D("350.00"))])
    results.record_outcome(sessions, attempt, "proposal", plan=terms, note="salário dia 5")
    with sessions() as s:
        review = s.scalars(select(Review)).one()
        assert review.kind == "proposal" and review.note == "salário dia 5"
        assert s.scalars(select(PromisePlanRecord)).one().offer_type == "proposal"
    events = _events(sessions)
    assert [e.event_type for e in events] == ["review.opened", "call.completed"]
    assert events[0].payload["data"]["proposal"]["items"] == [{"date": "2027-01-05", "amount": "350.00"}]
    jsonschema.Draft202012Validator(schema()).validate(events[0].payload)


def test_callbacks_and_dialer_outcomes(sessions: sessionmaker[Session]) -> None:
    attempt, _ = _call(sessions, 0)
    results.record_outcome(sessions, attempt, "callback_scheduled", callback_at=dt.date(2026, 12, 3))
    other, _ = _call(sessions, 1)
    results.record_outcome(sessions, other, "busy")  # not answered: no call.completed
    types = [e.event_type for e in _events(sessions)]
    assert types == ["callback.scheduled", "call.completed"]
    assert _events(sessions)[0].payload["data"]["due_at"].startswith("2026-12-03T")


def test_a_rolled_back_result_leaves_no_event(sessions: sessionmaker[Session]) -> None:
    attempt, debtor = _call(sessions, 0)
    with pytest.raises(RuntimeError):
        with sessions.begin() as s:
            s.add(Review(debtor_id=debtor, attempt_id=attempt, kind="dispute"))
            s.flush()
            raise RuntimeError("crash before commit")
    assert _events(sessions) == []


def test_delivered_and_signed(sessions: sessionmaker[Session], receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    _promise(sessions, 0)
    result = Worker(outbox_settings(url), sessions).run(until_idle=True)
    assert result.delivered == 3 and result.failed == 0
    assert state.bad_signatures == 0 and len(state.stored) == 3
    for key, body, headers in state.requests:
        assert headers["content-type"] == "application/json"
        assert headers["x-ivr-event"] == json.loads(body)["type"]
        assert json.loads(body)["id"] == key
    assert all(e.state == "delivered" and e.delivered_at for e in _events(sessions))


def test_wrong_secret_is_refused_and_retried(sessions: sessionmaker[Session], receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    _promise(sessions, 0)
    Worker(outbox_settings(url, webhook_secret="outro", max_deliveries=2), sessions).run(until_idle=True)
    assert state.bad_signatures == 6 and state.stored == {}
    assert {e.state for e in _events(sessions)} == {"dead"} and "HTTP 401" in (_events(sessions)[0].last_error or "")


def test_retried_after_a_500(sessions: sessionmaker[Session], receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    state.fail_first = 2
    _promise(sessions, 0)
    started = time.monotonic()
    result = Worker(outbox_settings(url), sessions).run(until_idle=True)
    assert result.delivered == 3 and result.failed == 6
    assert len(state.requests) == 9 and len(state.stored) == 3 and state.duplicates == 0
    assert all(e.state == "delivered" and e.deliveries == 2 for e in _events(sessions))
    assert time.monotonic() - started >= 0.05 + 0.1  # backoff 0.05 s, then 0.1 s


def test_not_duplicated_after_a_restart(sessions: sessionmaker[Session], receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    _promise(sessions, 0)
    Worker(outbox_settings(url), sessions).run(until_idle=True)
    first = len(state.requests)
    _promise(sessions, 1)  # the service goes on after the worker's restart
    Worker(outbox_settings(url), sessions).run(until_idle=True)
    assert first == 3 and len(state.requests) == 6 and state.duplicates == 0 and len(state.stored) == 6


def _ivr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _env(db_url: str, url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "IVR_DATABASE_URL": db_url,
        "IVR_OUTBOX_WEBHOOK_URL": url,
        "IVR_OUTBOX_WEBHOOK_SECRET": SECRET,
        "IVR_OUTBOX_POLL_SECONDS": "0.05",
        "IVR_OUTBOX_BACKOFF_SECONDS": "0.05",
    }
    env.update(extra)
    return env


def test_dead_letters_and_retry_from_the_cli(
    db_url: str, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.always_fail = True
    _promise(sessions, 0)
    env = _env(db_url, url, IVR_OUTBOX_MAX_DELIVERIES="3")
    run = _ivr("outbox", "run", "--until-idle", env=env)
    assert run.returncode == 0, run.stderr
    assert "delivered 0, failed 9, dead 3" in run.stdout
    listed = _ivr("outbox", "list", "--state", "dead", env=env)
    assert listed.stdout.count("dead") >= 3 and "HTTP 500" in listed.stdout
    assert listed.stdout.strip().endswith("pending 0, delivered 0, dead 3")
    assert "give event ids" in _ivr("outbox", "retry", env=env).stderr
    state.always_fail = False
    retried = _ivr("outbox", "retry", "--dead", env=env)
    assert "3 events queued" in retried.stdout
    assert "delivered 3, failed 0, dead 0" in _ivr("outbox", "run", "--until-idle", env=env).stdout
    again = _ivr("outbox", "retry", str(_events(sessions)[0].id), env=env)
    assert again.returncode == 2 and "already delivered" in again.stderr
    assert len(state.stored) == 3


def test_missing_secret_is_one_line(db_url: str) -> None:
    env = {**os.environ, "IVR_DATABASE_URL": db_url, "IVR_OUTBOX_WEBHOOK_URL": "http://127.0.0.1:1/"}
    run = _ivr("outbox", "run", env=env)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0
    assert "IVR_OUTBOX_WEBHOOK_SECRET" in run.stderr


def test_sigkill_mid_delivery_loses_nothing_and_duplicates_nothing(
    db_url: str, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.stall_first_s = 30.0  # the first event is stored, then the answer hangs: the worker is killed then
    for n in range(3):
        _promise(sessions, n)
    keys = {e.idempotency_key for e in _events(sessions)}
    assert len(keys) == 9
    env = _env(db_url, url, IVR_OUTBOX_LEASE_SECONDS="2", IVR_OUTBOX_TIMEOUT_SECONDS="1.5")
    worker = subprocess.Popen(
        [sys.executable, "-c", "from ivr.cli import main; main()", "outbox", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert state.stalled.wait(60), "the worker never delivered"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    pending = [e for e in _events(sessions) if e.state == "pending"]
    assert len(pending) == 9 and pending[0].lease_owner is not None  # mid-delivery: nothing settled yet
    state.stall_first_s = 0
    # A new worker: it waits for the dead worker's lease, then sends the first event again, same key.
    result = Worker(outbox_settings(url, lease_seconds=5.0), sessions).run(until_idle=True)
    assert result.delivered == 9
    assert set(state.stored) == keys  # nothing lost
    assert state.duplicates == 1  # the repeat of the event the killed worker had sent, recognised by its key
    assert all(e.state == "delivered" for e in _events(sessions))


def test_a_batch_stops_before_its_lease_runs_out(
    sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    """Review r11: 20 events share one 30 s lease but each POST may take 10 s; an event whose lease may
    expire mid-request is not sent (another worker can claim it then), it waits for the next round."""
    state, url = receiver
    _promise(sessions, 0)  # three events
    start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    ticks = iter(range(1000))

    def slow_clock() -> dt.datetime:  # every look at the clock is one second later (slow receiver)
        return start + dt.timedelta(seconds=next(ticks))

    worker = Worker(outbox_settings(url, lease_seconds=5.0, timeout_seconds=2.0), sessions, clock=slow_clock)
    first = worker.run_once()
    assert first.delivered == 1 and len(state.requests) == 1
    assert Worker(outbox_settings(url), sessions).run_once().claimed == 0  # the other two: leases still held
    late = Worker(outbox_settings(url), sessions, clock=lambda: start + dt.timedelta(seconds=60))
    assert late.run(until_idle=True).delivered == 2 and state.duplicates == 0 and len(state.stored) == 3


def test_outbox_run_logs_only_json_under_log_format_json(tmp_path: Path) -> None:
    """The unit's journal is read by log shippers: no plain-text status line among the JSON records."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        IVR_DATA_DIR=str(tmp_path),
        IVR_PRIVACY_HMAC_KEY="k" * 64,
        IVR_OUTBOX_WEBHOOK_URL="https://api:S3cret@hooks.example/x",
        IVR_OUTBOX_WEBHOOK_SECRET="w" * 64,
    )
    done = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", "--log-format", "json"]
        + ["outbox", "run", "--until-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    messages = [r["message"] for r in records]
    assert "ivr outbox: delivering to https://api:***@hooks.example/x" in messages
    assert "delivered 0, failed 0, dead 0" in messages and "S3cret" not in done.stderr
