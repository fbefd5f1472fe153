"""Calls end to end: ``ivr serve --test-models``, the real dialer (``ivr dialer``) and the simulated phones of
the real Asterisk sandbox; the database, the recordings, Asterisk and the sockets are checked afterwards.

One campaign is dialled once for the module (calls are real time, so they run concurrently); each test
then checks one promise of issue 5 against what that run left behind.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.br.phone import normalize_phone
from ivr.campaign.rules import check
from ivr.db.models import Attempt, Phone, Promise, Turn
from ivr.db.session import dispose_engines, open_database
from ivr.language.prompts import load_catalog
from ivr.testing.factories import make_campaign, make_debtor
from tests.e2e.conftest import AsteriskSandbox
from tests.e2e.test_sandbox import rms_windows

pytestmark = pytest.mark.asterisk

REPO = Path(__file__).resolve().parents[2]
IVR = [str(Path(sys.executable).parent / "ivr")]
SP = ZoneInfo("America/Sao_Paulo")

KEYPAD, SPEAK_THEN_KEY, BUSY, NEVER_ANSWERS, MACHINE, HANGS_UP, WRONG_PERSON = (
    "11990000001",
    "11990000003",
    "11990000004",
    "11990000005",
    "11990000006",
    "11990000007",
    "11990000009",
)
PHONES = [KEYPAD, SPEAK_THEN_KEY, BUSY, NEVER_ANSWERS, MACHINE, HANGS_UP, WRONG_PERSON]
DEBT_WORDS = re.compile(r"dívida|divida|débito|debito|reais|centavos|vencimento|\d", re.IGNORECASE)
DIAL_TIMEOUT_S = 300
REPROMPTS = tuple(
    re.split(r"\s*<pause", variant)[0].strip().rstrip(":.")
    for pid in ("no_match", "no_input", "keypad_menu", "keypad_date")
    for variant in load_catalog().get(pid).variants
)
"""How the bot's not-understood / not-heard re-prompts and keypad menus begin (from the prompt catalog)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dial_instant(now: dt.datetime | None = None) -> dt.datetime:
    """Now if a São Paulo number may be called now, else the next opening of its window (for --as-of)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    decision = check(normalize_phone(KEYPAD), now)
    if decision.callable or decision.next_open is None:
        return now
    return decision.next_open + dt.timedelta(minutes=1)


@dataclass
class Run:
    """What one dial of the campaign left: the service process, its database and the dialer's output."""

    service: subprocess.Popen[bytes]
    service_log: Path
    agi_port: int
    sessions: sessionmaker[Session]
    dialer_output: str
    dial_seconds: float
    started_local: dt.date
    """The São Paulo date when the calls were made (the phones key dates relative to it)."""

    def attempt(self, number: str) -> Attempt:
        with self.sessions() as s:
            row = s.scalars(
                select(Attempt).join(Phone, Phone.id == Attempt.phone_id).where(Phone.e164 == "+55" + number)
            ).one()
            s.expunge(row)
            return row

    def turns(self, number: str) -> list[Turn]:
        aid = self.attempt(number).id
        with self.sessions() as s:
            rows = list(s.scalars(select(Turn).where(Turn.attempt_id == aid).order_by(Turn.seq)))
            s.expunge_all()
            return rows

    def promise(self, number: str) -> Promise | None:
        aid = self.attempt(number).id
        with self.sessions() as s:
            row = s.scalars(select(Promise).where(Promise.attempt_id == aid)).one_or_none()
            if row is not None:
                s.expunge(row)
            return row


def _ivr(args: list[str], env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(
        [*IVR, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"ivr {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ivr serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"ivr serve did not listen on {port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}", pytrace=False)


def _offset_attempt_ids(url: str) -> int:
    """Start this database's attempt ids at a random offset: AMI events name attempts by id, and another
    suite dialling on a shared sandbox at the same time (a developer's, a colleague's) must not match ours."""
    sessions = open_database(url)
    offset = random.randrange(10**6, 10**9)
    camp = make_campaign(sessions, "id-offset", status="stopped")
    debtor = make_debtor(sessions, camp, ["11999990000"])
    with sessions.begin() as s:
        phone = s.scalars(select(Phone.id).where(Phone.debtor_id == debtor)).one()
        s.add(
            Attempt(
                id=offset,
                campaign_id=camp,
                debtor_id=debtor,
                phone_id=phone,
                state="ended",
                outcome="failed",
                note="placeholder: moves the attempt ids of this test database",
            )
        )
        if s.get_bind().dialect.name == "postgresql":  # an explicit id does not move the sequence there
            s.execute(text("SELECT setval(pg_get_serial_sequence('attempts', 'id'), :n)"), {"n": offset})
    return offset


def e2e_env(tmp: Path, sandbox: AsteriskSandbox, agi_port: int, media_port: int, **dialer: object) -> dict[str, str]:
    """The environment of ``ivr`` subprocesses: a SQLite database in ``tmp``, the service on these ports,
    the test speech models, ``IVR_DIALER_<KEY>`` from ``dialer``; nothing from the caller's ``IVR_*``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "IVR_DATABASE_URL": f"sqlite:///{tmp / 'ivr.db'}",
            "IVR_DATA_DIR": str(tmp),
            "IVR_PRIVACY_HMAC_KEY": "e2e",
            "IVR_AMI_SECRET": sandbox.ami_secret,
            "IVR_SERVICE_AGI_PORT": str(agi_port),
            "IVR_SERVICE_AUDIOSOCKET_PORT": str(media_port),
            "IVR_SPEECH_MODELS_DIR": str(REPO / "models"),
            "PYTHONPATH": str(REPO),
        }
    )
    env.update({f"IVR_DIALER_{key.upper()}": str(value) for key, value in dialer.items()})
    return env


def reload_dialplan(sandbox: AsteriskSandbox) -> str:
    """Load this checkout's dialplan (a shared sandbox may have an older one); the IVR_AGI_PORT global before."""
    sandbox.cli("dialplan reload")
    return next(
        (
            line.split("=", 1)[1].strip()
            for line in sandbox.cli("dialplan show globals").splitlines()
            if line.strip().startswith("IVR_AGI_PORT=")
        ),
        "4573",
    )


@pytest.fixture(scope="module")
def run(asterisk_sandbox: AsteriskSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("calls")
    agi_port, media_port = free_port(), free_port()
    env = e2e_env(
        tmp,
        asterisk_sandbox,
        agi_port,
        media_port,
        ring_timeout_seconds=4,
        max_concurrent=len(PHONES),
        calls_per_second=5,
    )
    before = reload_dialplan(asterisk_sandbox)

    service_log = tmp / "serve.log"
    with service_log.open("wb") as out:
        service = subprocess.Popen(
            [*IVR, "serve", "--test-models"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(agi_port, service, service_log)
        asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {agi_port}")

        rows = ["nome;cpf;telefone;valor;vencimento;contrato"]
        for i, number in enumerate(PHONES):
            cpf = cpf_with_check_digits(f"{52998224 + i:09d}")
            rows.append(f"Pessoa {chr(65 + i)} Souza;{cpf};{number};{150 + i}.50;2026-01-10;E2E-{i}")
        (tmp / "debtors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        _ivr(["campaign", "create", "e2e", "--creditor", "Financeira Exemplo", "--records-calls"], env)
        _ivr(["import", str(tmp / "debtors.csv"), "--campaign", "e2e"], env)
        _ivr(["campaign", "start", "e2e"], env)
        _offset_attempt_ids(env["IVR_DATABASE_URL"])

        started_local = dt.datetime.now(SP).date()
        started = time.monotonic()
        dialer = subprocess.run(
            [*IVR, "dialer", "e2e", "--until-idle", "--as-of", dial_instant().isoformat()],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=DIAL_TIMEOUT_S,
            check=False,
        )
        output = dialer.stdout + dialer.stderr
        assert dialer.returncode == 0, f"ivr dialer failed:\n{output[-4000:]}"
        sessions = open_database(env["IVR_DATABASE_URL"])
        yield Run(service, service_log, agi_port, sessions, output, time.monotonic() - started, started_local)
    finally:
        asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {before}")
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(15)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        dispose_engines()


def _outcomes(run: Run) -> dict[str, str | None]:
    return {n: run.attempt(n).outcome for n in PHONES}


def test_every_phone_gets_its_outcome(run: Run) -> None:
    print(f"\ndialled {len(PHONES)} phones in {run.dial_seconds:.0f} s")
    assert _outcomes(run) == {
        KEYPAD: "promise_to_pay",
        SPEAK_THEN_KEY: "promise_to_pay",
        BUSY: "busy",
        NEVER_ANSWERS: "no_answer",
        MACHINE: "voicemail",
        HANGS_UP: "hung_up",
        WRONG_PERSON: "wrong_party",
    }, f"{run.dialer_output[-3000:]}\n--- serve log ---\n{run.service_log.read_text()[-3000:]}"


def test_keypad_promise_has_the_keyed_date(run: Run) -> None:
    promise = run.promise(KEYPAD)
    assert promise is not None and promise.confirmed
    # The phone keys today + 3 days (São Paulo calendar) as DDMM.
    assert promise.promised_date == run.started_local + dt.timedelta(days=3)
    assert str(promise.amount) == "150.50"
    debtor_turns = [t.text for t in run.turns(KEYPAD) if t.speaker == "debtor"]
    assert debtor_turns[-2:] == [(run.started_local + dt.timedelta(days=3)).strftime("%d%m"), "1"], debtor_turns


def _is_digits(turn: Turn) -> bool:
    return turn.speaker == "debtor" and turn.text.isdigit()


def test_speech_falls_back_to_the_keypad(run: Run) -> None:
    """The test model cannot understand Portuguese: each spoken answer is re-prompted, then keyed."""
    turns = run.turns(SPEAK_THEN_KEY)
    promise = run.promise(SPEAK_THEN_KEY)
    assert promise is not None and promise.promised_date == run.started_local + dt.timedelta(days=2)
    transcript = [(t.speaker, t.text) for t in turns]
    spoken = [i for i, t in enumerate(turns) if t.speaker == "debtor" and not _is_digits(t)]
    assert spoken, f"no spoken answer reached the recognizer: {transcript}"
    # After a spoken answer that was not understood, the bot says it did not understand (or hear) and asks
    # again, and only then comes the keypad answer.
    fallbacks = 0
    for i in spoken:
        following = turns[i + 1 :]
        key = next((j for j, t in enumerate(following) if _is_digits(t)), None)
        bot_between = [t.text for t in following[:key] if t.speaker == "bot"] if key is not None else []
        if key is not None and any(text.startswith(REPROMPTS) for text in bot_between):
            fallbacks += 1
    assert fallbacks >= 3, transcript


def test_machine_gets_the_neutral_message(run: Run, asterisk_sandbox: AsteriskSandbox) -> None:
    attempt = run.attempt(MACHINE)
    assert attempt.amd_status == "MACHINE"
    turns = run.turns(MACHINE)
    assert [t.speaker for t in turns] == ["bot"], [(t.speaker, t.text) for t in turns]
    assert not DEBT_WORDS.search(turns[0].text), turns[0].text
    # The first name is allowed (the catalog's voicemail prompt says whom the message is for); the debt is not.
    assert "Financeira Exemplo" in turns[0].text, turns[0].text
    message = asterisk_sandbox.recordings_dir / f"sim-{MACHINE}-{attempt.id}-message.wav"
    loud = [r for r in rms_windows(message) if r > 300]
    assert len(loud) >= 50, f"{len(loud)} loud 20 ms windows in the machine's message {message}"


def test_keypad_debtor_heard_the_bot(run: Run, asterisk_sandbox: AsteriskSandbox) -> None:
    attempt = run.attempt(KEYPAD)
    heard = asterisk_sandbox.recordings_dir / f"sim-{KEYPAD}-{attempt.id}-heard.wav"
    windows = rms_windows(heard)
    loud = sum(1 for r in windows if r > 300)
    seconds = len(windows) * 0.02
    assert attempt.duration_s is not None and abs(seconds - attempt.duration_s) < 3, (seconds, attempt.duration_s)
    # Greeting, recording notice, identity, disclosure, question, date question, read-back, goodbye: tens of
    # seconds of speech, not a beep.
    assert 15 <= seconds <= 120, seconds
    assert loud * 0.02 >= 8, f"only {loud * 0.02:.1f} s of loud audio in {seconds:.0f} s ({heard})"


def test_nothing_left_open(run: Run, asterisk_sandbox: AsteriskSandbox) -> None:
    asterisk_sandbox.wait_no_channels()
    assert asterisk_sandbox.active_channels() == 0
    ss = subprocess.run(["ss", "-tanp"], capture_output=True, text=True, check=True).stdout
    mine = [line for line in ss.splitlines() if f"pid={run.service.pid}," in line]
    assert not [line for line in mine if line.startswith("CLOSE-WAIT")], "\n".join(mine)
    # The service is still healthy: alive, and still accepting FastAGI connections.
    assert run.service.poll() is None, run.service_log.read_text()[-3000:]
    socket.create_connection(("127.0.0.1", run.agi_port), timeout=2).close()
    assert "Traceback" not in run.service_log.read_text(), run.service_log.read_text()[-5000:]


def test_report_latencies(run: Run, asterisk_sandbox: AsteriskSandbox) -> None:
    """Measured, printed, not asserted (timing belongs to benchmarks): answer to first bot audio, from the
    debtor's recording; caller reply end to next bot prompt, from the service's per-turn latency."""
    first_audio = []
    for number in (KEYPAD, SPEAK_THEN_KEY, WRONG_PERSON):
        attempt = run.attempt(number)
        windows = rms_windows(asterisk_sandbox.recordings_dir / f"sim-{number}-{attempt.id}-heard.wav")
        # The phone's own "Alô?" is not in the heard leg; the first loud window is the bot's greeting.
        first = next((i for i, r in enumerate(windows) if r > 300), None)
        if first is not None:
            first_audio.append(first * 20)
    keyed, spoken = [], []
    for number in (KEYPAD, SPEAK_THEN_KEY, WRONG_PERSON):
        turns = run.turns(number)
        for prev, turn in zip(turns, turns[1:]):
            if turn.speaker == "bot" and prev.speaker == "debtor" and turn.latency_ms is not None:
                (keyed if prev.text.isdigit() else spoken).append(turn.latency_ms)

    def summary(values: list[float]) -> str:
        if not values:
            return "none"
        return (
            f"n={len(values)} min {min(values):.0f} ms, median {statistics.median(values):.0f} ms, "
            f"max {max(values):.0f} ms"
        )

    print(f"\nanswer -> first bot audio (debtor's recording, includes AMD): {summary(first_audio)}")
    print(f"keypad reply -> next bot prompt: {summary(keyed)}")
    print(f"spoken reply end -> next bot prompt (after end-of-utterance silence): {summary(spoken)}")
    assert first_audio, "no recording had bot audio"
