"""Brazilian calling rules as pure functions: calling windows, holidays, per-person caps, retries, priority.

Nothing here reads a clock or a database: the instant and the attempt history are passed in, so every
rule is testable with literal times. Defaults follow the rules table of docs/ARCHITECTURE.md; each is a setting.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from ivr.br.ddd import NORONHA_ZONE, capital_city, state_zones
from ivr.br.uf import UFS
from ivr.br.phone import parse_phone
from ivr import vocabulary
from ivr.campaign.calendar import Calendar, capitals, city_key, load_calendar
from ivr.campaign.stages import Stage, stages_from_dict
from ivr.dialog.offers import OffersPolicy, offers_from_dict
from ivr.errors import ConfigError, InputError
from ivr.payment.instructions import PaymentPolicy, payment_from_dict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NEXT_OPEN_HORIZON_DAYS = 400
"""How far ahead next_open searches; beyond that a profile is treated as never open."""


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    windows: Mapping[int, tuple[time, time]]
    """Weekday (0 = Monday) → [start, end) local time; a weekday absent here is closed."""

    def describe_day(self, weekday: int) -> str:
        span = self.windows.get(weekday)
        if span is None:
            return f"{_DAY_NAMES[weekday]} closed"
        return f"{_DAY_NAMES[weekday][:3]} {span[0]:%H:%M}-{span[1]:%H:%M}"


def _parse_hhmm(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a HH:MM time") from None


def parse_profiles(text: str, source: str = "profiles.toml") -> dict[str, Profile]:
    """Profiles from TOML text (see ``profiles.toml``); ``ConfigError`` naming the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    profiles: dict[str, Profile] = {}
    for name, table in data.items():
        where = f"{source} [{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(table) - {"description", "windows"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        windows: dict[int, tuple[time, time]] = {}
        for i, window in enumerate(table.get("windows", [])):
            w_where = f"{where} windows[{i}]"
            if not isinstance(window, dict) or set(window) != {"days", "start", "end"}:
                raise ConfigError(f"{w_where}: needs exactly the keys days, start, end")
            start = _parse_hhmm(window["start"], f"{w_where}.start")
            end = _parse_hhmm(window["end"], f"{w_where}.end")
            if end <= start:
                raise ConfigError(f"{w_where}: end {end:%H:%M} is not after start {start:%H:%M}")
            for day in window["days"]:
                if day not in WEEKDAYS:
                    raise ConfigError(f"{w_where}.days: {day!r} is not one of {', '.join(WEEKDAYS)}")
                if WEEKDAYS.index(day) in windows:
                    raise ConfigError(f"{w_where}.days: {day!r} already has a window")
                windows[WEEKDAYS.index(day)] = (start, end)
        profiles[name] = Profile(name, str(table.get("description", "")), windows)
    if "default" not in profiles:
        raise ConfigError(f"{source}: a [default] profile is required")
    return profiles


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, Profile]:
    """The packaged profiles (``ivr/campaign/profiles.toml``)."""
    text = resources.files("ivr.campaign").joinpath("profiles.toml").read_text(encoding="utf-8")
    return parse_profiles(text)


def select_profile(
    profile: str | None,
    state: str | None,
    profiles: Mapping[str, Profile] | None = None,
    phone_state: str | None = None,
) -> Profile:
    """An explicit profile wins; else the address state's profile (or ``default``) intersected with that of
    the phone's state (``phone_state``, from the DDD) when it differs: the person may be at either place, so
    both places' laws hold (SP Lei 15.426/2014 and the RJ hours). No address: ``default``, because the DDD's
    state alone never widens the window (widening needs evidence of the address).
    """
    profiles = load_profiles() if profiles is None else profiles
    if profile is not None:
        if profile not in profiles:
            raise ConfigError(f"unknown calling profile {profile!r} (known: {', '.join(sorted(profiles))})")
        return profiles[profile]
    if state is None:
        return profiles["default"]
    home = profiles.get(state, profiles["default"])
    if phone_state is None or phone_state == state:
        return home
    return intersect_profiles(home, profiles.get(phone_state, profiles["default"]))


def intersect_profiles(a: Profile, b: Profile) -> Profile:
    """The hours both profiles allow: per weekday the later start and the earlier end; a day closed in
    either is closed. Named ``A+B`` (e.g. ``SP+RJ``); a profile with itself is itself."""
    if a == b:
        return a
    windows: dict[int, tuple[time, time]] = {}
    for day in range(7):
        if day in a.windows and day in b.windows:
            start, end = max(a.windows[day][0], b.windows[day][0]), min(a.windows[day][1], b.windows[day][1])
            if start < end:
                windows[day] = (start, end)
    return Profile(f"{a.name}+{b.name}", f"both {a.name} and {b.name}", windows)


# --------------------------------------------------------------------------- holidays


def _check_state(state: str) -> str:
    if state not in UFS:
        raise InputError(f"unknown state {state!r}: use a two-letter UF such as SP, RJ, MG")
    return state


@lru_cache(maxsize=256)
def holiday_calendar(state: str | None, year: int) -> Mapping[date, str]:
    """National holidays plus ``state``'s (a UF, or None for national only) for one year: date → name."""
    cal = holidays_lib.country_holidays("BR", subdiv=state, years=year)
    return dict(cal.items())


def holiday_name(day: date, states: Iterable[str]) -> str | None:
    """The holiday's name if ``day`` is national or a holiday in any of ``states``; else None."""
    for state in (None, *states):
        name = holiday_calendar(state, day.year).get(day)
        if name is not None:
            return name
    return None


def is_business_day(day: date, states: Iterable[str]) -> bool:
    return day.weekday() < 5 and holiday_name(day, states) is None


# --------------------------------------------------------------------------- calling window


@dataclass(frozen=True)
class WindowDecision:
    callable: bool
    timezone: str
    """IANA zone of the number; for a split DDD (97) the zones joined by ``,``."""
    local_time: datetime
    """``at`` in the (first) local zone."""
    reason: str
    """``code: explanation``; codes: within_window, outside_hours, closed_day, holiday, no_window."""
    next_open: datetime | None
    """Earliest instant ≥ ``at`` when calling is allowed, in the local zone; None if none within the horizon."""

    def to_json(self) -> dict[str, Any]:
        """The contract outside checks use; key names are fixed."""
        return {
            "callable": self.callable,
            "timezone": self.timezone,
            "local_time": self.local_time.isoformat(),
            "reason": self.reason,
            "next_open": self.next_open.isoformat() if self.next_open is not None else None,
        }


@dataclass(frozen=True)
class Target:
    """Where and under which rules a number is called: its zones, the holiday states and the profile."""

    zones: tuple[str, ...]
    """The number's zone(s) first, then the address state's where its clock differs: all must be in the window."""
    states: tuple[str, ...]
    profile: Profile
    places: tuple[tuple[str, str | None], ...] = ()
    """(UF, city_key or None) for local holidays: the address (with its city) and the DDD's state."""
    calendar: Calendar = Calendar()
    """Local holidays: the capitals' municipal ones plus the campaign's calendar file."""

    @property
    def timezone(self) -> str:
        return ",".join(self.zones)


_CLOCK_PROBES = (datetime(2026, 1, 15, 12), datetime(2026, 7, 15, 12))


@lru_cache(maxsize=None)
def _same_clock(a: str, b: str) -> bool:
    """Two IANA zones that show the same local time today (Brazil has had no daylight saving since 2019)."""
    return all(
        p.replace(tzinfo=ZoneInfo(a)).utcoffset() == p.replace(tzinfo=ZoneInfo(b)).utcoffset() for p in _CLOCK_PROBES
    )


def resolve_target(
    phone_e164: str,
    profile: str | None = None,
    state: str | None = None,
    noronha: bool = False,
    city: str | None = None,
    calendar: Calendar | None = None,
) -> Target:
    """Where the person may be when ``phone_e164`` rings, and the rules of every such place.

    The person may be at the address or where the number's DDD is (an SP mobile for a debtor living in Acre),
    so the stricter of the two holds (DESIGN.md rules table): the window must be open in the DDD's zone(s) and
    in the address state's zone (Lei 12.876/2013; Noronha when the address says so), national and both
    states' holidays apply, plus the municipal holidays (shipped for the capitals) of the address city and of
    the capital inside the number's DDD, and the campaign ``calendar``; the profile is the intersection of both states' (see ``select_profile``).
    ``InputError`` for an unknown UF or Noronha with a DDD other than 81.
    """
    phone = parse_phone(phone_e164)
    if state is not None:
        state = _check_state(state.upper())
    if noronha:
        if phone.ddd != 81:
            raise InputError(f"Fernando de Noronha numbers have DDD 81, not {phone.ddd}")
        zones: tuple[str, ...] = (NORONHA_ZONE,)
    else:
        zones = phone.timezones
    town = city_key(city)
    if state is not None and not noronha:
        for zone in state_zones(state, town):
            if not any(_same_clock(zone, z) for z in zones):
                zones += (zone,)
    states = tuple(dict.fromkeys(s for s in (phone.state, state) if s is not None))
    # The number's side: its state, and its DDD's capital city (a DDD 11 number may be in São Paulo on 25/01).
    places: list[tuple[str, str | None]] = [(phone.state, city_key(capital_city(phone.ddd)))]
    if state is not None:
        places.insert(0, (state, town))
    local = capitals() if calendar is None else capitals() + calendar
    return Target(zones, states, select_profile(profile, state, phone_state=phone.state), tuple(places), local)


def _zone_verdict(moment: datetime, zone: str, target: Target) -> tuple[str, str] | None:
    """None when ``moment`` is inside the window in ``zone``; else (code, explanation)."""
    local = moment.astimezone(ZoneInfo(zone))
    day = local.date()
    where = "local" if len(target.zones) == 1 else zone
    name = holiday_name(day, target.states) or target.calendar.holiday(day, target.places)
    if name is not None:
        return "holiday", f"{day.isoformat()} is a holiday ({name})"
    span = target.profile.windows.get(day.weekday())
    if span is None:
        return "closed_day", f"{_DAY_NAMES[day.weekday()]} is closed under profile {target.profile.name}"
    start, end = span
    now = local.time().replace(tzinfo=None)
    if now < start:
        return "outside_hours", f"{now:%H:%M} {where} is before {start:%H:%M}"
    if now >= end:
        # The window is [start, end): a call may not start at the closing minute itself.
        relation = "is at the close," if now == end else "is after"
        return "outside_hours", f"{now:%H:%M} {where} {relation} {end:%H:%M}"
    return None


def _blocked(moment: datetime, target: Target) -> tuple[str, str] | None:
    for zone in target.zones:
        verdict = _zone_verdict(moment, zone, target)
        if verdict is not None:
            return verdict
    return None


def next_open(at: datetime, target: Target, horizon_days: int = NEXT_OPEN_HORIZON_DAYS) -> datetime | None:
    """Earliest instant ≥ ``at`` inside the window in every zone of ``target``.

    The open set is an intersection of per-zone unions of [start, end) intervals, so its earliest point
    after ``at`` is ``at`` itself or some zone's window start: try those in time order.
    """
    if _blocked(at, target) is None:
        return at
    first_day = min(at.astimezone(ZoneInfo(z)).date() for z in target.zones)
    candidates: list[datetime] = []
    for zone in target.zones:
        tz = ZoneInfo(zone)
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            span = target.profile.windows.get(day.weekday())
            if span is not None:
                start = datetime.combine(day, span[0], tzinfo=tz)
                if start > at:
                    candidates.append(start)
    for candidate in sorted(candidates):
        if _blocked(candidate, target) is None:
            return candidate
    return None


def next_open_local(target: Target, zone: str | None = None) -> Callable[[datetime], datetime | None]:
    """``next_open`` in the debtor's local wall time, as the dialog offers callbacks: a naive local datetime in,
    the first allowed naive local datetime out (None when nothing opens within the horizon)."""
    tz = ZoneInfo(zone or target.zones[0])

    def allowed(local: datetime) -> datetime | None:
        found = next_open(local.replace(tzinfo=tz), target)
        return found.astimezone(tz).replace(tzinfo=None) if found is not None else None

    return allowed


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("instants passed to the rules must be timezone-aware")


def window_at(at: datetime, target: Target) -> WindowDecision:
    """The window decision for a resolved target (see ``check``)."""
    _require_aware(at)
    tz = ZoneInfo(target.zones[0])
    local = at.astimezone(tz)
    blocked = _blocked(at, target)
    opens = next_open(at, target)
    if blocked is None:
        start, end = target.profile.windows[local.weekday()]
        reason = (
            f"within_window: {local:%H:%M} local is within {start:%H:%M}-{end:%H:%M} (profile {target.profile.name})"
        )
        if len(target.zones) > 1:
            reason += f"; inside the window in {' and '.join(target.zones)}"
        return WindowDecision(True, target.timezone, local, reason, local)
    code, why = blocked
    if opens is None:
        code, why = "no_window", f"{why}; profile {target.profile.name} never opens in {NEXT_OPEN_HORIZON_DAYS} days"
    return WindowDecision(False, target.timezone, local, f"{code}: {why}", opens.astimezone(tz) if opens else None)


def check(
    phone_e164: str,
    at: datetime,
    profile: str | None = None,
    state: str | None = None,
    noronha: bool = False,
    city: str | None = None,
    calendar: Calendar | None = None,
) -> WindowDecision:
    """May ``phone_e164`` be called at ``at`` (aware)? Zones, profile and holidays of the number and the address.

    ``state`` is the debtor's address UF and ``city`` its municipality: its zone must be inside the window too,
    its holidays (state and municipal) apply, and its profile is intersected with the DDD state's.
    ``noronha`` (DDD 81 only) says the address is on Fernando de Noronha (UTC-2). ``calendar``: the campaign's
    own holidays (``ivr.campaign.calendar.load_calendar``). See ``resolve_target``.
    """
    return window_at(at, resolve_target(phone_e164, profile, state, noronha, city, calendar))


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RetryRule:
    delay: timedelta
    """Wait after an attempt with this cause before dialling the same number again."""
    max_attempts: int
    """Attempts with this cause on one number (in the history given) after which the number is dropped."""


RETRY_CAUSES = ("busy", "no_answer", "failed", "voicemail", "hung_up", "not_available", "no_response")


@dataclass(frozen=True)
class RetryPolicy:
    """Per-cause retry settings; a number's next attempt waits the delay of its last attempt's cause."""

    busy: RetryRule = RetryRule(timedelta(minutes=15), 3)
    no_answer: RetryRule = RetryRule(timedelta(hours=2), 4)
    failed: RetryRule = RetryRule(timedelta(minutes=30), 3)
    """Congestion and other network failures (not invalid numbers, which are never redialled)."""
    voicemail: RetryRule = RetryRule(timedelta(hours=4), 3)
    hung_up: RetryRule = RetryRule(timedelta(days=1), 2)
    not_available: RetryRule = RetryRule(timedelta(hours=3), 3)
    """A third party said the debtor is out: the number is right, the moment was not."""
    no_response: RetryRule = RetryRule(timedelta(hours=2), 3)
    """Answered, but nobody spoke."""

    def rule(self, cause: str) -> RetryRule | None:
        return getattr(self, cause) if cause in RETRY_CAUSES else None


@dataclass(frozen=True)
class Policy:
    """A campaign's calling policy; defaults from the rules table of docs/ARCHITECTURE.md."""

    profile: str | None = None
    """Calling-window profile for every debtor; None picks it per debtor from the address state."""
    calendar: str | None = None
    """Path of the campaign's own holiday file (CSV ``date;uf;city;name``, see ivr.campaign.calendar)."""
    max_attempts_per_day: int = 2
    """Per person per local day, across all their numbers."""
    max_attempts_per_week: int = 6
    """Per person in any 7 consecutive local days (today and the 6 before)."""
    stop_after_right_party: bool = True
    """No more calls on a local day once the right person was reached that day."""
    promise_grace_business_days: int = 1
    """Business days after a promised date for the payment to clear (a Saturday boleto clears on Monday): calls
    resume the day after; a promise still unpaid then is broken (``ivr.db.payments``)."""
    already_paid_pause_business_days: int = 2
    callback_overrides_daily_limits: bool = True
    """A callback at the time the debtor asked is not blocked by the daily cap or the right-party stop."""
    priority_half_life_days: float = 30.0
    """Days overdue after which a real of debt weighs half as much in the priority score."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # What the dialog does on the call (read by the call service):
    verification: str | None = None
    """Identity check after "sim, sou eu": None, "birth_year" or "cpf3" (first three CPF digits)."""
    promise_window_days: int = 10
    """Latest promise date the bot accepts, in days from the call."""
    max_installments: int = 3
    """Installments the bot may offer; 1 offers none (a human handles other conditions)."""
    allow_transfer: bool = True
    listen_timeout_s: float = 6.0
    """Seconds of silence before the bot reprompts."""
    creditor_cnpj: str = ""
    """The creditor's CNPJ (14 digits), said in its groups when the debtor asks (CDC art. 42-A)."""
    official_channels: str = ""
    """Where the debtor can check the call is real, in words (said when they ask whether it is a scam)."""
    flow: str = "default"
    """The call flow (``ivr/flows/<name>.toml``): e.g. ``reminder`` before the due date, ``early``, ``late``."""
    # What the bot may offer and how the debtor pays (issue 11):
    offers: OffersPolicy = field(default_factory=OffersPolicy)
    """Lump-sum discount, installments (minimum, down payment, discount), partial payments."""
    payment: PaymentPolicy = field(default_factory=PaymentPolicy)
    """Payment methods (pix, boleto, link) and where to send them (sms, whatsapp, email)."""
    stages: tuple[Stage, ...] = ()
    """Days relative to the due date → flow; empty: every debtor gets the default flow."""

    def local_calendar(self) -> Calendar | None:
        """The campaign's calendar file, parsed (cached until the file changes); None without one."""
        return None if self.calendar is None else load_calendar(self.calendar)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "campaign policy") -> Policy:
        """Build from campaign policy JSON; unknown keys and wrong types raise ``ConfigError`` naming the key.

        Retry rules are written ``{"retry": {"busy": {"delay_minutes": 15, "max_attempts": 3}}}``.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: must be an object")
        kwargs: dict[str, Any] = {}
        errors: list[str] = []
        fields = {f.name: f for f in dataclasses.fields(cls)}

        def one_key(key: str, value: Any) -> None:
            where = f"{source}: {key}"
            if key not in fields:
                raise ConfigError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(fields))})")
            if key == "retry":
                kwargs[key] = _retry_from_dict(value, f"{source}: retry")
            elif key == "profile":
                if value is not None and not isinstance(value, str):
                    raise ConfigError(f"{where} must be a profile name or null")
                if value is not None:
                    select_profile(value, None)
                kwargs[key] = value
            elif key == "calendar":
                if value is not None and not isinstance(value, str):
                    raise ConfigError(f"{where} must be the path of a CSV file (date;uf;city;name) or null")
                if value is not None:
                    load_calendar(value)  # a missing or malformed file is refused when the campaign is created
                kwargs[key] = value
            elif key == "verification":
                if value not in (None, "birth_year", "cpf3"):
                    raise ConfigError(f'{where} must be null, "birth_year" or "cpf3", not {value!r}')
                kwargs[key] = value
            elif key == "listen_timeout_s":
                if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 30:
                    raise ConfigError(f"{where} must be a number of seconds between 1 and 30, not {value!r}")
                kwargs[key] = float(value)
            elif key == "creditor_cnpj":
                digits = "".join(ch for ch in str(value) if ch.isdigit()) if isinstance(value, str) else ""
                if len(digits) != 14:
                    raise ConfigError(
                        f'{where} must be a CNPJ with 14 digits, like "12.345.678/0001-90", not {value!r}'
                    )
                kwargs[key] = digits
            elif key == "flow":
                from ivr.flows import load_flow

                if not isinstance(value, str) or not value.strip():
                    raise ConfigError(f"{where} must be a flow name (default, reminder, early, late) or a .toml file")
                try:
                    load_flow(value.strip())
                except InputError as exc:
                    raise ConfigError(f"{where}: {exc}") from None
                kwargs[key] = value.strip()
            elif key == "official_channels":
                if not isinstance(value, str) or not value.strip():
                    raise ConfigError(f"{where} must be a non-empty text, not {value!r}")
                kwargs[key] = value.strip()
            elif key in ("stop_after_right_party", "callback_overrides_daily_limits", "allow_transfer"):
                if not isinstance(value, bool):
                    raise ConfigError(f"{where} must be true or false, not {value!r}")
                kwargs[key] = value
            elif key == "priority_half_life_days":
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigError(f"{where} must be a positive number, not {value!r}")
                kwargs[key] = float(value)
            else:
                kwargs[key] = _non_negative_int(value, where)

        for key, value in data.items():
            if key in ("offers", "payment", "stages"):
                continue  # below, once the promise window and installments are known
            try:
                one_key(key, value)
            except ConfigError as exc:
                errors.append(str(exc))
        window = kwargs.get("promise_window_days", cls.promise_window_days)
        offers = offers_from_dict(data.get("offers", {}), source, errors, window, kwargs.get("max_installments"))
        kwargs["offers"] = offers
        kwargs["max_installments"] = offers.installments.max
        if "payment" in data:
            kwargs["payment"] = payment_from_dict(data["payment"], source, errors)
        if "stages" in data:
            kwargs["stages"] = stages_from_dict(data["stages"], source, errors)
            from ivr.flows import shipped_flows

            known = set(shipped_flows())
            for i, stage in enumerate(kwargs["stages"]):
                if stage.flow not in known:
                    errors.append(
                        f"{source}: stages[{i}].flow {stage.flow!r} is not a shipped flow "
                        f"(known: {', '.join(sorted(known))}; `ivr flow check` lists them)"
                    )
        if errors:
            # One line per problem, so an operator fixes them all in one go.
            raise ConfigError("\n".join(errors))
        return cls(**kwargs)


def _non_negative_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} must be a whole number ≥ 0, not {value!r}")
    return value


def _retry_from_dict(data: Any, source: str) -> RetryPolicy:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source} must be an object")
    defaults = RetryPolicy()
    rules: dict[str, RetryRule] = {}
    for cause, spec in data.items():
        if cause not in RETRY_CAUSES:
            raise ConfigError(f"{source}: unknown key {cause!r} (known: {', '.join(RETRY_CAUSES)})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{source}.{cause} must be an object")
        base = getattr(defaults, cause)
        delay, maximum = base.delay, base.max_attempts
        for key, value in spec.items():
            if key == "delay_minutes":
                delay = timedelta(minutes=_non_negative_int(value, f"{source}.{cause}.{key}"))
            elif key == "max_attempts":
                maximum = _non_negative_int(value, f"{source}.{cause}.{key}")
            else:
                raise ConfigError(f"{source}.{cause}: unknown key {key!r} (known: delay_minutes, max_attempts)")
        rules[cause] = RetryRule(delay, maximum)
    return RetryPolicy(**rules)


# --------------------------------------------------------------------------- eligibility

RIGHT_PARTY_OUTCOMES = frozenset(str(o) for o in vocabulary.RIGHT_PARTY_OUTCOMES)
"""Outcomes only the debtor, having confirmed identity, can produce."""


@dataclass(frozen=True)
class Attempt:
    """One prior attempt, as plain data from the ledger."""

    number: str
    """E.164."""
    at: datetime
    """When it was dialled (aware)."""
    outcome: str
    invalid: bool = False
    """The network said the number does not exist (e.g. Q.850 cause 1 or 28): never dial it again."""
    right_party: bool = False
    """Identity was confirmed even if the outcome does not say so (e.g. ``hung_up`` after confirming)."""
    promised_date: date | None = None
    """For ``promise_to_pay``."""
    callback_at: datetime | None = None
    """For ``callback_scheduled``: the moment the debtor asked to be called."""
    callback_number: str | None = None
    """For ``callback_scheduled``: the number the callback was agreed on (E.164); None: the attempt's number."""
    promise_kept: bool = False
    """For ``promise_to_pay``: a payment matched it (the pause ends; the balance, if any, is still owed)."""
    other_creditor: bool = False
    """Dialled for another creditor's campaign: it counts toward the person's caps and the day's contact, but
    its "já paguei" pause and its promise are about that creditor's debt, not this campaign's."""

    @property
    def reached_right_party(self) -> bool:
        return self.right_party or self.outcome in RIGHT_PARTY_OUTCOMES


@dataclass(frozen=True)
class Debtor:
    """What the rules need to know about one person."""

    id: str
    numbers: tuple[str, ...]
    """E.164, in the operator's order of preference (ties in rotation follow it)."""
    amount: float = 0.0
    """Overdue amount, reais."""
    days_overdue: int = 0
    state: str | None = None
    """Address UF: its holidays and profile."""
    city: str | None = None
    """Address municipality: its municipal holidays."""
    noronha: bool = False
    do_not_call: bool = False
    """On the project's do-not-call list (any campaign): never called."""
    invalid_numbers: frozenset[str] = frozenset()
    """Numbers already marked invalid in the database."""
    holds: tuple[str, ...] = ()
    """Open reviews that hold every call for this creditor (``review 17 open: already_paid since …``)."""
    settled: str | None = None
    """Why nothing is owed any more in this campaign (e.g. ``paid in full on 2026-12-01``): never called."""


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str
    """``code: explanation``."""
    number: str | None = None
    """The number to dial now (rotation: least recently tried first)."""
    next_try: datetime | None = None
    """When not eligible: the earliest instant worth checking again; None means never."""
    callback: bool = False
    """This call honours a callback the debtor asked for."""


def priority_score(amount: float, days_overdue: int, policy: Policy = Policy()) -> float:
    """``amount × 0.5 ** (days_overdue / half_life)``.

    The chance that a reminder cures a debt falls as the debt ages, so a real owed early in the
    delinquency is worth more than a real owed late: with a 30-day half-life, R$ 1,000 at 30 days
    scores like R$ 500 due today. Not-yet-due debts (negative days) score as due today.
    """
    return max(amount, 0.0) * math.pow(0.5, max(days_overdue, 0) / policy.priority_half_life_days)


def prioritize(debtors: Iterable[Debtor], policy: Policy = Policy(), callbacks: Iterable[str] = ()) -> list[Debtor]:
    """Debtors in calling order: due callbacks first, then by score, highest first; ties by id."""
    due = set(callbacks)
    return sorted(debtors, key=lambda d: (d.id not in due, -priority_score(d.amount, d.days_overdue, policy), d.id))


def _home_zone(debtor: Debtor) -> ZoneInfo:
    """The zone whose local days count the person's daily caps: that of their first number."""
    if debtor.noronha:
        return ZoneInfo(NORONHA_ZONE)
    if debtor.numbers:
        return ZoneInfo(parse_phone(debtor.numbers[0]).timezones[0])
    return ZoneInfo("America/Sao_Paulo")


def _start_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _pending_callback(history: Sequence[Attempt]) -> Attempt | None:
    """The latest callback request, unless an attempt was already made at or after the time asked."""
    # Asked for by the debtor (callback_scheduled), or owed after a transfer no agent answered.
    requests = [a for a in history if a.callback_at is not None]
    if not requests:
        return None
    latest = max(requests, key=lambda a: a.at)
    assert latest.callback_at is not None
    if any(a.at >= latest.callback_at for a in history):
        return None
    return latest


UNCOUNTED_OUTCOMES = frozenset({"failed"})
"""Outcomes that count toward no daily or weekly cap."""


def promise_deadline(promised: date, grace_business_days: int, states: Iterable[str] = ()) -> date:
    """The last day a payment for ``promised`` may still show: ``grace_business_days`` business days after
    it (national and ``states`` holidays skipped). A Saturday promise with 1 day of grace: the Monday."""
    day, counted = promised, 0
    while counted < grace_business_days:
        day += timedelta(days=1)
        counted += is_business_day(day, states)
    return day


def _person_block(
    debtor: Debtor, history: Sequence[Attempt], at: datetime, policy: Policy, callback_due: bool
) -> tuple[str, datetime | None] | None:
    """Person-level rules: None when they allow a call; else (reason, not-before instant or None = never)."""
    tz = _home_zone(debtor)
    today = at.astimezone(tz).date()
    states = () if debtor.state is None else (_check_state(debtor.state.upper()),)
    if debtor.numbers:
        states = tuple(dict.fromkeys((parse_phone(debtor.numbers[0]).state, *states)))

    own = [a for a in history if not a.other_creditor]
    paid = [a for a in own if a.outcome == "already_paid"]
    if paid:
        claim_day = max(paid, key=lambda a: a.at).at.astimezone(tz).date()
        day, counted = claim_day, 0
        while counted < policy.already_paid_pause_business_days:
            day += timedelta(days=1)
            counted += is_business_day(day, states)
        resume = day + timedelta(days=1)
        if today < resume:
            return (
                f"already_paid_pause: said already paid on {claim_day.isoformat()}; "
                f"paused {policy.already_paid_pause_business_days} business days until {resume.isoformat()}",
                _start_of_day(resume, tz),
            )

    promises = [a for a in own if a.outcome == "promise_to_pay" and a.promised_date is not None]
    if promises:
        latest = max(promises, key=lambda a: a.at)
        assert latest.promised_date is not None
        resume = promise_deadline(latest.promised_date, policy.promise_grace_business_days, states) + timedelta(days=1)
        if today < resume and not latest.promise_kept:
            return (
                f"promise_pause: promised to pay on {latest.promised_date.isoformat()}; "
                f"{policy.promise_grace_business_days} business day(s) for it to clear; "
                f"no calls before {resume.isoformat()}",
                _start_of_day(resume, tz),
            )

    tomorrow = _start_of_day(today + timedelta(days=1), tz)
    # A failed call (network failure, call service unreachable, media never connected) reached nobody: it
    # uses none of the person's attempts.
    capped = [a for a in history if a.outcome not in UNCOUNTED_OUTCOMES]
    todays = [a for a in capped if a.at.astimezone(tz).date() == today]
    exempt = callback_due and policy.callback_overrides_daily_limits
    if not exempt:
        if policy.stop_after_right_party and any(a.reached_right_party for a in todays):
            return "right_party_reached: the debtor was reached today; no more calls today", tomorrow
        if len(todays) >= policy.max_attempts_per_day:
            return (
                f"daily_cap: {len(todays)} of {policy.max_attempts_per_day} attempts today across all numbers",
                tomorrow,
            )

    week_start = today - timedelta(days=6)
    week = sorted(a.at.astimezone(tz).date() for a in capped if week_start <= a.at.astimezone(tz).date() <= today)
    if len(week) >= policy.max_attempts_per_week:
        # The cap frees up when enough of the oldest attempts leave the 7-day window.
        freed = week[len(week) - policy.max_attempts_per_week] + timedelta(days=7)
        return (
            f"weekly_cap: {len(week)} of {policy.max_attempts_per_week} attempts in the last 7 days",
            _start_of_day(freed, tz),
        )
    return None


def _number_block(
    number: str, history: Sequence[Attempt], at: datetime, policy: Policy
) -> tuple[str, datetime | None] | None:
    """Number-level rules (invalid, wrong party, retry delay and maximum by cause)."""
    mine = [a for a in history if a.number == number]
    if any(a.invalid for a in mine):
        return "invalid_number: the network reported this number as invalid", None
    if any(a.outcome == "wrong_party" for a in mine):
        return "wrong_party: this number belongs to someone else", None
    if not mine:
        return None
    last = max(mine, key=lambda a: a.at)
    rule = policy.retry.rule(last.outcome)
    if rule is None:
        return None
    count = sum(a.outcome == last.outcome for a in mine)
    if count >= rule.max_attempts:
        return f"retries_exhausted: {last.outcome} {count} of {rule.max_attempts}", None
    retry_at = last.at + rule.delay
    if at < retry_at:
        return f"retry_delay: last {last.outcome} at {last.at.isoformat()}, retry from {retry_at.isoformat()}", retry_at
    return None


def _target_for(debtor: Debtor, number: str, policy: Policy) -> Target:
    return resolve_target(
        number,
        policy.profile,
        debtor.state,
        debtor.noronha and number.startswith("+5581"),
        debtor.city,
        policy.local_calendar(),
    )


def _open_for(debtor: Debtor, policy: Policy, moment: datetime) -> datetime:
    """When the window of the debtor's first number opens at or after ``moment`` (``moment`` if unknown)."""
    if not debtor.numbers:
        return moment
    return next_open(moment, _target_for(debtor, debtor.numbers[0], policy)) or moment


def eligibility(debtor: Debtor, history: Sequence[Attempt], at: datetime, policy: Policy = Policy()) -> Eligibility:
    """May ``debtor`` be called at ``at``, and on which number? ``history``: their prior attempts, all numbers.

    Order: do-not-call, a pending callback, person pauses and caps, then per number the retry rules and
    the calling window; among callable numbers the least recently tried wins (never tried first).
    """
    _require_aware(at)
    if debtor.do_not_call:
        return Eligibility(False, "do_not_call: the person asked not to be called", next_try=None)
    if debtor.settled is not None:
        return Eligibility(False, f"settled: {debtor.settled}; never called again", next_try=None)
    if debtor.holds:
        return Eligibility(
            False, "review_open: " + "; ".join(debtor.holds) + " (resolve it with `ivr review resolve`)", next_try=None
        )

    callback = _pending_callback(history)
    callback_due = False
    callback_number: str | None = None
    if callback is not None:
        assert callback.callback_at is not None
        if at < callback.callback_at:
            # Asked for a time outside the window: call when the window next opens after it.
            return Eligibility(
                False,
                f"callback_pending: the debtor asked to be called at {callback.callback_at.isoformat()}",
                next_try=_open_for(debtor, policy, callback.callback_at),
            )
        callback_due = True
        callback_number = callback.callback_number or callback.number

    blocked = _person_block(debtor, history, at, policy, callback_due)
    if blocked is not None:
        resume = blocked[1]
        return Eligibility(False, blocked[0], next_try=None if resume is None else _open_for(debtor, policy, resume))

    candidates: list[tuple[datetime | None, str]] = []  # (last tried, number)
    reasons: list[str] = []
    next_tries: list[datetime] = []
    numbers = debtor.numbers
    if callback_number in numbers and callback_number not in debtor.invalid_numbers:
        numbers = (callback_number,)  # a callback is placed to the number it was agreed on
    for number in numbers:
        if number in debtor.invalid_numbers:
            reasons.append(f"{number[-4:]}: invalid_number")
            continue
        target = _target_for(debtor, number, policy)
        number_blocked = _number_block(number, history, at, policy)
        if number_blocked is not None:
            reasons.append(f"{number[-4:]}: {number_blocked[0]}")
            if number_blocked[1] is not None:
                opens = next_open(number_blocked[1], target)
                if opens is not None:
                    next_tries.append(opens)
            continue
        decision = window_at(at, target)
        if not decision.callable:
            reasons.append(f"{number[-4:]}: {decision.reason}")
            if decision.next_open is not None:
                next_tries.append(decision.next_open)
            continue
        tried = [a.at for a in history if a.number == number]
        candidates.append((max(tried) if tried else None, number))

    if candidates:
        # Never-tried numbers first, then the least recently tried; the sort is stable for ties.
        candidates.sort(key=lambda c: (c[0] is not None, c[0] or at))
        number = candidates[0][1]
        if callback_due and callback is not None and any(n == callback.number for _, n in candidates):
            number = callback.number  # the debtor asked to be called back on the number they were on
        code = "callback_due" if callback_due else "eligible"
        return Eligibility(True, f"{code}: dial ***{number[-4:]}", number=number, callback=callback_due)
    if not debtor.numbers:
        return Eligibility(False, "no_numbers: the debtor has no phone number", next_try=None)
    return Eligibility(False, "no_number_callable: " + "; ".join(reasons), next_try=min(next_tries, default=None))
