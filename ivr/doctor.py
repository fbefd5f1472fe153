"""``ivr doctor``: checks a live setup (Asterisk over AMI, the call service's ports, models, database) and says,
one line per check, what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.resources import dialplan_dir
from ivr.asterisk.ami import AmiClient, AmiError

REQUIRED_MODULES = ("res_agi.so", "app_audiosocket.so", "app_amd.so")
"""Always needed: FastAGI, the media leg the service opens with ``EXEC AudioSocket``, answering-machine detection.
The rest of the list comes from the applications and functions ``extensions_ivr.conf`` uses (``dialplan_modules``)."""

APP_MODULES = {
    "AGI": "res_agi.so",
    "AMD": "app_amd.so",
    "AudioSocket": "app_audiosocket.so",
    "Playback": "app_playback.so",
    "Queue": "app_queue.so",
    "UserEvent": "app_userevent.so",
    "WaitForSilence": "app_waitforsilence.so",
    "MixMonitor": "app_mixmonitor.so",
    "Read": "app_read.so",
    "Dial": "app_dial.so",
    "Verbose": "app_verbose.so",
    "Log": "app_verbose.so",
    "Record": "app_record.so",
    "SayDigits": "pbx_builtin",
    "Background": "pbx_builtin",
}
"""Dialplan application -> the module providing it (``core show application X`` says where each lives);
``pbx_builtin`` and the names in ``CORE_APPS`` are part of Asterisk's core."""
CORE_APPS = {
    "Answer",
    "GotoIf",
    "Goto",
    "Hangup",
    "Set",
    "NoOp",
    "Wait",
    "Progress",
    "Ringing",
    "Busy",
    "Congestion",
    "Gosub",
    "Return",
    "ExecIf",
    "MSet",
    "Echo",
}
FUNCTION_MODULES = {
    "IF": "func_logic.so",
    "IFMODULE": "func_module.so",
    "CALLERID": "func_callerid.so",
    "CHANNEL": "func_channel.so",
    "STRFTIME": "func_strings.so",
    "LEN": "func_strings.so",
    "CUT": "func_cut.so",
    "CDR": "func_cdr.so",
    "SHELL": "func_shell.so",
    "QUEUE_MEMBER": "app_queue.so",
}

AUDIOSOCKET_DTMF_MINIMUM = {20: (20, 14, 0), 21: (21, 9, 0), 22: (22, 4, 0)}
"""AudioSocket forwards keypad digits (packet type 0x03) since Asterisk 22.4.0 ("audiosocket: added support
for DTMF frames", asterisk/asterisk PR #1138, ChangeLog 22.4.0), cherry-picked to the 20 and 21 branches in
the same release round; every 23 and later has it. Older Asterisk silently drops the digits: keypad
fallback, verification and menus would never hear a key."""

OVERPRIVILEGED_ACTIONS = {
    "Command": "command",
    "ModuleLoad": "system",
    "GetConfig": "config",
    "UpdateConfig": "config",
    "DialplanExtensionAdd": "dialplan",
    "Reload": "system",
    "Redirect": "call",
    "Hangup": "call",
    "Setvar": "call",
}
"""AMI actions the ivr user must not be able to run (``ListCommands`` lists only the permitted ones), with the
right that grants each. manager_ivr.conf grants ``write = originate,reporting``."""

DEMO_CALLER_ID = '"Central de Atendimento" <1130000000>'
"""The caller id of the samples and the sandbox: not a number the company owns."""
REQUIRED_CONTEXTS = ("ivr-outbound", "ivr-voicemail", "ivr-transfer", "ivr-recording", "ivr-silent-line")
SANDBOX_HINT = "sandbox: scripts/asterisk-sandbox up"
SANDBOX_AMI_SECRET = "sandbox-secret"
"""The AMI secret scripts/asterisk-sandbox publishes: anyone who reads the repository knows it."""
MIN_KEY_CHARS = 32
"""Shortest accepted CPF/session key (32 hex characters = 128 bits, ``openssl rand -hex 16``). A CPF has only
10^9 possible values: with a guessable key, every stored CPF HMAC can be reversed by trying them all."""


def _weak_secrets(settings: Settings) -> list[str]:
    """Secrets a production setup must not use: the sandbox's AMI secret, short CPF or session keys."""
    found = []
    if settings.ami.secret == SANDBOX_AMI_SECRET:
        found.append("ami.secret is the sandbox's published secret")
    key = settings.privacy.hmac_key
    key_file = Path(settings.privacy.hmac_key_file or settings.data_path / "hmac.key")
    if not key and key_file.is_file():
        try:
            key = key_file.read_text().strip()
        except OSError:
            key = ""  # the database check and the commands that need the key say why it is unreadable
    if key and len(key) < MIN_KEY_CHARS:
        found.append(
            f"the CPF key (privacy.hmac_key) has {len(key)} characters, under {MIN_KEY_CHARS}: stored CPFs could be "
            "recovered from their HMAC"
        )
    if settings.web.secret_key and len(settings.web.secret_key) < MIN_KEY_CHARS:
        found.append(f"web.secret_key has {len(settings.web.secret_key)} characters, under {MIN_KEY_CHARS}")
    return found


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
        skipped = [
            Check("Asterisk version", False, "not checked: no AMI session", "fix the AMI check first"),
            Check("AMI user rights", False, "not checked: no AMI session", "fix the AMI check first"),
            Check("Asterisk modules", False, "not checked: no AMI session", "fix the AMI check first"),
            Check("dialplan contexts", False, "not checked: no AMI session", "fix the AMI check first"),
        ]
        return [Check(f"AMI {where}", False, str(exc), fix), *skipped]
    checks = [Check(f"AMI {where}", True, f"login as {a.username!r} accepted")]
    try:
        checks.append(asterisk_version_check((await client.action("CoreSettings")).get("AsteriskVersion", "")))
        checks.append(ami_rights_check(a.username, await client.action("ListCommands")))
        missing = []
        for module in dialplan_modules():
            # Getvar with no channel on IFMODULE: the AMI user has no `system` right for ModuleCheck.
            reply = await client.action("Getvar", [("Variable", f"IFMODULE({module})")])
            if reply.get("Value") != "1":
                missing.append(module)
        if missing:
            checks.append(
                Check(
                    "Asterisk modules",
                    False,
                    f"not loaded: {', '.join(missing)}",
                    f"install asterisk-modules and `module load {missing[0]}` (see modules.conf)",
                )
            )
        else:
            checks.append(Check("Asterisk modules", True, ", ".join(dialplan_modules()) + " loaded"))
        absent = []
        for context in REQUIRED_CONTEXTS:
            try:
                await client.action_list("ShowDialPlan", "ShowDialPlanComplete", [("Context", context)])
            except AmiError:
                absent.append(context)
        if absent:
            checks.append(
                Check(
                    "dialplan contexts",
                    False,
                    f"missing: {', '.join(absent)}",
                    "copy ivr/dialplan/extensions_ivr.conf to /etc/asterisk/, #include it from "
                    "extensions.conf, then `dialplan reload`",
                )
            )
        else:
            checks.append(Check("dialplan contexts", True, ", ".join(REQUIRED_CONTEXTS) + " present"))
        reply = await client.action("Getvar", [("Variable", "IVR_AGI_PORT")])
        dialplan_port = reply.get("Value") or "4573"
        if dialplan_port != str(settings.service.agi_port):
            checks.append(
                Check(
                    "dialplan FastAGI port",
                    False,
                    f"the dialplan's IVR_AGI_PORT is {dialplan_port}, the service's service.agi_port is "
                    f"{settings.service.agi_port}",
                    "make the two equal ([globals] in extensions.conf or IVR_SERVICE_AGI_PORT)",
                )
            )
        else:
            checks.append(
                Check(
                    "dialplan FastAGI port", True, f"the dialplan's IVR_AGI_PORT is service.agi_port ({dialplan_port})"
                )
            )
    except AmiError as exc:
        checks.append(Check("Asterisk queries", False, str(exc), "check the AMI user's rights in manager_ivr.conf"))
    finally:
        await client.close()
    return checks


def dialplan_modules(dialplan: str | None = None) -> list[str]:
    """The modules ``extensions_ivr.conf`` (or ``dialplan``, its text) needs, ``REQUIRED_MODULES`` first.

    Raises IvrError naming an application or function this table does not know (add it to APP_MODULES).
    """
    text = dialplan if dialplan is not None else (dialplan_dir() / "extensions_ivr.conf").read_text(encoding="utf-8")
    modules = list(REQUIRED_MODULES)
    code = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    for app in re.findall(r"=>\s*(?:[^,()]*(?:\([\w-]*\))?,){1,2}\s*([A-Za-z]+)\(", code):
        module = APP_MODULES.get(app, "pbx_builtin" if app in CORE_APPS else "")
        if not module:
            raise IvrError(f"extensions_ivr.conf uses the application {app}: add its module to APP_MODULES")
        if module != "pbx_builtin" and module not in modules:
            modules.append(module)
    for function in re.findall(r"\$\{([A-Z_]+)\(", code):
        module = FUNCTION_MODULES.get(function, "")
        if not module:
            raise IvrError(f"extensions_ivr.conf uses the function {function}(): add its module to FUNCTION_MODULES")
        if module not in modules:
            modules.append(module)
    return modules


def asterisk_version_check(version: str) -> Check:
    """``AsteriskVersion`` of CoreSettings (``22.10.1+dfsg...``, ``certified-22.8-cert1``) against
    ``AUDIOSOCKET_DTMF_MINIMUM``."""
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    fix = "upgrade Asterisk to 22.4.0 or later (AudioSocket forwards keypad digits from 22.4.0 on)"
    if not found:
        return Check("Asterisk version", False, f"cannot read the version {version!r}", fix)
    got = tuple(int(g or 0) for g in found.groups())
    need = AUDIOSOCKET_DTMF_MINIMUM.get(got[0], (0, 0, 0) if got[0] > 22 else (99, 0, 0))
    if got < need:
        return Check(
            "Asterisk version",
            False,
            f"{version}: AudioSocket does not forward keypad digits before "
            + (".".join(map(str, need)) if need[0] < 99 else "22.4.0"),
            fix,
        )
    return Check("Asterisk version", True, f"{version} (AudioSocket with keypad digits)")


def ami_rights_check(username: str, list_commands: dict[str, str]) -> Check:
    """Fail when the AMI user may run actions beyond ``originate,reporting`` (from ListCommands): manager_ivr.conf
    grants exactly those; ``call`` would let it hang up, redirect or set variables on any channel."""
    extra = sorted(f"{action} ({right})" for action, right in OVERPRIVILEGED_ACTIONS.items() if action in list_commands)
    if extra:
        return Check(
            "AMI user rights",
            False,
            f"{username!r} may run {', '.join(extra)}",
            "use ivr/dialplan/manager_ivr.conf (write = originate,reporting; read = call,user), then `manager reload`",
        )
    return Check("AMI user rights", True, f"{username!r} limited to originate and reporting actions")


def _sandbox_checks(settings: Settings) -> list[Check]:
    """Values that only make sense against scripts/asterisk-sandbox fail a production setup, and so do weak
    secrets (the sandbox's AMI secret, short keys)."""
    d = settings.dialer
    found = _weak_secrets(settings)
    if "@debtor-sim" in d.channel_template:
        found.append(f"dialer.channel_template {d.channel_template!r} dials the sandbox's simulated phones")
    if d.caller_id.strip() == DEMO_CALLER_ID or "1130000000" in d.caller_id:
        found.append(f"dialer.caller_id {d.caller_id!r} is the demo number")
    if not found:
        return [Check("production values", True, f"channel {d.channel_template!r}, caller id {d.caller_id!r}")]
    if settings.doctor.sandbox:
        return [
            Check(
                "production values", True, "; ".join(found), "fine for the sandbox only (doctor.sandbox)", warning=True
            )
        ]
    return [
        Check(
            "production values",
            False,
            "; ".join(found),
            "set dialer.channel_template (e.g. PJSIP/{number}@trunk) and dialer.caller_id to the company's "
            "number (IVR_DIALER_CALLER_ID), secrets from `openssl rand -hex 32` (docs/INSTALL.md section 3); "
            "in the sandbox set IVR_DOCTOR_SANDBOX=1",
        )
    ]


def _service_checks(settings: Settings) -> list[Check]:
    s = settings.service
    checks = []
    for name, host, port in (
        ("FastAGI", s.agi_host, s.agi_port),
        ("AudioSocket", s.audiosocket_host, s.audiosocket_port),
    ):
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        problem = _tcp_open(host, port)
        checks.append(
            Check(
                f"service {name} {host}:{port}",
                problem is None,
                "accepting connections" if problem is None else problem,
                "start the call service: ivr serve (or set service.agi_port / service.audiosocket_port)",
            )
        )
    return checks


def _model_checks(settings: Settings) -> list[Check]:
    from ivr.speech.models import fetch_command, piper_voice_path, vosk_model_path

    sp = settings.speech
    checks = []
    try:
        path = vosk_model_path(sp.models_dir, sp.vosk_model)
        checks.append(Check("speech recognition model", True, f"Portuguese Vosk model at {path}"))
    except IvrError as exc:
        checks.append(
            Check(
                "speech recognition model",
                False,
                f"Portuguese Vosk model missing ({exc})",
                fetch_command("vosk-model-small-pt-0.3"),
            )
        )
    try:
        path = piper_voice_path(sp.models_dir, sp.piper_voice)
        checks.append(Check("speech synthesis voice", True, f"Portuguese Piper voice at {path}"))
    except IvrError:
        if sp.tts_engine == "piper" or shutil.which("espeak-ng") is None:
            checks.append(
                Check(
                    "speech synthesis voice",
                    False,
                    "no Piper voice and no espeak-ng",
                    fetch_command("pt_BR-faber-medium"),
                )
            )
        else:
            checks.append(
                Check(
                    "speech synthesis voice",
                    True,
                    "no Piper voice: the robotic espeak-ng fallback will speak",
                    fetch_command("pt_BR-faber-medium"),
                    warning=True,
                )
            )
    return checks


def _database_check(settings: Settings) -> Check:
    from ivr.db.session import DatabaseUnreachable, current_revision, get_engine, head_revision

    url = settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    parsed = make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database
        and parsed.database != ":memory:"
        and not Path(parsed.database).exists()
    ):
        # Connecting would create an empty file; say so instead.
        return Check("database", False, f"{shown} does not exist", "ivr db upgrade (creates and migrates it)")
    try:
        engine = get_engine(url)
        current, head = current_revision(engine), head_revision(engine)
    except (SQLAlchemyError, OSError, DatabaseUnreachable) as exc:
        reason = exc.detail if isinstance(exc, DatabaseUnreachable) else str(getattr(exc, "orig", None) or exc)
        reason = reason.strip().splitlines()[0]
        return Check(
            "database", False, f"{shown} unreachable: {reason}", "start the database server or fix IVR_DATABASE_URL"
        )
    if current != head:
        return Check(
            "database", False, f"{shown} at schema revision {current or 'none'}, needs {head}", "ivr db upgrade"
        )
    return Check("database", True, f"{shown} reachable, schema at revision {head}")


async def _all(settings: Settings) -> list[Check]:
    checks = _sandbox_checks(settings)
    checks += await _asterisk_checks(settings)
    checks += await asyncio.to_thread(_service_checks, settings)
    checks += _model_checks(settings)
    checks.append(await asyncio.to_thread(_database_check, settings))
    return checks


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in report order; each one catches its own failures."""
    return asyncio.run(_all(settings))


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
