"""The loop between calls on the real Asterisk sandbox, with the real ``ivr serve --test-models`` and ``ivr dialer``:

- a transfer to the agents' queue when no agent is logged in: the caller is not held, a ``transfer_failed``
  review is opened and a callback is scheduled on the same number at the next allowed time;
- the call service stopped mid-campaign: no Originate while it is down (the dialer says so in its log and in
  ``ivr campaign status``), the calls in flight are ``failed`` and use no daily attempt, and the dialer
  resumes by itself when the service is back.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.db.models import Attempt, Callback, Campaign, Phone, Review, Turn
from ivr.db.session import dispose_engines, open_database
from tests.e2e.conftest import AsteriskSandbox
from tests.e2e.test_calls import (
    IVR,
    REPO,
    _ivr,
    _offset_attempt_ids,
    _wait_listening,
    dial_instant,
    e2e_env,
    free_port,
    reload_dialplan,
)

pytestmark = pytest.mark.asterisk

KEYPAD = "11990000001"
ASKS_FOR_AGENT = "11990000014"


@dataclass
class Setup:
    env: dict[str, str]
    tmp: Path
    sessions: sessionmaker[Session]
    agi_port: int
    first_id: int
    as_of: dt.datetime

    def serve(self, name: str) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [*IVR, "serve", "--test-models"], env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        _wait_listening(self.agi_port, proc, log)
        return proc

    def dialer(self, campaign: str) -> subprocess.Popen[bytes]:
        log = self.tmp / f"dialer-{campaign}.log"
        with log.open("ab") as out:
            return subprocess.Popen(
                [*IVR, "dialer", campaign, "--until-idle", "--as-of", self.as_of.isoformat()],
                env=self.env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def attempts(self, campaign: str) -> list[Attempt]:
        with self.sessions() as s:
            rows = list(
                s.scalars(
                    select(Attempt)
                    .join(Campaign, Campaign.id == Attempt.campaign_id)
                    .where(Campaign.name == campaign)
                    .order_by(Attempt.id)
                )
            )
            s.expunge_all()
            return rows

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _campaign(setup: Setup, name: str, numbers: list[str], base: int, policy: dict[str, object] | None = None) -> None:
    """A running campaign of one debtor per number; ``base`` keeps each campaign's people (CPFs) its own."""
    rows = ["nome;cpf;telefone;valor;vencimento;contrato"]
    for i, number in enumerate(numbers):
        cpf = cpf_with_check_digits(f"{base + i:09d}")
        rows.append(f"Pessoa {chr(65 + i)} Lima;{cpf};{number};{300 + i}.90;2026-01-10;{name}-{i}")
    (setup.tmp / f"{name}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _ivr(
        ["campaign", "create", name, "--creditor", "Financeira Exemplo", "--policy", json.dumps(policy or {})],
        setup.env,
    )
    _ivr(["import", str(setup.tmp / f"{name}.csv"), "--campaign", name], setup.env)
    _ivr(["campaign", "start", name], setup.env)


@pytest.fixture(scope="module")
def setup(asterisk_sandbox: AsteriskSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("loop")
    agi_port, media_port = free_port(), free_port()
    env = e2e_env(
        tmp,
        asterisk_sandbox,
        agi_port,
        media_port,
        ring_timeout_seconds=4,
        max_concurrent=2,
        calls_per_second=2,
        outcome_grace_seconds=2,
        service_check_seconds=0.3,
        queue_refresh_seconds=1,
    )
    before = reload_dialplan(asterisk_sandbox)
    asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {agi_port}")
    # The campaigns and the id offset go in before anything dials (the offset keeps our AMI events ours).
    _ivr(["db", "upgrade"], env)
    first_id = _offset_attempt_ids(env["IVR_DATABASE_URL"])
    try:
        yield Setup(env, tmp, open_database(env["IVR_DATABASE_URL"]), agi_port, first_id, dial_instant())
    finally:
        asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {before}")
        dispose_engines()


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait(what: str, check: Callable[[], bool], timeout: float, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{logs()}", pytrace=False)


def test_transfer_to_a_queue_without_agents_schedules_a_callback_and_a_review(
    setup: Setup, asterisk_sandbox: AsteriskSandbox
) -> None:
    _campaign(setup, "xfer", [ASKS_FOR_AGENT], base=71234500)
    service = setup.serve("serve-xfer")
    dialer = None
    try:
        dialer = setup.dialer("xfer")
        dialer.wait(180)
        logs = setup.log("dialer-xfer") + "\n--- serve ---\n" + setup.log("serve-xfer")
        assert dialer.returncode == 0, logs
    finally:
        _stop(dialer)
        _stop(service)
    [attempt] = setup.attempts("xfer")
    assert (attempt.outcome, attempt.queue_status) == ("transferred", "JOINEMPTY"), logs
    assert attempt.transferred_at is not None and attempt.ended_at is not None
    # The caller was not held in the empty queue: the call ended within seconds of the transfer.
    assert (attempt.ended_at - attempt.transferred_at).total_seconds() < 15, logs
    with setup.sessions() as s:
        review = s.scalars(select(Review).where(Review.attempt_id == attempt.id)).one()
        callback = s.scalars(select(Callback).where(Callback.attempt_id == attempt.id)).one()
        phone = s.get(Phone, attempt.phone_id)
    assert (review.kind, review.state) == ("transfer_failed", "open")
    assert callback.phone_id == attempt.phone_id and phone is not None and phone.e164 == "+55" + ASKS_FOR_AGENT
    assert callback.due_at is not None and not callback.done
    assert callback.due_at >= attempt.ended_at + dt.timedelta(minutes=29), (callback.due_at, attempt.ended_at)
    listed = json.loads(_ivr(["review", "list", "--campaign", "xfer", "--json"], setup.env).splitlines()[-1])
    assert [(r["reason"], r["state"], r["debtor_id"]) for r in listed] == [
        ("transfer_failed", "open", attempt.debtor_id)
    ]
    report = json.loads(_ivr(["report", "xfer", "--json"], setup.env).splitlines()[-1])
    assert report["transfer_results"] == {"answered": 0, "abandoned": 1}
    asterisk_sandbox.wait_no_channels(attempts_above=setup.first_id)


def test_service_stopped_mid_campaign_pauses_the_dialer_and_calls_in_flight_fail(
    setup: Setup, asterisk_sandbox: AsteriskSandbox
) -> None:
    # Six people on the talking keypad phone, two calls at a time; a failed call is retried at once.
    _campaign(
        setup,
        "down",
        [KEYPAD] * 6,
        base=71234600,
        policy={"retry": {"failed": {"delay_minutes": 0, "max_attempts": 5}}},
    )
    service: subprocess.Popen[bytes] | None = setup.serve("serve-down-1")
    dialer = setup.dialer("down")

    def logs() -> str:
        return (
            setup.log("dialer-down")
            + "\n--- serve 1 ---\n"
            + setup.log("serve-down-1")
            + "\n--- serve 2 ---\n"
            + setup.log("serve-down-2")
        )

    def talking() -> list[int]:
        with setup.sessions() as s:
            return list(
                s.scalars(
                    select(Attempt.id)
                    .join(Campaign, Campaign.id == Attempt.campaign_id)
                    .where(
                        Campaign.name == "down",
                        Attempt.state == "answered",
                        select(Turn.id).where(Turn.attempt_id == Attempt.id, Turn.speaker == "debtor").exists(),
                    )
                )
            )

    try:
        _wait("a conversation in progress", lambda: bool(talking()), 90, logs)
        in_flight = {a.id for a in setup.attempts("down") if a.state in ("dialing", "answered")}
        _stop(service, signal.SIGKILL)
        service = None
        time.sleep(2.0)  # a lease claimed just before the kill may still be originated
        dialled_at_kill = {a.id for a in setup.attempts("down")}
        time.sleep(6.0)
        # No new Originate while the service is down, and the operator is told why.
        assert {a.id for a in setup.attempts("down")} == dialled_at_kill, logs()
        status = json.loads(_ivr(["campaign", "status", "down", "--json"], setup.env).splitlines()[-1])
        assert status["dialer"].startswith("paused: call service unreachable since "), status
        assert "call service unreachable" in setup.log("dialer-down")
        # The calls in flight when it died end as failed (no one heard the bot finish), not hung_up.
        _wait(
            "the calls in flight to end",
            lambda: all(a.outcome is not None for a in setup.attempts("down") if a.id in in_flight),
            60,
            logs,
        )
        killed = {a.id: a.outcome for a in setup.attempts("down") if a.id in in_flight}
        assert set(killed.values()) == {"failed"}, (killed, logs())

        service = setup.serve("serve-down-2")
        dialer.wait(300)
        assert dialer.returncode == 0, logs()
    finally:
        _stop(dialer)
        _stop(service)
    rows = setup.attempts("down")
    assert any(a.id not in dialled_at_kill for a in rows), "the dialer did not resume: " + logs()
    assert "dialling resumes" in setup.log("dialer-down")
    status = json.loads(_ivr(["campaign", "status", "down", "--json"], setup.env).splitlines()[-1])
    assert status["dialer"] == "dialling"
    # The people whose call failed with the service were called again (a failed call uses no daily attempt).
    killed_people = {a.debtor_id for a in rows if a.id in in_flight}
    retried = {a.debtor_id for a in rows if a.id not in dialled_at_kill and a.debtor_id in killed_people}
    assert retried == killed_people, (killed_people, [(a.id, a.debtor_id, a.outcome) for a in rows])
    with setup.sessions() as s:
        people = s.scalar(
            select(func.count(func.distinct(Attempt.debtor_id)))
            .join(Campaign, Campaign.id == Attempt.campaign_id)
            .where(Campaign.name == "down")
        )
    assert people == 6
    asterisk_sandbox.wait_no_channels(attempts_above=setup.first_id)
