"""``ivr doctor``: checks a live setup (Asterisk over AMI, the call service's ports, models, database) and says,
one line per check, what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.telephony.ami import AmiClient, AmiError

REQUIRED_MODULES = ("res_agi.so", "app_audiosocket.so", "app_amd.so", "app_mixmonitor.so")
REQUIRED_CONTEXTS = ("ivr-outbound", "ivr-voicemail", "ivr-transfer", "ivr-recording", "ivr-silent-line")
SANDBOX_HINT = "sandbox: scripts/asterisk-sandbox up"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False
    """Passed, but with a degraded fallback worth knowing about (espeak-ng instead of Piper)."""

    def line(self) -> str:
        mark = "warn" if self.ok and self.warning else ("ok" if self.ok else "FAIL")
        text = f"{mark:4}  {self.name}: {self.detail}"
        return f"{text} — fix: {self.fix}" if self.fix and (not self.ok or self.warning) else text


def _tcp_open(host: str, port: int, timeout: float = 2.0) -> str | None:
    """None when something accepts connections at host:port, else the reason."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return None
    except OSError as exc:
        return exc.strerror or str(exc) or "timeout"


async def _asterisk_checks(settings: Settings) -> list[Check]:
    a = settings.ami
    where = f"{a.host}:{a.port}"
    client = AmiClient(a.host, a.port, a.username, a.secret, lambda _event: None, timeout=5.0)
    try:
        await client.connect()
    except AmiError as exc:
        if "secret" in str(exc) and "empty" in str(exc):
            fix = "export IVR_AMI_SECRET (the value in /etc/asterisk/manager_ivr_secret.conf; sandbox: sandbox-secret)"
        elif "refused" in str(exc) and "login" in str(exc):
            fix = "set IVR_AMI_SECRET to the secret in manager_ivr_secret.conf, then `manager reload` in Asterisk"
        else:
            fix = f"start Asterisk ({SANDBOX_HINT}) or set ami.host / ami.port"
        skipped = [Check("Asterisk modules", False, "not checked: no AMI session", "fix the AMI check first"),
                   Check("dialplan contexts", False, "not checked: no AMI session", "fix the AMI check first")]
        return [Check(f"AMI {where}", False, str(exc), fix), *skipped]
    checks = [Check(f"AMI {where}", True, f"login as {a.username!r} accepted")]
    try:
        missing = []
        for module in REQUIRED_MODULES:
            # Getvar with no channel on IFMODULE: the AMI user has no `system` right for ModuleCheck.
            reply = await client.action("Getvar", [("Variable", f"IFMODULE({module})")])
            if reply.get("Value") != "1":
                missing.append(module)
        if missing:
            checks.append(Check("Asterisk modules", False, f"not loaded: {', '.join(missing)}",
                                f"install asterisk-modules and `module load {missing[0]}` (see modules.conf)"))
        else:
            checks.append(Check("Asterisk modules", True, ", ".join(REQUIRED_MODULES) + " loaded"))
        absent = []
        for context in REQUIRED_CONTEXTS:
            try:
                await client.action_list("ShowDialPlan", "ShowDialPlanComplete", [("Context", context)])
            except AmiError:
                absent.append(context)
        if absent:
            checks.append(Check("dialplan contexts", False, f"missing: {', '.join(absent)}",
                                "copy dialplan/extensions_ivr.conf to /etc/asterisk/, #include it from "
                                "extensions.conf, then `dialplan reload`"))
        else:
            checks.append(Check("dialplan contexts", True, ", ".join(REQUIRED_CONTEXTS) + " present"))
        reply = await client.action("Getvar", [("Variable", "IVR_AGI_PORT")])
        dialplan_port = reply.get("Value") or "4573"
        if dialplan_port != str(settings.service.agi_port):
            checks.append(Check("dialplan FastAGI port", False,
                                f"the dialplan's IVR_AGI_PORT is {dialplan_port}, the service's service.agi_port is "
                                f"{settings.service.agi_port}", "make the two equal ([globals] in extensions.conf "
                                "or IVR_SERVICE_AGI_PORT)"))
    except AmiError as exc:
        checks.append(Check("Asterisk queries", False, str(exc), "check the AMI user's rights in manager_ivr.conf"))
    finally:
        await client.close()
    return checks


def _service_checks(settings: Settings) -> list[Check]:
    s = settings.service
    checks = []
    for name, host, port in (("FastAGI", s.agi_host, s.agi_port), ("AudioSocket", s.audiosocket_host,
                                                                     s.audiosocket_port)):
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        problem = _tcp_open(host, port)
        checks.append(Check(f"service {name} {host}:{port}", problem is None,
                            "accepting connections" if problem is None else problem,
                            "start the call service: ivr serve (or set service.agi_port / service.audiosocket_port)"))
    return checks


def _model_checks(settings: Settings) -> list[Check]:
    from ivr.speech.models import fetch_command, piper_voice_path, vosk_model_path

    sp = settings.speech
    checks = []
    try:
        path = vosk_model_path(sp.models_dir, sp.vosk_model)
        checks.append(Check("speech recognition model", True, f"Portuguese Vosk model at {path}"))
    except IvrError as exc:
        checks.append(Check("speech recognition model", False, f"Portuguese Vosk model missing ({exc})",
                            fetch_command("vosk-model-small-pt-0.3")))
    try:
        path = piper_voice_path(sp.models_dir, sp.piper_voice)
        checks.append(Check("speech synthesis voice", True, f"Portuguese Piper voice at {path}"))
    except IvrError:
        if sp.tts_engine == "piper" or shutil.which("espeak-ng") is None:
            checks.append(Check("speech synthesis voice", False, "no Piper voice and no espeak-ng",
                                fetch_command("pt_BR-faber-medium")))
        else:
            checks.append(Check("speech synthesis voice", True, "no Piper voice: the robotic espeak-ng fallback "
                                "will speak", fetch_command("pt_BR-faber-medium"), warning=True))
    return checks


def _database_check(settings: Settings) -> Check:
    from ivr.db.session import current_revision, get_engine, head_revision

    url = settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not Path(parsed.database).exists():
        # Connecting would create an empty file; say so instead.
        return Check("database", False, f"{shown} does not exist", "ivr db upgrade (creates and migrates it)")
    try:
        engine = get_engine(url)
        current, head = current_revision(engine), head_revision(engine)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Check("database", False, f"{shown} unreachable: {reason}",
                     "start the database server or fix IVR_DATABASE_URL")
    if current != head:
        return Check("database", False, f"{shown} at schema revision {current or 'none'}, needs {head}",
                     "ivr db upgrade")
    return Check("database", True, f"{shown} reachable, schema at revision {head}")


async def _all(settings: Settings) -> list[Check]:
    checks = await _asterisk_checks(settings)
    checks += await asyncio.to_thread(_service_checks, settings)
    checks += _model_checks(settings)
    checks.append(await asyncio.to_thread(_database_check, settings))
    return checks


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in report order; each one catches its own failures."""
    return asyncio.run(_all(settings))


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
