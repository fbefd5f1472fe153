"""``make demo``: a real campaign through the real Asterisk sandbox, from a fresh clone, in about two minutes.

Sandbox up (built on first use), ``ivr serve`` up, a demo campaign of simulated debtors imported from a
generated CSV, dialled by the real dialer, outcomes printed and stored (``var/demo/ivr.db``), ``ivr report``
shown, and everything stopped again at the end, also after Ctrl-C or an error. Needs root (the sandbox does).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ivr.br.cpf import cpf_with_check_digits  # noqa: E402
from ivr.br.phone import normalize_phone  # noqa: E402
from ivr.campaign.rules import check  # noqa: E402
from ivr.errors import IvrError  # noqa: E402
from ivr.speech.models import piper_voice_path, vosk_model_path  # noqa: E402

SANDBOX = REPO / "scripts" / "asterisk-sandbox"
IVR = str(Path(sys.executable).parent / "ivr")
WORK = REPO / "var" / "demo"
CAMPAIGN = "demo"
AMI_SECRET = "sandbox-secret"
DIAL_TIMEOUT_S = 240

console = Console(highlight=False)


class DemoError(Exception):
    """A step failed; the message says which and where its log is."""


def debtors(portuguese_asr: bool) -> list[tuple[str, str, str, str]]:
    """(name, phone, amount, what the simulated phone does). Speech needs the Portuguese recognizer;
    without it the phone that speaks first and keys after the bot's re-prompt shows the keypad fallback."""
    speaker = (
        ("Ana Pereira", "11990000002", "89.90", "speaks")
        if portuguese_asr
        else ("Ana Pereira", "11990000003", "89.90", "speaks, then keys")
    )
    return [
        ("Maria Souza", "11990000001", "150.50", "keypad"),
        speaker,
        ("João Santos", "11990000004", "1200.00", "busy"),
        ("Carla Lima", "11990000005", "310.00", "never answers"),
        ("Pedro Alves", "11990000006", "45.00", "machine"),
        ("Lucia Rocha", "11990000007", "999.99", "hangs up at once"),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sandbox(*args: str, env: dict[str, str], check_rc: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(SANDBOX), *args], env=env, capture_output=True, text=True, timeout=900, check=False)
    if check_rc and done.returncode != 0:
        raise DemoError(
            f"scripts/asterisk-sandbox {' '.join(args)} failed:\n{done.stderr.strip()}{done.stdout.strip()}"
        )
    return done


def ivr(*args: str, env: dict[str, str]) -> str:
    console.print(f"[dim]$ ivr {' '.join(args)}[/dim]")
    done = subprocess.run([IVR, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise DemoError(f"ivr {' '.join(args)} failed:\n{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def dial_instant() -> dt.datetime | None:
    """None when São Paulo numbers may be called now; else the window's next opening, for ``--as-of``."""
    now = dt.datetime.now(dt.timezone.utc)
    decision = check(normalize_phone("11990000001"), now)
    if decision.callable or decision.next_open is None:
        return None
    return decision.next_open + dt.timedelta(minutes=1)


def stop(proc: subprocess.Popen[bytes], name: str, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        console.print(f"[yellow]{name} did not stop in 15 s; killing it[/yellow]")
        proc.kill()
        proc.wait()


@contextmanager
def asterisk(env: dict[str, str]) -> Iterator[bool]:
    """The sandbox, up; stopped at the end unless it was already running (then it is someone else's)."""
    shared = sandbox("status", env=env, check_rc=False).returncode == 0
    started = time.monotonic()
    with console.status("Asterisk sandbox: starting (the first run builds a Debian root, about a minute)"):
        sandbox("up", env=env)
    note = " (already running: shared, left up at the end)" if shared else ""
    console.print(f"[green]✓[/green] Asterisk sandbox up in {time.monotonic() - started:.0f} s{note}")
    try:
        yield shared
    finally:
        if not shared:
            sandbox("down", env=env, check_rc=False)
            console.print("[green]✓[/green] Asterisk sandbox down")


@contextmanager
def call_service(env: dict[str, str], test_models: bool, agi_port: int, shared: bool) -> Iterator[None]:
    """``ivr serve`` on free ports, with the sandbox's dialplan pointed at it for the demo's duration."""
    log = (WORK / "serve.log").open("wb")
    args = [IVR, "serve", *(["--test-models"] if test_models else [])]
    console.print(f"[dim]$ {' '.join(['ivr', *args[1:]])}  (log: {WORK / 'serve.log'})[/dim]")
    proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    before = "4573"
    try:
        deadline = time.monotonic() + 60
        with console.status("call service: loading the speech models"):
            while True:
                if proc.poll() is not None:
                    raise DemoError(f"ivr serve exited ({proc.returncode}); see {WORK / 'serve.log'}")
                try:
                    socket.create_connection(("127.0.0.1", agi_port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise DemoError(f"ivr serve did not start in 60 s; see {WORK / 'serve.log'}") from None
                    time.sleep(0.2)
        if shared:
            for line in sandbox("cli", "dialplan show globals", env=env).stdout.splitlines():
                if line.strip().startswith("IVR_AGI_PORT="):
                    before = line.split("=", 1)[1].strip()
        sandbox("cli", f"dialplan set global IVR_AGI_PORT {agi_port}", env=env)
        console.print(f"[green]✓[/green] call service up (FastAGI 127.0.0.1:{agi_port})")
        yield
    finally:
        sandbox("cli", f"dialplan set global IVR_AGI_PORT {before}", env=env, check_rc=False)
        stop(proc, "ivr serve")
        log.close()
        console.print("[green]✓[/green] call service stopped")


def announce_models() -> tuple[bool, bool]:
    """Which speech engines the demo uses: (Portuguese recognizer present, Piper voice present)."""
    models = REPO / "models"
    try:
        vosk_model_path(models)
        asr = True
    except IvrError:
        asr = False
    try:
        piper_voice_path(models)
        tts = True
    except IvrError:
        tts = False
    console.print(
        (
            "[green]✓[/green] Portuguese recognizer (Vosk) found in models/"
            if asr
            else "[yellow]![/yellow] no Portuguese recognizer in models/: falling back to the Korean TEST model "
            "(speech will not be understood; the bot falls back to its keypad menu). "
            "Get the real one: ivr models download vosk-model-small-pt-0.3"
        )
    )
    console.print(
        (
            "[green]✓[/green] Portuguese Piper voice found in models/"
            if tts
            else "[yellow]![/yellow] no Piper voice in models/: the bot speaks with espeak-ng (robotic). "
            "Get the real one: ivr models download pt_BR-faber-medium"
        )
    )
    return asr, tts


def write_csv(path: Path, people: list[tuple[str, str, str, str]]) -> None:
    rows = ["nome;cpf;telefone;valor;vencimento;contrato"]
    due = (dt.date.today() - dt.timedelta(days=12)).isoformat()
    for i, (name, phone, amount, _) in enumerate(people):
        rows.append(
            f"{name};{cpf_with_check_digits(f'{390533447 + i * 7919:09d}')};{phone};{amount};{due};DEMO-{i + 1}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def dial(env: dict[str, str], as_of: dt.datetime | None) -> None:
    args = [IVR, "dialer", CAMPAIGN, "--until-idle", *(["--as-of", as_of.isoformat()] if as_of else [])]
    if as_of:
        console.print(
            f"[yellow]![/yellow] outside the calling window now: the dialer runs as of "
            f"{as_of.astimezone(dt.timezone(dt.timedelta(hours=-3))):%a %d/%m %H:%M} (BRT) "
            "(--as-of, sandbox only)"
        )
    console.print(f"[dim]$ ivr {' '.join(args[1:])}[/dim]")
    proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            # The dialer's own log: the calls as they are placed and end.
            if " ivr.dialer.dialer: " in line or line.startswith("originated"):
                console.print(f"[dim]  {line.rstrip().split(' ivr.dialer.dialer: ')[-1]}[/dim]")
            if time.monotonic() - started > DIAL_TIMEOUT_S:
                raise DemoError(f"the dialer did not finish within {DIAL_TIMEOUT_S} s")
        if proc.wait() != 0:
            raise DemoError(f"the dialer exited with {proc.returncode}")
    finally:
        # SIGINT lets the dialer close AMI cleanly; its attempts are reconciled by the ledger anyway.
        stop(proc, "the dialer", signal.SIGINT)  # type: ignore[arg-type]
    console.print(f"[green]✓[/green] dialled in {time.monotonic() - started:.0f} s")


def outcome_table(env: dict[str, str], people: list[tuple[str, str, str, str]]) -> Table:
    from sqlalchemy import func, select

    from ivr.db.models import Attempt, Debtor, Phone, Promise, Turn
    from ivr.db.session import dispose_engines, open_database

    sessions = open_database(env["IVR_DATABASE_URL"])
    behaviour = {"+55" + phone: what for _, phone, _, what in people}
    table = Table(title="Demo campaign: one call per simulated debtor")
    for column in ("debtor", "phone", "the phone", "outcome", "promised", "AMD", "secs", "turns"):
        table.add_column(column)
    with sessions() as s:
        rows = s.execute(
            select(
                Attempt,
                Debtor.name,
                Phone.e164,
                Promise.promised_date,
                select(func.count(Turn.id)).where(Turn.attempt_id == Attempt.id).scalar_subquery(),
            )
            .join(Debtor, Debtor.id == Attempt.debtor_id)
            .join(Phone, Phone.id == Attempt.phone_id)
            .outerjoin(Promise, Promise.attempt_id == Attempt.id)
            .order_by(Phone.e164)
        ).all()
        for attempt, name, e164, promised, turns in rows:
            style = "green" if attempt.outcome == "promise_to_pay" else ""
            table.add_row(
                name,
                f"…{e164[-4:]}",
                behaviour.get(e164, ""),
                f"[{style}]{attempt.outcome}[/{style}]" if style else str(attempt.outcome),
                promised.strftime("%d/%m/%Y") if promised else "",
                attempt.amd_status or "",
                f"{attempt.duration_s:.0f}" if attempt.duration_s else "",
                str(turns),
            )
    dispose_engines()
    return table


def main() -> int:
    if os.geteuid() != 0:
        console.print(
            "[red]make demo needs root[/red]: the Asterisk sandbox uses debootstrap, chroot and mount. "
            "Run it as root (e.g. sudo make demo), as CI does."
        )
        return 2
    started = time.monotonic()
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    agi_port = free_port()
    env.update(
        {
            "IVR_DATABASE_URL": f"sqlite:///{WORK / 'ivr.db'}",
            "IVR_DATA_DIR": str(WORK),
            "IVR_AMI_SECRET": os.environ.get("IVR_AMI_SECRET", AMI_SECRET),
            "IVR_SERVICE_AGI_PORT": str(agi_port),
            "IVR_SERVICE_AUDIOSOCKET_PORT": str(free_port()),
            "IVR_SPEECH_MODELS_DIR": str(REPO / "models"),
            "IVR_DIALER_RING_TIMEOUT_SECONDS": "8",
            "IVR_DIALER_MAX_CONCURRENT": "6",
            "IVR_DIALER_CALLS_PER_SECOND": "2",
        }
    )
    console.rule("collections voice bot: demo through a real Asterisk")
    portuguese_asr, _ = announce_models()
    people = debtors(portuguese_asr)
    try:
        with ExitStack() as stack:
            shared = stack.enter_context(asterisk(env))
            stack.enter_context(call_service(env, not portuguese_asr, agi_port, shared))
            write_csv(WORK / "devedores.csv", people)
            ivr("campaign", "create", CAMPAIGN, "--creditor", "Financeira Exemplo", "--records-calls", env=env)
            ivr("import", str(WORK / "devedores.csv"), "--campaign", CAMPAIGN, env=env)
            ivr("campaign", "start", CAMPAIGN, env=env)
            dial(env, dial_instant())
            console.print(outcome_table(env, people))
            console.print(ivr("report", CAMPAIGN, env=env))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: everything started by the demo was stopped[/yellow]")
        return 130
    except (DemoError, IvrError) as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        return 1
    console.print(
        f"done in {time.monotonic() - started:.0f} s; results stored in {WORK / 'ivr.db'} "
        f"(IVR_DATABASE_URL=sqlite:///{WORK / 'ivr.db'} ivr report {CAMPAIGN})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
