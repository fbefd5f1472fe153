"""Fault injection through the real Asterisk sandbox: SIGKILL the dialer and the call service mid-campaign.

One campaign of simulated debtors (most of them answer and talk for tens of seconds) is dialled by the real
``ivr dialer`` and served by the real ``ivr serve --test-models``, both subprocesses. The fixture kills them
with SIGKILL at three moments and restarts them each time:

(a) the dialer right after it originated (calls ringing, the ledger says ``dialing``);
(b) the service mid-conversation (its AGI and AudioSocket sockets die: the dialplan plays its
    technical-difficulty sound and hangs up);
(c) both at once, while a conversation is running.

The last dialer runs until idle. The tests then check, from the database, from Asterisk (an AMI listener
that saw every channel created, ``CoreShowChannels``) and from the kernel (``ss``), that nobody was dialled
beyond the rules, that every answered call has exactly one outcome, and that nothing was left behind.
The sandbox may be shared: everything is filtered to this test's attempt ids (a random offset).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.campaign.rules import RETRY_CAUSES, RIGHT_PARTY_OUTCOMES, UNCOUNTED_OUTCOMES, Policy
from ivr.db.models import OUTCOMES, Attempt, Campaign, Turn
from ivr.db.session import dispose_engines, open_database
from ivr.asterisk.ami import AmiClient, AmiError, Message
from tests.e2e.conftest import ATTEMPT_ID_WINDOW, AsteriskSandbox
from tests.e2e.test_calls import (
    BUSY,
    HANGS_UP,
    IVR,
    KEYPAD,
    MACHINE,
    NEVER_ANSWERS,
    REPO,
    WRONG_PERSON,
    _ivr,
    _offset_attempt_ids,
    _wait_listening,
    dial_instant,
    e2e_env,
    free_port,
    reload_dialplan,
)

pytestmark = pytest.mark.asterisk

BRT = dt.timezone(dt.timedelta(hours=-3))
CAMPAIGN = "faults"
DEBTOR_PHONES = [KEYPAD, WRONG_PERSON] * 3 + [KEYPAD] * 3 + [MACHINE, HANGS_UP, BUSY, NEVER_ANSWERS]
"""Thirteen debtors; the nine who talk make calls of 20 to 60 s, so the kills land mid-call. (The phone that
speaks before keying talks for 100 s: test_calls covers it; here it would only make the test slower.)"""
RETRY_DELAY_MIN = 5
"""Longer than one pass of the campaign: people are dialled again only when the dialers' clock jumps it."""
POLICY: dict[str, object] = {
    # Every cause may be retried soon: the per-day cap (2) is what stops the dialer, and is checked.
    "retry": {cause: {"delay_minutes": RETRY_DELAY_MIN, "max_attempts": 3} for cause in RETRY_CAUSES},
}
MAX_CONCURRENT = 6
GRACE_S = 2.0
STEP_TIMEOUT_S = 90.0
FINAL_TIMEOUT_S = 240.0


class ChannelWatch:
    """An AMI listener of its own: every channel Asterisk creates or hangs up while the campaign runs."""

    def __init__(self, sandbox: AsteriskSandbox) -> None:
        self.sandbox = sandbox
        self.created: list[str] = []
        """``Newchannel`` Uniqueids, in order."""
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="ami-watch", daemon=True)

    def _on_event(self, event: Message) -> None:
        if event.get("Event") == "Newchannel":
            self.created.append(event.get("Uniqueid", ""))

    async def _run(self) -> None:
        s = self.sandbox
        client = AmiClient(s.ami_host, s.ami_port, s.observer_user, s.ami_secret, self._on_event)
        try:
            await client.connect()
        except BaseException as exc:  # reported to the test thread by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set() and client.connected:
                await asyncio.sleep(0.1)
            if not client.connected:
                self._error = AmiError("the AMI listener lost its connection: channels may have been missed")
        finally:
            await client.close()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(15)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._error is not None:
            raise self._error


def live_channel_ids(sandbox: AsteriskSandbox) -> set[str]:
    async def ask() -> set[str]:
        client = AmiClient(sandbox.ami_host, sandbox.ami_port, sandbox.ami_user, sandbox.ami_secret, lambda _: None)
        await client.connect()
        try:
            return await client.live_channel_ids()
        finally:
            await client.close()

    return asyncio.run(ask())


@dataclass
class Kill:
    """One SIGKILL moment and what was in progress when it landed."""

    name: str
    in_flight: set[int] = field(default_factory=set)
    """Attempts originated but not answered (``dialing``)."""
    talking: set[int] = field(default_factory=set)
    """Attempts answered, with the debtor's turns already written and no outcome yet."""


@dataclass
class Chaos:
    sessions: sessionmaker[Session]
    campaign_id: int
    first_attempt_id: int
    """Attempt ids of this test start above this (a random offset; the placeholder row has it)."""
    kills: list[Kill]
    created_channels: list[str]
    service_logs: list[Path]
    dialer_logs: list[Path]
    service: subprocess.Popen[bytes]
    ports: tuple[int, int]
    day: dt.date
    """The debtors' local day the campaign was dialled on (the dialers' shifted clock)."""
    passes: list[int]
    """Calls originated by the last dialer of each pass (the campaign, then re-queued twice)."""

    def attempts(self) -> list[Attempt]:
        with self.sessions() as s:
            rows = list(s.scalars(select(Attempt).where(Attempt.campaign_id == self.campaign_id).order_by(Attempt.id)))
            s.expunge_all()
            return rows

    def logs(self) -> str:
        parts = [
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-4000:]}"
            for p in [*self.dialer_logs, *self.service_logs]
            if p.exists()
        ]
        return "\n".join(parts)


class Processes:
    """Starts and kills ``ivr serve`` and ``ivr dialer`` with one environment and one shifted clock."""

    def __init__(self, env: dict[str, str], tmp: Path, as_of: dt.datetime) -> None:
        self.env, self.tmp = env, tmp
        self.as_of, self.t0 = as_of, time.time()
        self.skipped = dt.timedelta(0)
        self.service_logs: list[Path] = []
        self.dialer_logs: list[Path] = []

    def skip(self, minutes: float) -> None:
        """Dialers started from now on read a clock this much later (time passes between two passes)."""
        self.skipped += dt.timedelta(minutes=minutes)

    def service(self) -> subprocess.Popen[bytes]:
        log = self.tmp / f"serve-{len(self.service_logs) + 1}.log"
        self.service_logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*IVR, "serve", "--test-models"], env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        _wait_listening(int(self.env["IVR_SERVICE_AGI_PORT"]), proc, log)
        _wait_listening(int(self.env["IVR_SERVICE_AUDIOSOCKET_PORT"]), proc, log)
        return proc

    def dialer(self) -> subprocess.Popen[bytes]:
        """A dialer whose clock goes on from the first one's: a restart does not turn the clock back."""
        as_of = self.as_of + self.skipped + dt.timedelta(seconds=time.time() - self.t0)
        log = self.tmp / f"dialer-{len(self.dialer_logs) + 1}.log"
        self.dialer_logs.append(log)
        with log.open("wb") as out:
            return subprocess.Popen(
                [*IVR, "dialer", CAMPAIGN, "--until-idle", "--as-of", as_of.isoformat()],
                env=self.env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


def _until_idle(dialer: subprocess.Popen[bytes], procs: Processes) -> int:
    """Wait for a dialer to go idle and exit; how many calls it originated."""
    try:
        code = dialer.wait(FINAL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the dialer did not go idle in {FINAL_TIMEOUT_S:.0f} s", pytrace=False)
    output = procs.dialer_logs[-1].read_text(errors="replace")
    assert code == 0, output[-4000:]
    found = re.search(r"^originated (\d+),", output, re.MULTILINE)
    assert found is not None, output[-4000:]
    return int(found.group(1))


def _dialled(sessions: sessionmaker[Session], campaign_id: int, first_id: int) -> int:
    """Attempts of this run in the ledger (recovery deletes leases that were never dialled)."""
    with sessions() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Attempt)
                .where(Attempt.campaign_id == campaign_id, Attempt.id > first_id)
            )
            or 0
        )


def _requeue(env: dict[str, str]) -> None:
    """The operator pauses and resumes the campaign: everyone queued is looked at again now."""
    _ivr(["campaign", "pause", CAMPAIGN], env)
    _ivr(["campaign", "resume", CAMPAIGN], env)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _wait_for(
    sessions: sessionmaker[Session],
    campaign_id: int,
    what: str,
    probe: Callable[[Kill], bool],
    timeout: float = STEP_TIMEOUT_S,
) -> Kill:
    """Poll the ledger until ``probe`` holds; the snapshot that satisfied it (the kill follows at once)."""
    deadline = time.monotonic() + timeout
    while not probe(snap := _snapshot(sessions, campaign_id, what)):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.05)
    return snap


def _snapshot(sessions: sessionmaker[Session], campaign_id: int, name: str) -> Kill:
    """What is in progress now: calls ringing, and conversations in which the debtor has already spoken."""
    with sessions() as s:
        rows = s.execute(
            select(Attempt.id, Attempt.state, Attempt.answered_at, Attempt.outcome).where(
                Attempt.campaign_id == campaign_id
            )
        ).all()
        spoke = set(s.scalars(select(Turn.attempt_id).where(Turn.speaker == "debtor").distinct()))
    kill = Kill(name)
    for attempt_id, state, answered_at, outcome in rows:
        if state == "dialing" and answered_at is None:
            kill.in_flight.add(attempt_id)
        if state in ("dialing", "answered") and outcome is None and attempt_id in spoke:
            kill.talking.add(attempt_id)
    return kill


@pytest.fixture(scope="module")
def chaos(asterisk_sandbox: AsteriskSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    tmp = tmp_path_factory.mktemp("faults")
    agi_port, media_port = free_port(), free_port()
    env = e2e_env(
        tmp,
        asterisk_sandbox,
        agi_port,
        media_port,
        ring_timeout_seconds=4,
        max_concurrent=MAX_CONCURRENT,
        calls_per_second=4,
        lease_seconds=3,
        outcome_grace_seconds=GRACE_S,
    )
    before = reload_dialplan(asterisk_sandbox)

    rows = ["nome;cpf;telefone;valor;vencimento;contrato"]
    for i, number in enumerate(DEBTOR_PHONES):
        cpf = cpf_with_check_digits(f"{61234500 + i:09d}")
        rows.append(f"Pessoa {chr(65 + i)} Lima;{cpf};{number};{200 + i}.90;2026-01-10;F-{i}")
    (tmp / "debtors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _ivr(["campaign", "create", CAMPAIGN, "--creditor", "Financeira Exemplo", "--policy", json.dumps(POLICY)], env)
    _ivr(["import", str(tmp / "debtors.csv"), "--campaign", CAMPAIGN], env)
    _ivr(["campaign", "start", CAMPAIGN], env)
    _offset_attempt_ids(env["IVR_DATABASE_URL"])
    sessions = open_database(env["IVR_DATABASE_URL"])
    with sessions() as s:
        campaign_id = s.scalars(select(Campaign.id).where(Campaign.name == CAMPAIGN)).one()
        first_id = s.scalar(select(func.max(Attempt.id))) or 0

    as_of = dial_instant()
    procs = Processes(env, tmp, as_of)
    watch = ChannelWatch(asterisk_sandbox)
    watch.start()
    service: subprocess.Popen[bytes] | None = None
    dialer: subprocess.Popen[bytes] | None = None
    kills: list[Kill] = []
    try:
        service = procs.service()
        asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {agi_port}")
        dialer = procs.dialer()

        # (a) the dialer, right after it originated: calls ringing in Asterisk, nobody to reconcile them.
        kills.append(_wait_for(sessions, campaign_id, "a call in flight (a)", lambda k: bool(k.in_flight), 30))
        _kill(dialer)
        dialer = procs.dialer()

        # (b) the service mid-conversation: Asterisk plays the technical-difficulty fallback and hangs up.
        kills.append(_wait_for(sessions, campaign_id, "a conversation (b)", lambda k: bool(k.talking)))
        _kill(service)
        service = procs.service()
        _until_idle(dialer, procs)
        # Counted in the ledger, not from one dialer's log: a dialer killed in (c) may have originated the
        # retries already and the one restarted after it none.
        first_pass = _dialled(sessions, campaign_id, first_id)

        # Second pass, the retry delay later: the operator re-queues everyone (pause, resume) and the people
        # not reached are dialled again. (c) kills both processes at once in one of those conversations.
        procs.skip(RETRY_DELAY_MIN + 1)
        _requeue(env)
        dialer = procs.dialer()
        earlier = kills[-1].talking
        kills.append(
            _wait_for(
                sessions, campaign_id, "a conversation in the second pass (c)", lambda k: bool(k.talking - earlier)
            )
        )
        _kill(service)
        _kill(dialer)
        service = procs.service()
        dialer = procs.dialer()
        _until_idle(dialer, procs)
        second_pass = _dialled(sessions, campaign_id, first_id) - first_pass

        # Third pass, later again: nobody may be dialled, the day's cap or the right-party stop holds.
        procs.skip(RETRY_DELAY_MIN + 1)
        _requeue(env)
        dialer = procs.dialer()
        _until_idle(dialer, procs)
        passes = [first_pass, second_pass, _dialled(sessions, campaign_id, first_id) - first_pass - second_pass]
        # The last dialer fills missing outcomes after the grace before it goes idle; wait it out anyway.
        time.sleep(GRACE_S + 1)
        yield Chaos(
            sessions,
            campaign_id,
            first_id,
            kills,
            watch.created,
            procs.service_logs,
            procs.dialer_logs,
            service,
            (agi_port, media_port),
            as_of.astimezone(BRT).date(),
            passes,
        )
    finally:
        asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {before}")
        for proc in (dialer, service):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        try:
            watch.stop()
        finally:
            dispose_engines()


def _ours(chaos: Chaos, uniqueid: str) -> int | None:
    """The attempt id of one of this test's attempt channels (``ivr-<id>``, not the ``;2`` half)."""
    match = re.fullmatch(r"ivr-(\d+)", uniqueid)
    if match is None or not 0 < int(match.group(1)) - chaos.first_attempt_id <= ATTEMPT_ID_WINDOW:
        return None  # another application's channel, or another test's (its ids start elsewhere)
    return int(match.group(1))


def test_each_kill_landed_on_calls_in_progress(chaos: Chaos) -> None:
    a, b, c = chaos.kills
    assert a.in_flight, "the dialer was killed before any call was ringing"
    assert b.talking, "the service was killed outside any conversation"
    assert c.talking, "the dialer and the service were killed outside any conversation"
    # Every debtor was dialled at least once: the restarted processes carried the campaign on.
    rows = chaos.attempts()
    assert len({r.debtor_id for r in rows}) == len(DEBTOR_PHONES), chaos.logs()


def test_no_attempt_dialled_twice_and_none_dialled_off_the_ledger(chaos: Chaos) -> None:
    """From Asterisk: one channel per attempt at most, and no channel for an attempt the ledger lacks."""
    per_attempt = Counter(aid for uid in chaos.created_channels if (aid := _ours(chaos, uid)) is not None)
    assert per_attempt, (
        f"the AMI listener saw none of this test's channels (first attempt id "
        f"{chaos.first_attempt_id}; saw {len(chaos.created_channels)}: {chaos.created_channels[:8]})"
    )
    twice = {aid: n for aid, n in per_attempt.items() if n > 1}
    assert not twice, f"attempts dialled more than once: {twice}"
    known = {r.id for r in chaos.attempts()}
    assert set(per_attempt) <= known, f"channels of attempts not in the ledger: {set(per_attempt) - known}"
    # Every answered attempt was a channel Asterisk created. (A ``dialing`` row need not be: a dialer killed
    # between committing ``dialing`` and writing the Originate leaves one that recovery closes, never re-sends.)
    answered = {r.id for r in chaos.attempts() if r.answered_at is not None}
    assert answered <= set(per_attempt), f"answered attempts Asterisk never saw: {answered - set(per_attempt)}"


def _local_day(at: dt.datetime) -> dt.date:
    """The São Paulo day of a ledger instant (SQLite gives them back naive, in UTC)."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)).astimezone(BRT).date()


def test_attempts_per_person_within_the_rules(chaos: Chaos) -> None:
    cap = Policy.from_dict(POLICY).max_attempts_per_day
    rows = chaos.attempts()
    # A failed call (the service killed under it, congestion) uses none of the person's daily attempts.
    per_day = Counter((r.debtor_id, _local_day(r.scheduled_at)) for r in rows if r.outcome not in UNCOUNTED_OUTCOMES)
    _, retries, after_cap = chaos.passes
    assert retries > 0, "the re-queued campaign dialled no retry"
    failed_people = {r.debtor_id for r in rows if r.outcome in UNCOUNTED_OUTCOMES}
    assert after_cap <= len(failed_people), (
        f"{after_cap} calls dialled after the day's cap and the right-party stop were reached"
    )
    assert {day for _, day in per_day} == {chaos.day}, per_day
    assert max(per_day.values()) <= cap, {k: v for k, v in per_day.items() if v > cap}
    # Someone was retried (the cap was reached by somebody), else the cap check proves little.
    assert max(per_day.values()) == cap, per_day
    # None more that day after the right person was reached.
    by_debtor: dict[int, list[Attempt]] = {}
    for r in rows:
        by_debtor.setdefault(r.debtor_id, []).append(r)
    for attempts in by_debtor.values():
        attempts.sort(key=lambda r: r.id)
        reached = [i for i, r in enumerate(attempts) if r.outcome in RIGHT_PARTY_OUTCOMES]
        if reached:
            assert reached[0] == len(attempts) - 1, [(r.id, r.outcome) for r in attempts]


def test_every_answered_call_has_exactly_one_outcome(chaos: Chaos) -> None:
    rows = chaos.attempts()
    answered = [r for r in rows if r.answered_at is not None]
    assert answered
    assert all(r.outcome in OUTCOMES for r in rows), [
        (r.id, r.state, r.outcome) for r in rows if r.outcome not in OUTCOMES
    ]
    wrong = [(r.id, r.outcome) for r in answered if r.outcome in ("no_answer", "busy")]
    assert not wrong, f"answered calls given a not-answered outcome: {wrong}"
    # The outcome the service reached is the one kept (the first written wins; the dialer only fills gaps).
    # The service's log may mask an attempt id like a phone number (last 4 digits): match on those.
    by_tail = {r.id % 10_000: r for r in rows}
    assert len(by_tail) == len(rows)
    said: dict[int, str] = {}
    for log in chaos.service_logs:
        for m in re.finditer(r"attempt \**(\d+) ended: (\w+)", log.read_text(errors="replace")):
            if m.group(2) != "none":
                said[int(m.group(1)) % 10_000] = m.group(2)
    assert said, "the service logged no outcome"
    differ = {by_tail[t].id: (out, by_tail[t].outcome) for t, out in said.items() if by_tail[t].outcome != out}
    assert not differ, f"service outcome vs ledger outcome: {differ}"
    by_id = {r.id: r for r in rows}
    # The conversations cut by a kill still got one outcome each.
    for kill in chaos.kills[1:]:
        for aid in kill.talking:
            assert by_id[aid].state == "ended" and by_id[aid].outcome in OUTCOMES, (kill.name, aid, by_id[aid].outcome)


def test_nothing_stuck(chaos: Chaos) -> None:
    stuck = [(r.id, r.state, r.lease_owner) for r in chaos.attempts() if r.state != "ended" or r.ended_at is None]
    assert not stuck, f"attempts left live after recovery: {stuck}\n{chaos.logs()}"


def test_no_channel_left_in_asterisk(chaos: Chaos, asterisk_sandbox: AsteriskSandbox) -> None:
    deadline = time.monotonic() + 15
    while True:
        left = sorted(
            uid for uid in live_channel_ids(asterisk_sandbox) if _ours(chaos, uid.removesuffix("-2")) is not None
        )
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert not left, "channels left open:\n" + asterisk_sandbox.cli("core show channels concise")


def test_no_half_closed_sockets_on_the_service_ports(chaos: Chaos) -> None:
    ss = subprocess.run(["ss", "-tanp"], capture_output=True, text=True, check=True).stdout
    ports = {f":{p}" for p in chaos.ports}
    on_ports = [
        line
        for line in ss.splitlines()
        if any(f"{port} " in line.replace("\t", " ") for port in ports) or f"pid={chaos.service.pid}," in line
    ]
    assert not [line for line in on_ports if line.startswith("CLOSE-WAIT")], "\n".join(on_ports)
    # The restarted service is alive, serving, and logged no traceback.
    assert chaos.service.poll() is None, chaos.service_logs[-1].read_text()[-3000:]
    for log in chaos.service_logs:
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-5000:]
