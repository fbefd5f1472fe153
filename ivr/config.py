"""One typed settings object, read from a TOML file plus ``IVR_*`` environment variables.

Precedence: defaults < TOML file (``--config`` or ``IVR_CONFIG``) < environment.
Environment names are ``IVR_<SECTION>_<KEY>`` (``IVR_AMI_PORT=5038``, ``IVR_DATABASE_URL``); any other
``IVR_*`` variable is an error naming the nearest setting, except the few in ``NON_SETTING_VARIABLES``. Secrets (AMI secret, CPF HMAC key) are read only from the environment or from a
key file whose path is a setting: never from the TOML file itself.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, get_type_hints

from ivr.errors import ConfigError

SECRET_KEYS = {("ami", "secret"), ("privacy", "hmac_key"), ("outbox", "webhook_secret"), ("web", "secret_key")}


@dataclass
class DatabaseSettings:
    url: str = ""
    """SQLAlchemy URL; empty means a SQLite file in the data directory."""
    echo: bool = False


@dataclass
class PrivacySettings:
    hmac_key: str = ""
    """From IVR_PRIVACY_HMAC_KEY only. Empty: a key file is used (created on first use)."""
    hmac_key_file: str = ""
    """Path of a file holding the key; default ``<data_dir>/hmac.key`` (outside version control)."""


@dataclass
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "ivr"
    secret: str = ""
    """From IVR_AMI_SECRET only."""
    reconnect_seconds: float = 2.0


@dataclass
class ServiceSettings:
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9092
    audiosocket_advertise: str = ""
    """host:port Asterisk should connect to; default audiosocket_host:audiosocket_port."""
    allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    """Peers allowed to connect when binding beyond loopback."""
    silence_timeout_seconds: float = 6.0
    max_call_seconds: float = 300.0
    workers: int = 1
    """``ivr serve`` processes on this host (one per core pays: each has its own event loop and models).
    They share the FastAGI port (SO_REUSEPORT: the kernel spreads the sessions); worker i listens for
    AudioSocket on ``audiosocket_port + i`` and tells Asterisk that address, so a call's media reaches the
    process that runs its conversation. docs/PERFORMANCE.md has the memory per process."""


@dataclass
class DialerSettings:
    channel_template: str = "Local/{number}@debtor-sim"
    """``PJSIP/{number}@trunk`` in production."""
    context: str = "ivr-outbound"
    extension: str = "s"
    caller_id: str = '"Central de Atendimento" <1130000000>'
    ring_timeout_seconds: int = 30
    max_concurrent: int = 4
    calls_per_second: float = 1.0
    trunk: str = "trunk"
    process_max_concurrent: int = 0
    """Calls one dialer process handles at once (its capacity); 0: only the global max_concurrent applies."""
    lease_seconds: float = 30.0
    """A dialer renews its attempts' leases every second; a lease this old means the dialer died."""
    outcome_grace_seconds: float = 5.0
    """After an answered call ends, how long the call service has to write its outcome before the dialer
    records ``hung_up`` (or ``voicemail`` for a machine)."""
    # Closing the loop (issue 13): the call-service check, the short-call guard, failed transfers.
    service_check: bool = True
    """Check the call service before each batch; false only for dialling phones that never reach it (tests)."""
    service_check_address: str = ""
    """``host:port`` of the FastAGI service the dialer checks before each batch; default service.agi_host:agi_port."""
    service_check_seconds: float = 2.0
    """How often the dialer checks that the call service answers (it does not dial while it does not)."""
    service_check_timeout_seconds: float = 1.0
    short_call_throttle_share: float = 0.80
    """Share of today's placed calls lasting 6 s or less at which the campaign is slowed to one call at a time,
    before the Anatel threshold of 85 %."""
    short_call_min_calls: int = 20
    """Placed calls today before the short-call share is acted on (a few calls say nothing)."""
    short_call_throttle_seconds: float = 5.0
    """While throttled: seconds between batches (one call per batch)."""
    transfer_callback_minutes: int = 30
    """After a transfer no agent answered: the callback is placed this long after, at the next allowed time."""
    queue_refresh_seconds: float = 10.0
    """How often a running dialer adds debtors imported into its campaign meanwhile to the dial queue."""


@dataclass
class SpeechSettings:
    tts_engine: str = "auto"
    """``piper``, ``espeak`` or ``auto`` (Piper when a voice is installed, else espeak-ng, announced)."""
    piper_voice: str = ""
    """Path of the Piper ``.onnx`` voice; default ``models/pt_BR-faber-medium.onnx``."""
    vosk_model: str = ""
    """Path of the Vosk model directory; default ``models/vosk-model-small-pt-0.3``."""
    models_dir: str = "models"
    cache_dir: str = ""
    """Rendered-audio cache; default ``<data_dir>/tts-cache``."""
    end_of_utterance_ms: int = 700
    vad_aggressiveness: int = 2
    barge_in: bool = True
    models_base_url: str = ""
    """Fetch every model file from ``<this>/<file name>`` instead of its official URL (a mirror)."""


RECORDING_EXTENSIONS = {"wav": "wav", "wav49": "WAV", "opus": "opus"}
"""Recording format setting → the file extension MixMonitor picks the format by (Asterisk: ``wav`` is 16-bit
PCM, ``WAV`` is GSM in WAV (wav49, about 1.6 kB/s), ``opus`` is Ogg Opus from format_ogg_opus)."""


@dataclass
class RecordingSettings:
    dir: str = "/var/spool/asterisk/monitor/ivr"
    """Directory, as Asterisk sees it, where MixMonitor writes each recorded call as ``ivr-<attempt id>.<ext>``.
    Make it 2770, owner asterisk, group the dialer's (setgid), and run Asterisk with umask 027 (systemd ``UMask=0027``):
    the dialer reads each file and puts its own 0600 copy in place, the purge deletes it."""
    local_dir: str = ""
    """The same directory as the dialer's host sees it (a mount of it, or the sandbox root + ``dir``); default ``dir``."""
    format: str = "wav"
    """``wav`` (PCM), ``wav49`` (GSM in WAV) or ``opus``."""
    retention_days: int = 180
    """Days a recording is kept when its campaign sets none (``ivr recordings retention``); ``ivr recordings
    purge`` deletes older files and rows. Fix it with your legal counsel (SP Lei 14.953/2013 requires the
    recording; the consumer may ask for a copy)."""
    group_readable: bool = False
    """Recordings are made 0600 once measured; true: 0640 (a console user in the dialer's group may play them)."""

    @property
    def extension(self) -> str:
        """The file extension of ``format``; ``ConfigError`` for an unknown format."""
        try:
            return RECORDING_EXTENSIONS[self.format]
        except KeyError:
            raise ConfigError(
                f"setting recordings.format: {self.format!r} is not one of {', '.join(RECORDING_EXTENSIONS)}"
            ) from None

    @property
    def file_mode(self) -> int:
        return 0o640 if self.group_readable else 0o600


@dataclass
class MetricsSettings:
    host: str = "127.0.0.1"
    """Where /metrics and /healthz listen (loopback: a Prometheus on this host, or a proxy)."""
    serve_port: int = 0
    """Port of ``ivr serve``'s endpoint; 0: off (the systemd unit sets 9464)."""
    dialer_port: int = 0
    """Port of a dialer's endpoint; 0: off. One per dialer process (ivr-dialer@.service: /etc/ivr/dialer-NAME.env)."""


@dataclass
class DoctorSettings:
    sandbox: bool = False
    """This setup is the development sandbox (scripts/asterisk-sandbox): ``ivr doctor`` then accepts the
    sandbox's channel template and demo caller id instead of failing on them."""


@dataclass
class PromptsSettings:
    catalog: str = ""
    """Path of a prompt catalog TOML replacing the shipped ``ivr/prompts/catalog.toml`` (IVR_PROMPTS_CATALOG)."""


SYSTEM_DATA_DIR = Path("/var/lib/ivr")
"""The service's state directory (systemd ``StateDirectory=ivr``)."""


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the database, the CPF key file and the audio cache live when ``data_dir`` is not set.

    In order: ``$STATE_DIRECTORY`` (set by systemd for ``StateDirectory=``, first entry); ``/var/lib/ivr``
    when it exists and this user may write there (the service user); else the XDG data directory,
    ``$XDG_DATA_HOME/ivr`` or ``~/.local/share/ivr`` (XDG Base Directory Specification). Never the current
    folder: a command run from elsewhere must find the same database.
    """
    return _default_data_dir(env)[0]


def _default_data_dir(env: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """``default_data_dir`` and the rule that chose it, in the operator's words."""
    env = os.environ if env is None else env
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state), "$STATE_DIRECTORY, set by systemd"
    if SYSTEM_DATA_DIR.is_dir() and os.access(SYSTEM_DATA_DIR, os.W_OK | os.X_OK):
        return SYSTEM_DATA_DIR, f"{SYSTEM_DATA_DIR}, which exists and this user may write"
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "ivr", f"$XDG_DATA_HOME/ivr: {SYSTEM_DATA_DIR} is absent or not writable for this user"
    home = Path(env.get("HOME") or Path.home())
    return home / ".local" / "share" / "ivr", (
        f"~/.local/share/ivr: {SYSTEM_DATA_DIR} is absent or not writable for this user"
    )


@dataclass
class OutboxSettings:
    """Delivery of outbox events (promises, payment instructions, callbacks, reviews) to the creditor's webhook."""

    webhook_url: str = ""
    """http(s) URL the events are POSTed to; empty: events stay in the outbox and nothing is sent."""
    webhook_secret: str = ""
    """From IVR_OUTBOX_WEBHOOK_SECRET only: the HMAC-SHA256 key of the X-IVR-Signature header."""
    max_deliveries: int = 8
    """Failed deliveries after which an event goes to the dead letters (``ivr outbox retry`` revives it)."""
    backoff_seconds: float = 2.0
    """Wait after the first failure; doubled after each further one."""
    backoff_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    """Per POST; an answer that takes longer is a failure."""
    lease_seconds: float = 30.0
    """A worker holds an event this long while it delivers; after that another worker may send it again."""
    poll_seconds: float = 1.0
    run_in_serve: bool = True
    """``ivr serve`` also runs the delivery worker when webhook_url is set."""


@dataclass
class WebSettings:
    """The operators' console and HTTP API (``ivr web``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = ""
    """Signs the session cookies. From IVR_WEB_SECRET_KEY only; empty: a key file is used (created on first use)."""
    secret_key_file: str = ""
    """Default ``<data_dir>/web-secret.key``."""
    session_minutes: int = 480
    """A login lasts at most this long (one shift)."""
    idle_minutes: int = 30
    """A session unused this long is closed."""
    login_max_failures: int = 5
    """Failed passwords in a row before the account is locked for ``login_lock_seconds``."""
    login_lock_seconds: int = 300
    page_size: int = 50
    max_upload_mb: int = 200
    secure_cookies: bool = False
    """Send the session cookie only over HTTPS (set when a TLS proxy is in front)."""
    uploads_dir: str = ""
    """Where uploaded import files and their rejects are kept; default ``<data_dir>/uploads``."""


@dataclass
class Settings:
    data_dir: str = ""
    """Database, CPF key file, audio cache; empty: ``default_data_dir()`` (never the current folder)."""
    log_level: str = "INFO"
    log_format: str = "text"
    """``text`` (one line per event) or ``json`` (one object per line with attempt_id, campaign, stage);
    ``ivr --log-format``."""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    ami: AmiSettings = field(default_factory=AmiSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    dialer: DialerSettings = field(default_factory=DialerSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    web: WebSettings = field(default_factory=WebSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    prompts: PromptsSettings = field(default_factory=PromptsSettings)
    doctor: DoctorSettings = field(default_factory=DoctorSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    sources: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Bookkeeping, not a setting: ``section.key`` -> ``file``, ``environment`` or ``credential`` (absent: default)."""
    config_file: str = field(default="", init=False, repr=False, compare=False)
    """Bookkeeping, not a setting: the TOML file read, if any."""
    data_dir_rule: str = field(default="", init=False, repr=False, compare=False)
    """Bookkeeping, not a setting: why the default data directory is the one it is."""

    # -- derived values -------------------------------------------------
    @property
    def data_path(self) -> Path:
        """``data_dir`` as an absolute path; ``default_data_dir()`` when it is empty."""
        return (Path(self.data_dir) if self.data_dir else default_data_dir()).resolve()

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data_path / 'ivr.db'}"

    def database_origin(self) -> str:
        """Why this database: ``setting database.url (environment)``, ``the default location ...``, etc."""
        if self.database.url:
            return f"setting database.url ({self.sources.get('database.url', 'default')})"
        if "data_dir" in self.sources:
            return f"ivr.db in data_dir ({self.sources['data_dir']})"
        rule = self.data_dir_rule or "$STATE_DIRECTORY, /var/lib/ivr if writable, else the XDG data dir"
        return f"ivr.db in the default data directory ({rule})"

    def hmac_key(self, create: bool = True) -> bytes:
        """The CPF HMAC key: from the environment, else from the key file (created 0600 if absent and ``create``).

        Callers pass ``create=False`` when the database already holds debtors: a new key would silently make
        every CPF look new (caps, history and do-not-call entries would no longer match).
        """
        if self.privacy.hmac_key:
            return self.privacy.hmac_key.encode()
        path = Path(self.privacy.hmac_key_file or self.data_path / "hmac.key")
        if path.is_dir():
            raise ConfigError(f"setting privacy.hmac_key_file: {path} is a directory, not a key file")
        if not path.exists():
            if not create:
                raise ConfigError(
                    f"the CPF key {path} is missing but the database already has debtors; set data_dir (IVR_DATA_DIR) "
                    "to the directory that holds it, or IVR_PRIVACY_HMAC_KEY / privacy.hmac_key_file to the same key"
                )
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def web_secret(self) -> bytes:
        """The session-signing key: from the environment, else from the key file (created 0600 when absent)."""
        if self.web.secret_key:
            return self.web.secret_key.encode()
        path = Path(self.web.secret_key_file or Path(self.data_dir) / "web-secret.key")
        if path.is_dir():
            raise ConfigError(f"setting web.secret_key_file: {path} is a directory, not a key file")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return path.read_text().strip().encode()
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


MAX_SETTING_NUMBER = 1_000_000
"""No number setting means more (seconds, days, calls, megabytes): a larger one is a typo, and some overflow the
date arithmetic (``recordings.retention_days`` = 10**9 days before today is before year 1)."""

MAX_RETENTION_DAYS = 36500
"""A hundred years: longer than any legal retention, and far from the date arithmetic's limits (a campaign's
own retention has the same range)."""


def _check_number(name: str, value: int | float) -> int | float:
    """A number setting in the range every command can use; ``ConfigError`` naming the key otherwise."""
    if name.endswith("port"):
        if not 0 <= value <= 65535:
            raise ConfigError(f"setting {name}: {value} is not a port (1-65535, or 0)")
    elif value < 0:
        raise ConfigError(f"setting {name}: {value} is negative")
    elif value > MAX_SETTING_NUMBER:
        raise ConfigError(f"setting {name}: {value} is too large (at most {MAX_SETTING_NUMBER:_})")
    elif name.endswith("_share") and value > 1:
        raise ConfigError(f"setting {name}: {value} is not a share between 0 and 1 (e.g. 0.80 for 80 %)")
    elif name == "recordings.retention_days" and not 1 <= value <= MAX_RETENTION_DAYS:
        raise ConfigError(f"setting {name}: {value} is not 1 to {MAX_RETENTION_DAYS} days")
    elif name == "speech.vad_aggressiveness" and value not in (0, 1, 2, 3):
        raise ConfigError(f"setting {name}: {value} is not 0, 1, 2 or 3")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_log_level(level: str) -> None:
    if level.strip().upper() not in LOG_LEVELS:
        raise ConfigError(f"setting log_level: {level!r} is not one of {', '.join(LOG_LEVELS)}")


def _cast(section: str, key: str, raw: Any, typ: Any) -> Any:
    name = f"{section}.{key}" if section else key
    try:
        if typ is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on", "sim"}:
                return True
            if text in {"0", "false", "no", "off", "nao", "não"}:
                return False
            raise ValueError
        if typ is int:
            if isinstance(raw, bool):
                raise ValueError
            return _check_number(name, int(str(raw).strip()))
        if typ is float:
            if isinstance(raw, bool):
                raise ValueError
            number = float(str(raw).strip())
            if not math.isfinite(number):  # nan, inf, 1e400: no wait, rate or share means that
                raise ValueError
            return _check_number(name, number)
        if typ == list[str]:
            if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
                return [str(x) for x in raw]
            if not isinstance(raw, str):  # `allow = 5` in the TOML: not a list someone meant
                raise ValueError
            return [x.strip() for x in raw.split(",") if x.strip()]
        if typ is str:
            if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
                raise ValueError
            return str(raw)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(typ, "text")
        if typ == list[str]:
            kind = 'a list of text (["a", "b"], or "a,b" in a variable)'

        raise ConfigError(f"setting {name}: {raw!r} is not {kind}") from None
    raise ConfigError(f"setting {name}: unsupported type")  # pragma: no cover


def _fields(cls: type) -> dict[str, Any]:
    """The settable fields of a settings dataclass (name -> type); bookkeeping fields are left out."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _apply(
    obj: Any, section: str, values: Mapping[str, Any], source: str, sources: dict[str, str] | None = None
) -> None:
    hints = _fields(type(obj))
    for key, raw in values.items():
        if key not in hints:
            where = f"[{section}] " if section else ""
            raise ConfigError(f"{source}: unknown setting {where}{key}")
        typ = hints[key]
        if dataclasses.is_dataclass(typ):
            if not isinstance(raw, dict):
                raise ConfigError(f"{source}: [{key}] must be a table")
            _apply(getattr(obj, key), key, raw, source, sources)
            continue
        if (section, key) in SECRET_KEYS and source != "environment":
            raise ConfigError(
                f"{source}: {section}.{key} is a secret; put it in /etc/ivr/credentials/IVR_{section.upper()}_"
                f"{key.upper()} (a systemd credential, docs/INSTALL.md section 3) or in the environment instead"
            )
        setattr(obj, key, _cast(section, key, raw, typ))
        if sources is not None:
            sources[f"{section}.{key}" if section else key] = "environment" if source == "environment" else "file"


NON_SETTING_VARIABLES: dict[str, str] = {
    "IVR_CONFIG": "the settings file (same as ivr --config)",
    "IVR_SANDBOX_DIR": "scripts/asterisk-sandbox: root directory of the development Asterisk",
    "IVR_SANDBOX_MIRROR": "scripts/asterisk-sandbox: Debian mirror for debootstrap",
    "IVR_SANDBOX_BOOT_TIMEOUT": "scripts/asterisk-sandbox: seconds to wait for Asterisk to boot",
    "IVR_AGI_HOST": "scripts/asterisk-sandbox: FastAGI host written into the sandbox's dialplan globals",
    "IVR_AGI_PORT": "scripts/asterisk-sandbox: FastAGI port written into the sandbox's dialplan globals",
}
"""``IVR_*`` environment variables the project itself uses that are not settings: accepted, never parsed
as one. Any other ``IVR_*`` variable must name a setting (a typo is an error, not silently ignored)."""


def setting_keys() -> list[str]:
    """Every setting as ``section.key`` (``data_dir`` for top-level ones), in declaration order."""
    keys: list[str] = []
    for name, typ in _fields(Settings).items():
        if dataclasses.is_dataclass(typ):
            keys.extend(f"{name}.{key}" for key in _fields(typ))  # type: ignore[arg-type]
        else:
            keys.append(name)
    return keys


def env_name(key: str) -> str:
    """``ami.port`` -> ``IVR_AMI_PORT``."""
    return "IVR_" + key.replace(".", "_").upper()


def _env_key(var: str) -> str | None:
    """The setting an ``IVR_*`` variable names (``IVR_AMI_PORT`` -> ``ami.port``), or None."""
    return {env_name(key): key for key in setting_keys()}.get(var)


def _unknown_variable(var: str) -> ConfigError:
    known = [env_name(key) for key in setting_keys()] + list(NON_SETTING_VARIABLES)
    close = difflib.get_close_matches(var, known, n=1, cutoff=0.6)
    if close:
        return ConfigError(f"{var}: unknown; did you mean {close[0]}?")
    return ConfigError(f"{var}: unknown; no setting has that name (see `ivr config show`), unset it")


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from defaults, the TOML file and the environment.

    Raises ConfigError naming the key: an unknown key in the file, a bad value, a secret in the file, or an
    ``IVR_*`` variable that is neither a setting nor in ``NON_SETTING_VARIABLES`` (with the nearest name).
    ``settings.sources`` records ``file`` or ``environment`` for every key not left at its default.
    """
    env = os.environ if env is None else env
    data_dir, rule = _default_data_dir(env)
    settings = Settings(data_dir=str(data_dir))
    settings.data_dir_rule = rule
    path = path or env.get("IVR_CONFIG") or None
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"config file {p} not found; pass --config or set IVR_CONFIG to an existing file"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p}: {exc}") from None
        except IsADirectoryError:
            raise ConfigError(
                f"config file {p} is a directory; pass --config or set IVR_CONFIG to a TOML file"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"config file {p} is not UTF-8 text (UTF-16 or binary?); save it as UTF-8 TOML "
                "(`ivr config sample ivr.toml.example` shows one)"
            ) from None
        except OSError as exc:
            raise ConfigError(f"config file {p}: {exc.strerror or exc}") from None
        _apply(settings, "", data, str(p), settings.sources)
        settings.config_file = str(p)

    for var in sorted(env):
        if not var.startswith("IVR_") or var in NON_SETTING_VARIABLES:
            continue
        key = _env_key(var)
        if key is None:
            raise _unknown_variable(var)
        section, _, name = key.rpartition(".")
        target = getattr(settings, section) if section else settings
        _apply(target, section, {name: env[var]}, "environment", settings.sources)
    _apply_credentials(settings, env)
    _check_database_url(settings.database.url)
    _check_log_level(settings.log_level)
    _ = settings.recordings.extension  # ConfigError for a format MixMonitor is not given (wav, wav49, opus)
    return settings


SUPPORTED_DATABASES = ("sqlite", "postgresql")


def unparsed_url_shown(url: str) -> str:
    """A URL that does not parse, fit for an error line: everything from the first ``:`` to the last ``@``
    (where a password would be, however mistyped) becomes ``***``."""
    return re.sub(r":.*@", ":***@", url, flags=re.DOTALL)


def _check_database_url(url: str) -> None:
    """Refuse a ``database.url`` that would silently use the wrong database: unparsable, a backend this
    product does not support, or a SQLite database that is not one fixed file (``sqlite://`` and
    ``:memory:`` are a private empty database per command; a relative path is a new database in every folder
    a command runs from). Raises ConfigError naming the setting."""
    if not url:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number, a broken IPv6 address
        raise ConfigError(f"setting database.url: {unparsed_url_shown(url)!r} is not a SQLAlchemy URL") from None
    backend = parsed.get_backend_name()
    shown = parsed.render_as_string(hide_password=True)
    if backend not in SUPPORTED_DATABASES:
        raise ConfigError(
            f"setting database.url: {backend} ({shown}) is not supported; use postgresql://USER@HOST/DATABASE "
            "or sqlite:////ABSOLUTE/PATH/ivr.db"
        )
    if backend == "sqlite":
        name = parsed.database or ""
        if not name or name == ":memory:" or "mode=memory" in name:
            raise ConfigError(
                f"setting database.url: {shown} names no file, so every command would get its own empty "
                "database; use sqlite:////var/lib/ivr/ivr.db (four slashes: an absolute path)"
            )
        if not name.startswith("file:") and not Path(name).is_absolute():
            raise ConfigError(
                f"setting database.url: {shown} is relative to the current folder, so each folder would get "
                f"its own database; use an absolute path: sqlite:///{Path(name).absolute()}"
            )


CREDENTIAL_KEYS = (*sorted(f"{section}.{key}" for section, key in SECRET_KEYS), "database.url")
"""Settings also read from systemd credentials (``LoadCredential=IVR_AMI_SECRET:/etc/ivr/credentials/...``):
the file ``$CREDENTIALS_DIRECTORY/<variable name>``, when the variable itself is not set (systemd.exec(5))."""


def _apply_credentials(settings: Settings, env: Mapping[str, str]) -> None:
    directory = env.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        return
    for key in CREDENTIAL_KEYS:
        path = Path(directory) / env_name(key)
        if env_name(key) in env or not path.is_file():
            continue
        section, _, name = key.partition(".")
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"credential {path}: {exc.strerror}") from None
        _apply(getattr(settings, section), section, {name: value}, "environment")
        settings.sources[key] = "credential"
