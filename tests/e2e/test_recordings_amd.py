"""Recordings and answering-machine detection on the real sandbox (issue 15 §1, §2 AMI, §4 AMD).

One recorded campaign is dialled by the real dialer (with the least-privilege AMI user of manager_ivr.conf)
through ``ivr serve --test-models`` to people who answer "Alô?", "Alô, quem fala?", in silence (then
"Alô?"), in silence for good, and to answering machines with a long and a short greeting. Then: every
answered call left a recording measured in the ledger whose duration matches the call's and whose first
seconds hold the bot's greeting where the phone itself heard it; AMD sent each person to the conversation
and each machine to the neutral message; the accuracy is printed.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.br.cpf import cpf_with_check_digits
from ivr.db.models import Attempt, Phone, Recording, Turn
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
from tests.e2e.test_sandbox import rms_windows

pytestmark = pytest.mark.asterisk

ALO, WRONG_PERSON, MACHINE_LONG = "11990000001", "11990000009", "11990000006"
SILENT_THEN_ALO, ALO_QUEM_FALA, MACHINE_SHORT, NEVER_SPEAKS = "11990000010", "11990000011", "11990000012", "11990000013"
EXPECTED = {  # number → (what answers, the path it must take)
    ALO: ('person: "Alô?"', "person"),
    WRONG_PERSON: ('person: "Alô?" (wrong person)', "person"),
    ALO_QUEM_FALA: ('person: "Alô, quem fala?"', "person"),
    SILENT_THEN_ALO: ('person answering in silence, then "Alô?"', "person"),
    NEVER_SPEAKS: ("person who never speaks", "person"),
    MACHINE_LONG: ("machine, 10 s greeting", "machine"),
    MACHINE_SHORT: ('machine, "Deixe seu recado após o sinal."', "machine"),
}
PHONES = list(EXPECTED)
RECORDINGS_DIR = "/var/spool/asterisk/monitor/ivr-e2e"
LOUD = 300.0


@dataclass
class Dialled:
    sessions: sessionmaker[Session]
    env: dict[str, str]
    dialer_output: str
    service_log: Path

    def attempt(self, number: str) -> Attempt:
        with self.sessions() as s:
            row = s.scalars(
                select(Attempt).join(Phone, Phone.id == Attempt.phone_id).where(Phone.e164 == "+55" + number)
            ).one()
            s.expunge(row)
            return row

    def recording(self, number: str) -> Recording | None:
        aid = self.attempt(number).id
        with self.sessions() as s:
            row = s.scalars(select(Recording).where(Recording.attempt_id == aid)).one_or_none()
            if row is not None:
                s.expunge(row)
            return row

    def bot_turns(self, number: str) -> list[Turn]:
        aid = self.attempt(number).id
        with self.sessions() as s:
            rows = list(s.scalars(select(Turn).where(Turn.attempt_id == aid, Turn.speaker == "bot").order_by(Turn.seq)))
            s.expunge_all()
            return rows


@pytest.fixture(scope="module")
def dialled(asterisk_sandbox: AsteriskSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dialled]:
    tmp = tmp_path_factory.mktemp("recordings")
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
    env["IVR_RECORDINGS_DIR"] = RECORDINGS_DIR
    env["IVR_RECORDINGS_LOCAL_DIR"] = str(asterisk_sandbox.host_path(RECORDINGS_DIR))
    before = reload_dialplan(asterisk_sandbox)
    asterisk_sandbox.cli("manager reload")  # this checkout's manager_ivr.conf (least privilege, event filters)
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
            cpf = cpf_with_check_digits(f"{61998224 + i:09d}")
            rows.append(f"Pessoa {chr(65 + i)} Lima;{cpf};{number};{200 + i}.50;2026-01-10;REC-{i}")
        (tmp / "debtors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        _ivr(["campaign", "create", "rec", "--creditor", "Financeira Exemplo", "--records-calls"], env)
        _ivr(["import", str(tmp / "debtors.csv"), "--campaign", "rec"], env)
        _ivr(["campaign", "start", "rec"], env)
        _offset_attempt_ids(env["IVR_DATABASE_URL"])
        dialer = subprocess.run(
            [*IVR, "dialer", "rec", "--until-idle", "--as-of", dial_instant().isoformat()],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = dialer.stdout + dialer.stderr
        assert dialer.returncode == 0, f"ivr dialer failed:\n{output[-4000:]}"
        time.sleep(2.5)  # the last files settle, then measured by the CLI (the dialer may have exited first)
        _ivr(["recordings", "measure"], env)
        yield Dialled(open_database(env["IVR_DATABASE_URL"]), env, output, service_log)
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


def _onset(windows: list[float], start: int = 0) -> int | None:
    """Index of the first run of 5 loud 20 ms windows (100 ms of sound) at or after ``start``."""
    for i in range(start, len(windows) - 5):
        if all(w > LOUD for w in windows[i : i + 5]):
            return i
    return None


def test_every_answered_call_left_a_measured_recording(dialled: Dialled, asterisk_sandbox: AsteriskSandbox) -> None:
    for number in PHONES:
        attempt, rec = dialled.attempt(number), dialled.recording(number)
        assert attempt.answered_at is not None, (number, attempt.outcome, dialled.dialer_output[-2000:])
        assert rec is not None, f"{number}: no recording row ({attempt.outcome})"
        assert rec.status == "stored", (number, rec.status, rec.path)
        path = Path(rec.path)
        assert path.is_file() and path.is_relative_to(asterisk_sandbox.host_path(RECORDINGS_DIR))
        assert path.name == f"ivr-{attempt.id}.wav" and rec.format == "wav"
        assert path.stat().st_mode & 0o777 == 0o600, oct(path.stat().st_mode)
        data = path.read_bytes()
        assert rec.size_bytes == len(data) and rec.sha256 == hashlib.sha256(data).hexdigest()
        assert attempt.duration_s is not None and rec.duration_s is not None
        # MixMonitor starts at answer and stops at hang-up: its length is the call's, within a second or so.
        assert abs(rec.duration_s - attempt.duration_s) < 1.5, (number, rec.duration_s, attempt.duration_s)


def test_recording_holds_the_greeting_the_phone_heard(dialled: Dialled, asterisk_sandbox: AsteriskSandbox) -> None:
    """Both directions from answer: the phone's "Alô?" first, then the bot's greeting at the moment the phone's
    own recording of what it heard (``-heard.wav``, the bot alone) shows it start."""
    attempt, rec = dialled.attempt(ALO), dialled.recording(ALO)
    assert rec is not None
    ours = rms_windows(Path(rec.path))
    heard = rms_windows(asterisk_sandbox.recordings_dir / f"sim-{ALO}-{attempt.id}-heard.wav")
    bot_starts = _onset(heard)
    assert bot_starts is not None and bot_starts * 0.02 < 10, "the phone heard no bot greeting in 10 s"
    alo = _onset(ours)
    assert alo is not None and alo < bot_starts, "the phone's own 'Alô?' is not in the recording before the bot"
    near = ours[max(0, bot_starts - 25) : bot_starts + 75]  # from 0.5 s before to 1.5 s after the heard onset
    assert sum(1 for w in near if w > LOUD) >= 25, f"the greeting at {bot_starts * 0.02:.1f} s is not in {rec.path}"


def test_notice_said_on_the_recorded_calls(dialled: Dialled) -> None:
    for number in (ALO, ALO_QUEM_FALA):
        said = " ".join(t.text for t in dialled.bot_turns(number))
        assert "gravada" in said, (number, said)


def test_export_for_the_consumer(dialled: Dialled, tmp_path: Path) -> None:
    attempt, rec = dialled.attempt(ALO), dialled.recording(ALO)
    assert rec is not None
    out = tmp_path / "copia.wav"
    line = _ivr(["recordings", "export", str(attempt.id), "--out", str(out)], dialled.env)
    assert rec.sha256 is not None and rec.sha256 in line
    assert hashlib.sha256(out.read_bytes()).hexdigest() == rec.sha256 and out.stat().st_mode & 0o777 == 0o600


def test_amd_sends_people_to_the_bot_and_machines_to_the_message(dialled: Dialled) -> None:
    rows = []
    right = 0
    for number, (who, expected) in EXPECTED.items():
        a = dialled.attempt(number)
        went = "machine" if a.outcome == "voicemail" else "person"
        greeted = any(t.seq == 0 and "assistente virtual" in t.text for t in dialled.bot_turns(number))
        right += went == expected
        rows.append(
            f"  {number}  {who:48s} AMD {a.amd_status or '-':8s} {a.amd_cause or '-':28s} "
            f"{'greeted, ' if greeted else ''}{a.outcome}  {'ok' if went == expected else 'WRONG'}"
        )
    print(f"\nAMD on the sandbox phones: {right} of {len(EXPECTED)} right\n" + "\n".join(rows))
    assert right == len(EXPECTED), "\n".join(rows)
    # The silent lines were greeted before the decision, and the person who then said "Alô?" was served.
    for number in (SILENT_THEN_ALO, NEVER_SPEAKS):
        assert dialled.bot_turns(number)[0].seq == 0, number
    assert dialled.attempt(SILENT_THEN_ALO).outcome == "transferred"
    assert dialled.attempt(SILENT_THEN_ALO).amd_status == "HUMAN"  # decided on the reply to the greeting
    assert dialled.attempt(ALO_QUEM_FALA).outcome == "transferred"
    assert dialled.attempt(NEVER_SPEAKS).outcome in ("no_response", "hung_up")
    # A machine hears nothing about the debt (the neutral message only).
    for number in (MACHINE_LONG, MACHINE_SHORT):
        assert [t.seq for t in dialled.bot_turns(number)] == [1], number


def test_dialer_worked_with_the_least_privilege_ami_user(dialled: Dialled) -> None:
    """Every call's fate reached the ledger through the filtered events (OriginateResponse, IvrAmd, IvrHangup)."""
    for number in PHONES:
        a = dialled.attempt(number)
        assert a.state == "ended" and a.outcome is not None and a.amd_status, (number, a.state, a.outcome)
        assert a.hangup_cause is not None, number
    assert "Traceback" not in dialled.service_log.read_text()
