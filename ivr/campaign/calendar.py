"""Local holidays the ``holidays`` package lacks: the state capitals' municipal holidays (shipped data, each row
with its public source) and a campaign's own calendar file (CSV ``date;uf;city;name``).

SP Lei 15.426/2014 forbids collection calls on holidays, city holidays included (DESIGN.md rules table); the
``holidays`` package knows national and state holidays only. Easter comes from ``dateutil`` (a dependency of
``holidays``); the small CSV reading here is domain data, not a general parser.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from dateutil.easter import easter

from ivr.br.formats import parse_date
from ivr.errors import ConfigError, InputError

UFS = frozenset("AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split())
_RULE = re.compile(r"(?:(\d{2})-(\d{2})|easter([+-]\d{1,3}))")


def city_key(name: str | None) -> str | None:
    """Cities compared without case, accents, hyphens or repeated spaces: ``São  Luís`` = ``sao luis``."""
    if name is None or not name.strip():
        return None
    text = unicodedata.normalize("NFKD", name.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.split(r"[\s\-']+", text)).strip() or None


@dataclass(frozen=True)
class LocalHoliday:
    uf: str | None
    """Two-letter UF; None: every state (a campaign's own day off)."""
    city: str | None
    """``city_key`` of the municipality; None: the whole state."""
    name: str
    rule: str
    """``MM-DD`` every year, ``easter+N`` days from Easter Sunday, or an ISO date for one day only."""
    where: str = ""
    """For reasons shown to operators: ``São Paulo/SP``, ``SP``, or empty (everyone)."""

    def on(self, year: int) -> date | None:
        """The day this holiday falls on in ``year``, or None (a dated entry of another year)."""
        if len(self.rule) == 10:
            day = date.fromisoformat(self.rule)
            return day if day.year == year else None
        m = _RULE.fullmatch(self.rule)
        assert m is not None
        if m[3] is not None:
            return easter(year) + timedelta(days=int(m[3]))
        return date(year, int(m[1]), int(m[2]))

    def applies(self, uf: str, city: str | None) -> bool:
        return (self.uf is None or self.uf == uf) and (self.city is None or self.city == city)


@dataclass(frozen=True, eq=False)
class Calendar:
    """Local holidays; ``holiday(day, places)`` says whether ``day`` is one in any of the places.

    Compared and hashed by identity, with its days computed once per year: the window search asks it about
    hundreds of days per decision.
    """

    entries: tuple[LocalHoliday, ...] = ()
    _years: dict[int, dict[date, tuple[LocalHoliday, ...]]] = field(default_factory=dict, repr=False)

    def __add__(self, other: Calendar) -> Calendar:
        return _joined(self, other)

    def holiday(self, day: date, places: Iterable[tuple[str, str | None]]) -> str | None:
        """The name of a local holiday on ``day`` in one of ``places`` ((UF, city_key or None)); else None."""
        days = self._years.get(day.year)
        if days is None:
            days = self._years[day.year] = _by_day(self.entries, day.year)
        for entry in days.get(day, ()):
            for uf, city in places:
                if entry.applies(uf, city):
                    return f"{entry.name}, {entry.where}" if entry.where else entry.name
        return None


@lru_cache(maxsize=64)
def _joined(a: Calendar, b: Calendar) -> Calendar:
    return Calendar(a.entries + b.entries)


def _by_day(entries: tuple[LocalHoliday, ...], year: int) -> dict[date, tuple[LocalHoliday, ...]]:
    days: dict[date, list[LocalHoliday]] = {}
    for entry in entries:
        day = entry.on(year)
        if day is not None:
            days.setdefault(day, []).append(entry)
    return {d: tuple(e) for d, e in days.items()}


def _rows(text: str, delimiters: str = ";") -> list[tuple[int, list[str]]]:
    """Numbered non-blank, non-comment rows; the delimiter is the first of ``delimiters`` in the first row
    (spreadsheets save ``,`` or ``;`` by locale, as the debtor import accepts)."""
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    first = lines[0][1] if lines else ""
    delimiter = next((d for d in delimiters if d in first), delimiters[0])
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter)
    return [(n, [c.strip() for c in row]) for (n, _), row in zip(lines, reader, strict=True)]


def _uf(value: str, where: str) -> str | None:
    uf = value.upper() or None
    if uf is not None and uf not in UFS:
        raise ConfigError(f"{where}: uf {value!r} is not a Brazilian state (UF) abbreviation")
    return uf


def parse_capitals(text: str, source: str) -> Calendar:
    """The shipped table ``uf;city;rule;name;source`` (see ``municipal_holidays.csv``)."""
    entries = []
    for n, row in _rows(text)[1:]:
        where = f"{source}: line {n}"
        if len(row) != 5 or not all(row):
            raise ConfigError(f"{where}: needs uf;city;rule;name;source, all filled")
        uf, city, rule, name, _source = row
        if not _RULE.fullmatch(rule):
            raise ConfigError(f"{where}: rule {rule!r} is not MM-DD or easter+N")
        entries.append(LocalHoliday(_uf(uf, where), city_key(city), name, rule, f"{city}/{uf}"))
    return Calendar(tuple(entries))


@lru_cache(maxsize=1)
def capitals() -> Calendar:
    """The state capitals' municipal holidays shipped in ``ivr/campaign/municipal_holidays.csv``."""
    text = resources.files("ivr.campaign").joinpath("municipal_holidays.csv").read_text(encoding="utf-8")
    return parse_capitals(text, "municipal_holidays.csv")


def parse_calendar(text: str, source: str) -> Calendar:
    """A campaign calendar: ``date;uf;city;name`` per line (a header line is allowed, ``#`` lines are comments;
    ``,`` instead of ``;`` when the first line has no ``;``).

    ``date`` is ``dd/mm/aaaa`` or ISO; an empty ``uf`` means every debtor, an empty ``city`` the whole state.
    Raises ``ConfigError`` naming the file, line and field.
    """
    entries = []
    for n, row in _rows(text, ";,"):
        where = f"{source}: line {n}"
        if n == 1 and row and row[0].lower() in ("date", "data"):
            continue
        if len(row) != 4:
            raise ConfigError(f"{where}: needs 4 fields date;uf;city;name, found {len(row)}")
        raw_date, uf, city, name = row
        try:
            day = parse_date(raw_date)
        except InputError as exc:
            raise ConfigError(f"{where}: date: {exc}") from None
        if not name:
            raise ConfigError(f"{where}: name is empty")
        state = _uf(uf, where)
        if city and state is None:
            raise ConfigError(f"{where}: city {city!r} needs its uf")
        place = f"{city}/{state}" if city else (state or "")
        entries.append(LocalHoliday(state, city_key(city), name, day.isoformat(), place))
    return Calendar(tuple(entries))


def load_calendar(path: str | os.PathLike[str]) -> Calendar:
    """A campaign calendar file (see ``parse_calendar``), re-read when the file changes."""
    p = Path(path)
    try:
        stamp = p.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError(f"calendar {p}: file not found") from None
    return _load_calendar(str(p.resolve()), stamp)


@lru_cache(maxsize=32)
def _load_calendar(path: str, _stamp: int) -> Calendar:
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"calendar {path}: is a directory, expected a CSV file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows, as the debtor import reads it
    return parse_calendar(text, f"calendar {path}")
