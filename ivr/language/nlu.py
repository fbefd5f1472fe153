"""Rules-based pt-BR understanding of one caller utterance: an intent with date, amount, installments and time slots.

Text is folded (lower case, no accents, number words as digits) and then matched by keyword rules; ``evidence`` says which.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ivr.language.numbers import scan_numbers, strip_accents
from ivr.vocabulary import Asked, Intent

INTENTS: tuple[str, ...] = tuple(str(i) for i in Intent)


@dataclass(frozen=True)
class NluResult:
    """What one utterance means. ``evidence`` is a short human-readable trace of the rules that fired."""

    intent: str
    date: date | None = None
    amount: Decimal | None = None
    installments: int | None = None
    time: time | None = None
    confidence: float = 0.0
    evidence: str = ""
    reason: str = ""
    """Why, for ``cannot_pay`` said as hardship: "job_loss", "illness", "no_food" (empty otherwise)."""

    def to_json(self) -> dict[str, Any]:
        amount: int | float | None = None
        if self.amount is not None:
            amount = int(self.amount) if self.amount == self.amount.to_integral_value() else float(self.amount)
        return {
            "intent": self.intent,
            "date": self.date.isoformat() if self.date else None,
            "amount": amount,
            "installments": self.installments,
            "time": self.time.strftime("%H:%M") if self.time else None,
            "confidence": round(self.confidence, 2),
            "evidence": self.evidence,
        }


# --------------------------------------------------------------------------- normalization

# Typed shorthand and ASR variants folded to one spelling so the rules stay small.
_SYNONYMS: dict[str, str] = {
    "vc": "voce",
    "vcs": "voces",
    "ce": "voce",
    "oce": "voce",
    "cê": "voce",
    "voceis": "voces",
    "q": "que",
    "pq": "porque",
    "n": "nao",
    "ñ": "nao",
    "naum": "nao",
    "nao.": "nao",
    "naoo": "nao",
    "simm": "sim",
    "nope": "nao",
    "num": "nao",
    "s": "sim",
    "ss": "sim",
    "sim.": "sim",
    "blz": "beleza",
    "hj": "hoje",
    "amanhã": "amanha",
    "tb": "tambem",
    "tbm": "tambem",
    "td": "tudo",
    "msm": "mesmo",
    "mto": "muito",
    "mt": "muito",
    "estou": "to",
    "tou": "to",
    "esta": "ta",
    "tah": "ta",
    "vo": "vou",
    "cadê": "cade",
    "pro": "pra",
    "pros": "pras",
    "prum": "pra um",
    "pruma": "pra uma",
    "okay": "ok",
    "okey": "ok",
    "hunrum": "uhum",
    "unhum": "uhum",
    "humhum": "uhum",
    "uhun": "uhum",
    "aha": "aham",
    "ahan": "aham",
    "anham": "aham",
    "ahã": "aham",
    "rs": "",
    "kkk": "",
    "ai": "ai",
    "tô": "to",
    "tá": "ta",
    "conto": "reais",
    "contos": "reais",
    "pila": "reais",
    "pilas": "reais",
    "mangos": "reais",
    "real": "reais",
    "dinheiros": "dinheiro",
    "celular": "telefone",
    "fone": "telefone",
    "numero": "numero",
}
_MONTHS = {
    "janeiro": 1,
    "fevereiro": 2,
    "marco": 3,
    "abril": 4,
    "maio": 5,
    "junho": 6,
    "julho": 7,
    "agosto": 8,
    "setembro": 9,
    "outubro": 10,
    "novembro": 11,
    "dezembro": 12,
}
_WEEKDAYS = {"segunda": 0, "terca": 1, "quarta": 2, "quinta": 3, "sexta": 4, "sabado": 5, "domingo": 6}

_TYPED_MONEY_RE = re.compile(r"r\$\s*(\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?)")
_BR_DECIMAL_RE = re.compile(r"\b(\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+,\d{1,2})\b")


def _money_text(raw: str) -> str:
    t = raw
    if "," in t:
        t = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", t):
        t = t.replace(".", "")
    return t


def normalize(text: str) -> str:
    """Fold an utterance for matching: "Pago R$ 1.200,50 dia vinte e cinco" -> "pago 1200.50 reais dia 25"."""
    t = re.sub(r"([a-z])\1{2,}", r"\1", strip_accents(text))
    t = _TYPED_MONEY_RE.sub(lambda m: f" {_money_text(m.group(1))} reais ", t)
    t = _BR_DECIMAL_RE.sub(lambda m: _money_text(m.group(1)), t)
    t = re.sub(r"(?<=\d)\s*x\b", " x", t)  # "3x" -> "3 x"
    t = re.sub(r"\b(\d{1,2})\s*h\s*(\d{2})\b", r"\1:\2", t)  # "14h30" -> "14:30"
    t = re.sub(r"\b(\d{1,2})\s*h\b", r"\1 horas", t)
    t = re.sub(r"(?<!\d)[.,](?!\d)|[!?;\"()\[\]{}*]|(?<=\D)[-](?=\D)|\.$", " ", t)
    t = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t)
    tokens: list[str] = []
    for tok in t.split():
        tok = _SYNONYMS.get(tok, tok)
        if tok:
            tokens.extend(tok.split())
    return " ".join(_numbers_to_digits(tokens))


_NUMBERISH_NEIGHBOURS = frozenset(
    {"reais", "mil", "centavos", "centavo", "hora", "horas", "vez", "x", "parcela", "prestacao", "dia"}
)


def _numbers_to_digits(tokens: list[str]) -> list[str]:
    tokens = _join_digit_scales(tokens)
    out: list[str] = []
    last = 0
    for start, end, value in scan_numbers(tokens):
        out.extend(tokens[last:start])
        word = tokens[start]
        lone_article = end - start == 1 and word in ("um", "uma")
        following = tokens[end] if end < len(tokens) else ""
        if lone_article and following not in _NUMBERISH_NEIGHBOURS:
            out.append(word)  # "um atendente", "uma semana": keep the article, rules accept it
        else:
            out.append(str(value))
        last = end
    out.extend(tokens[last:])
    return out


def _join_digit_scales(tokens: list[str]) -> list[str]:
    """ "2 mil" and "1.5 mil" typed with digits become one number before the word scan."""
    merged: list[str] = []
    for tok in tokens:
        scale = {"mil": 1000, "milhao": 10**6, "milhoes": 10**6}.get(tok)
        if scale and merged and re.fullmatch(r"\d+(\.\d+)?", merged[-1]):
            merged[-1] = _fmt(Decimal(merged[-1]) * scale)
        else:
            merged.append(tok)
    return merged


def _fmt(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value)


# --------------------------------------------------------------------------- slots

_NUM = r"(?:\d+|uma?|primeiro)"


def _as_int(token: str) -> int:
    if token in ("um", "uma", "primeiro"):
        return 1
    return int(token)


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int) -> tuple[int, int]:
    index = d.year * 12 + d.month - 1 + months
    return index // 12, index % 12 + 1


def _day_in_month(year: int, month: int, day: int, step: int = 1) -> date | None:
    """Day ``day`` of the month, or of the next month that has it ("dia 31" in November is 31 December;
    ``step=-1`` looks back instead, for past events)."""
    if not 1 <= day <= 31:
        return None
    for _ in range(3):
        if day <= calendar.monthrange(year, month)[1]:
            return date(year, month, day)
        index = year * 12 + month - 1 + step
        year, month = index // 12, index % 12 + 1
    return None  # pragma: no cover - every day 1-31 exists within three consecutive months


def _day_ahead(today: date, day: int, past: bool) -> date | None:
    """ "dia N": this month if still ahead (today counts), else next month; for past events the reverse."""
    if not 1 <= day <= 31:
        return None
    if past:
        y, m = (today.year, today.month) if day <= today.day else _add_months(today, -1)
        return _day_in_month(y, m, day, step=-1)
    y, m = (today.year, today.month) if day >= today.day else _add_months(today, 1)
    return _day_in_month(y, m, day)


_DATE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("slash", re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")),
    ("month_name", re.compile(r"\b(?:dia )?(\d{1,2}|primeiro) de (" + "|".join(_MONTHS) + r")(?: de (\d{4}))?\b")),
    (
        "day_next_month",
        re.compile(r"\bdia (\d{1,2}|primeiro) (?:do|no|de) (?:mes que vem|proximo mes|outro mes|mes seguinte)\b"),
    ),
    ("after_day", re.compile(r"\b(?:depois do|apos o|passado o) dia (\d{1,2}|primeiro)\b")),
    ("before_day", re.compile(r"\bantes do dia (\d{1,2}|primeiro)\b")),
    (
        "day",
        re.compile(
            r"\b(?:dia|no|ate o|proximo dia|todo dia) (\d{1,2}|primeiro)\b(?! (?:horas|hora|reais|x|vezes|parcelas|dias))"
        ),
    ),
    ("after_tomorrow", re.compile(r"\bdepois de amanha\b")),
    ("tomorrow", re.compile(r"\bamanha\b")),
    ("today", re.compile(r"\bhoje\b")),
    ("day_before_yesterday", re.compile(r"\bante ?ontem\b")),
    ("yesterday", re.compile(r"\bontem\b")),
    ("in_n", re.compile(r"\b(?:daqui a|daqui|dentro de|em|apos) (\d+|uma?) (dias?|semanas?|mes|meses)\b")),
    ("end_next_month", re.compile(r"\b(?:fim|final|ultimo dia) do (?:mes que vem|proximo mes)\b")),
    ("end_month", re.compile(r"\b(?:fim|final|ultimo dia|virada) do mes\b(?! que vem)")),
    (
        "weekday",
        re.compile(
            r"\b(?:(proxima|proximo|nesta|nessa|essa|esta) )?(segunda|terca|quarta|quinta|sexta|sabado|domingo)(?: feira)?"
            r"(?! (?:via|parcela|vez|opcao|prestacao))( que vem| da semana que vem| da proxima semana)?\b"
        ),
    ),
]


def _month_day(today: date, month: int, day: int, past: bool) -> date:
    """A day and month without a year: the next one to come, or for past events the last one gone."""
    candidate = date(today.year, month, day)
    if not past and candidate < today:
        return date(today.year + 1, month, day)
    if past and candidate > today:
        return date(today.year - 1, month, day)
    return candidate


def _resolve_date(kind: str, m: re.Match[str], today: date, past: bool) -> date | None:
    try:
        if kind == "iso":
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if kind == "slash":
            day, month = int(m.group(1)), int(m.group(2))
            if m.group(3):
                year = int(m.group(3))
                return date(year + 2000 if year < 100 else year, month, day)
            return _month_day(today, month, day, past)
        if kind == "month_name":
            day, month = _as_int(m.group(1)), _MONTHS[m.group(2)]
            if m.group(3):
                return date(int(m.group(3)), month, day)
            return _month_day(today, month, day, past)
        if kind == "day_next_month":
            y, mo = _add_months(today, 1)
            return _day_in_month(y, mo, _as_int(m.group(1)))
        if kind == "day":
            return _day_ahead(today, _as_int(m.group(1)), past)
        if kind in ("after_day", "before_day"):
            # "depois do dia 10" is the 11th at the earliest; "antes do dia 10" the 9th at the latest.
            anchor = _day_ahead(today, _as_int(m.group(1)), past)
            if anchor is None:
                return None
            moved = anchor + timedelta(days=1 if kind == "after_day" else -1)
            return moved if past or moved >= today else None
    except ValueError:
        return None
    if kind == "after_tomorrow":
        return today + timedelta(days=2)
    if kind == "tomorrow":
        return today + timedelta(days=1)
    if kind == "today":
        return today
    if kind == "yesterday":
        return today - timedelta(days=1)
    if kind == "day_before_yesterday":
        return today - timedelta(days=2)
    if kind == "in_n":
        n = _as_int(m.group(1))
        unit = m.group(2)
        if unit.startswith("dia"):
            return today + timedelta(days=n)
        if unit.startswith("semana"):
            return today + timedelta(weeks=n)
        y, mo = _add_months(today, n)
        return date(y, mo, min(today.day, calendar.monthrange(y, mo)[1]))  # "daqui a um mês" on 31/01: 28/02
    if kind == "end_month":
        return _last_day(today.year, today.month)
    if kind == "end_next_month":
        return _last_day(*_add_months(today, 1))
    if kind == "weekday":
        target = _WEEKDAYS[m.group(2)]
        if m.group(3) and "semana" in m.group(3):
            monday_next = today + timedelta(days=7 - today.weekday())
            return monday_next + timedelta(days=target)
        if past:
            delta = (today.weekday() - target) % 7 or 7
            return today - timedelta(days=delta)
        delta = (target - today.weekday()) % 7 or 7
        return today + timedelta(days=delta)
    return None


def _find_date(text: str, today: date, past: bool) -> tuple[date | None, str, list[tuple[int, int]]]:
    """The last concrete date mentioned (later mentions correct earlier ones: "dia 10 nao, dia 20")."""
    found: list[tuple[int, int, date, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, rx in _DATE_RULES:
        for m in rx.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            resolved = _resolve_date(kind, m, today, past)
            taken.append((m.start(), m.end()))
            if resolved is not None:
                found.append((m.start(), m.end(), resolved, m.group(0)))
    if not found:
        return None, "", taken
    start, end, resolved, said = max(found, key=lambda f: f[0])
    return resolved, said, taken


_TIME_PERIOD = r"(?: (?:horas?|hs?))?(?: (?:da|de|na|pela) (manha|tarde|noite|madrugada))?"
_TIME_RULES: list[re.Pattern[str]] = [
    re.compile(r"\b(meio dia|meia noite)(?: e (meia|\d{1,2}))?"),
    re.compile(r"\b(\d{1,2}):(\d{2})\b" + _TIME_PERIOD),
    re.compile(
        r"\b(?:as|a|pelas|la pelas|la pras|pras|umas|lá pelas|depois das?|antes das?|por volta das?|ate as|ali pelas|"
        r"perto das?|entre|a partir das?|apos as)"
        r" (\d{1,2}|uma|duas)(?: e (meia|\d{1,2}|um))?"
        + _TIME_PERIOD
        + r"(?! (?:dias?|semanas?|mes|meses|reais|vezes|x|parcelas))"
    ),
    re.compile(
        r"\b(\d{1,2})(?: e (meia|\d{1,2}))? (?:horas?|hs?)" + r"(?: (?:da|de|na|pela) (manha|tarde|noite|madrugada))?"
    ),
    re.compile(r"\b(\d{1,2}|uma|duas)(?: e (meia|\d{1,2}))? (?:da|de) (manha|tarde|noite|madrugada)\b"),
]


_PERIODS: tuple[tuple[re.Pattern[str], time], ...] = (
    (re.compile(r"\b(?:(?:na |no )?hora do almoco|(?:no )?horario (?:do|de) almoco|no almoco)\b"), time(12, 0)),
    (re.compile(r"\b(?:fim|final) (?:da|de) tarde\b"), time(17, 0)),
    (re.compile(r"\b(?:comeco|inicio) da tarde\b"), time(14, 0)),
    (re.compile(r"\b(?:fim|final) da manha\b"), time(11, 0)),
    (re.compile(r"\b(?:comeco|inicio) da noite\b"), time(18, 0)),
    (re.compile(r"\b(?:de|pela|na|a|durante a|parte da) manha\b"), time(10, 0)),
    (re.compile(r"\b(?:de|pela|na|a|durante a|parte da) tarde\b"), time(15, 0)),
    (re.compile(r"\b(?:de|pela|na|a|durante a) noite\b"), time(19, 0)),
)
"""A part of the day said without a clock time, as a concrete hour ("amanhã de tarde" -> 15:00)."""


def _find_time(text: str) -> tuple[time | None, str, tuple[int, int] | None]:
    found = _find_clock_time(text)
    if found[0] is not None:
        return found
    for rx, at in _PERIODS:
        m = rx.search(text)
        if m:
            return at, m.group(0), (m.start(), m.end())
    return None, "", None


def _find_clock_time(text: str) -> tuple[time | None, str, tuple[int, int] | None]:
    for i, rx in enumerate(_TIME_RULES):
        m = rx.search(text)
        if not m:
            continue
        if (
            i >= 2
            and "hora" in m.group(0)
            and re.search(r"\b(?:daqui|a|em|dentro de|por|umas?|mais)\s*$", text[: m.start()])
        ):
            continue  # "daqui a uma hora", "em duas horas": a duration, not a clock time
        if i == 0:
            hour = 12 if m.group(1) == "meio dia" else 0
            minute = 30 if m.group(2) == "meia" else int(m.group(2) or 0)
            period = None
        else:
            hour = {"uma": 1, "duas": 2}.get(m.group(1)) or int(m.group(1))
            minute_word = m.group(2)
            minute = 30 if minute_word == "meia" else 1 if minute_word == "um" else int(minute_word or 0)
            period = m.group(3)
            if period in ("tarde", "noite") and hour < 12:
                hour += 12
            elif period is None and 1 <= hour <= 7 and i != 1:
                hour += 12  # people mean the afternoon when they say "as tres" during calling hours
        if hour > 23 or minute > 59:
            continue
        return time(hour, minute), m.group(0), (m.start(), m.end())
    return None, "", None


_INSTALLMENT_RULES: list[re.Pattern[str]] = [
    re.compile(r"\b(?:em|de|por) (\d{1,2}|uma|duas) ?(?:x|vezes|parcelas|prestacoes|parcelinhas)\b"),
    re.compile(r"\b(\d{1,2}|duas) (?:x|vezes|parcelas|prestacoes|parcelinhas)\b"),
    re.compile(
        r"\b(?:parcel\w*|divid\w*|divisao|fracion\w*|repartir|reparte) (?:\w+ ){0,2}?(?:em|de|por) (\d{1,2}|duas)\b"
    ),
]


def _find_installments(text: str) -> tuple[int | None, str, tuple[int, int] | None]:
    for rx in _INSTALLMENT_RULES:
        m = rx.search(text)
        if m:
            n = {"uma": 1, "duas": 2}.get(m.group(1)) or int(m.group(1))
            if 1 <= n <= 99:
                return n, m.group(0), (m.start(), m.end())
    return None, "", None


_AMOUNT_RULES: list[re.Pattern[str]] = [
    re.compile(
        r"\b(\d+(?:\.\d+)?|uma?) reais(?: (?:e|com) (\d{1,2})(?: centavos?)?(?! (?:dias?|horas?|x|vezes|parcelas|de)\b))?\b"
    ),
    re.compile(r"\b(\d{1,2}) centavos?\b"),
    # spoken price with the cents after "e": "pago noventa e nove e noventa" -> 99.90
    re.compile(
        r"\b(?:pag\w*|deposit\w*|transfir\w*|transfer\w*|pix de|dou|entrada de|valor de|uns|so|consigo|posso) "
        r"(?:(?:uns|so|o|os|a|de) )*(\d+) e ([1-9]\d)\b(?! (?:reais|centavos?|horas?|dias?|x|vezes|parcelas|de ))"
    ),
    # after a payment verb or a hedge: "pago 300", "uns 500", "so 200"
    re.compile(
        r"\b(?:pag\w*|deposit\w*|transfir\w*|transfer\w*|mand\w*|pix de|dar|dou|da pra dar|entrada de|valor de|"
        r"quantia de|uns|umas|so|apenas|somente|ate|tipo|mais ou menos|metade|no maximo|consigo|posso) "
        r"(?:(?:uns|umas|so|apenas|mais|ou|menos|o|a|os|as|valor|de|ate|tipo|no maximo) )*(\d+(?:\.\d+)?)\b"
        r"(?! ?(?:/|:|horas?|h\b|x\b|vezes|parcelas|prestacoes|dias\b|semanas?|de (?:" + "|".join(_MONTHS) + r")))"
    ),
    re.compile(r"\b(\d+(?:\.\d+)?) (?:pra|para|de) (?:dar|pagar|depositar|mandar|transferir|entrada)\b"),
    re.compile(r"\b(?:vezes|parcelas|prestacoes|x) de (\d+(?:\.\d+)?)\b"),
]


def _find_amount(text: str, blocked: list[tuple[int, int]]) -> tuple[Decimal | None, str]:
    for i, rx in enumerate(_AMOUNT_RULES):
        for m in rx.finditer(text):
            span = (m.start(1), m.end(1))
            if any(s <= span[0] < e for s, e in blocked):
                continue
            try:
                if i == 0:
                    whole = Decimal(1) if m.group(1) in ("um", "uma") else Decimal(m.group(1))
                    cents = Decimal(m.group(2)) / 100 if m.group(2) else Decimal(0)
                    return whole + cents, m.group(0)
                if i == 1:
                    # "duzentos e cinquenta e noventa centavos": the reais before "e" belong to it (250,90).
                    reais = re.search(r"\b(\d+) e $", text[: m.start()])
                    if reais and not any(s <= reais.start(1) < e for s, e in blocked):
                        return Decimal(reais.group(1)) + Decimal(m.group(1)) / 100, reais.group(0) + m.group(0)
                    return Decimal(m.group(1)) / 100, m.group(0)
                if i == 2:
                    return Decimal(m.group(1)) + Decimal(m.group(2)) / 100, m.group(0)
                value = Decimal(m.group(1))
            except InvalidOperation:
                continue
            if value >= 10 or "." in m.group(1):
                return value, m.group(0)
    return None, ""


# --------------------------------------------------------------------------- intents


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_NEG = r"(?:nao|nem|nunca|jamais)"
_PAY = r"(?:pagar|quitar|acertar|depositar|transferir|arcar|honrar|saldar|liquidar|cobrir)"
_THIRD = (
    r"(?:ele|ela|o \w+|a \w+|meu (?:marido|filho|pai|irmao|esposo|genro|sogro|tio|avo|patrao|chefe|neto)|"
    r"minha (?:esposa|mulher|mae|filha|irma|nora|sogra|tia|avo|patroa|chefe|neta)|a dona \w+|o seu \w+|o senhor \w+|a senhora \w+)"
)

_RULES: dict[str, re.Pattern[str]] = {
    "deceased": _rx(
        r"faleceu",
        r"falecid[oa]",
        r"(?<!quase )morreu",
        r"veio a (?:obito|falecer)",
        r"obito",
        r"nao (?:ta|esta) mais (?:entre nos|com a gente|aqui com a gente|vivo|viva)",
        r"(?:ja )?e falecid[oa]",
    ),
    "unreachable_person": _rx(
        r"(?:ta|esta|foi|ficou|anda|continua) (?:\w+ )?(?:pres[oa]|detid[oa]|reclus[oa]|encarcerad[oa]|em coma)",
        r"(?:na|no|pra|pro) (?:cadeia|presidio|prisao|penitenciaria|xadrez|cadeiao|cdp)",
        r"cumprindo pena",
        r"(?:foi|ta|esta) (?:em )?(?:pres[oa]|detid[oa])",
    ),
    "hold": _rx(
        r"^(?:\w+ )?(?:um|so um|1) (?:momento|minuto|minutinho|instante|segundo|segundinho)\b(?! (?:pra|para) (?:pagar|"
        + _PAY[3:-1]
        + r"))",
        r"(?:^| )(?:pera|perai|pera ai|espera|espere|peraí|aguarda|aguarde|aguenta)(?: (?:ai|la|um pouco|um pouquinho|so um pouco|um minuto|um momento|so um minuto))*(?: (?:que|q) (?:ela|ele|eu|ja) \w+)?$",
        r"(?:vou|ja vou|deixa eu|vou la|vou ver se|so vou) (?:\w+ )?(?:chamar|buscar|passar pra|passar o telefone|chamo)(?: (?:ela|ele|a \w+|o \w+))?",
        r"(?:ela|ele) (?:ja )?(?:vem|ta vindo|esta vindo|ja vai atender|vai atender|ja atende|ja vem)\b(?! (?:mais tarde|depois|amanha|a noite|de noite|so))",
        r"ja (?:chamo|vou chamar|passo pra)",
        r"(?:vou|deixa eu) ver se (?:ela|ele) (?:ta|esta|pode)",
    ),
    "ask_robot": _rx(
        r"(?:voce|ce|isso|tu) (?:e|eh|ta sendo) (?:um |uma )?(?:robo|robozinho|maquina|gravacao|computador|inteligencia artificial|ia|bot|atendente virtual|pessoa de verdade|pessoa real|gente|humano|humana)",
        r"^(?:e )?(?:um |uma )?(?:robo|gravacao|maquina)$",
        r"(?:to|estou|eu to) falando com (?:um |uma )?(?:robo|maquina|gravacao|computador)(?! nao)",
        r"e (?:um |uma )?(?:robo|gravacao|maquina) (?:que )?(?:ta )?(?:falando|ligando)",
        r"(?:e|isso e) (?:uma )?pessoa ou (?:um )?(?:robo|maquina|gravacao)",
    ),
    "ask_cnpj": _rx(r"cnpj", r"c n p j", r"cadastro (?:nacional )?(?:de|da) (?:pessoa juridica|empresa)"),
    "ask_source": _rx(
        r"(?:como|onde|de onde|da onde|quem|por onde) (?:\w+ ){0,3}?(?:conseguiu|conseguiram|consegui|pegou|pegaram|arrumou|arrumaram|achou|acharam|deu|passou|passaram|obteve|obtiveram|descobriu|descobriram) (?:\w+ ){0,2}?(?:meu|o meu|esse|este|meus) (?:numero|telefone|contato|dados)",
        r"(?:como|onde|de onde|por que) (?:\w+ ){0,2}?(?:tem|tinham|tinha|tao com|estao com) (?:o )?(?:meu|esse|este) (?:numero|telefone|contato)",
        r"quem (?:te |lhe |lhes |vos )?(?:deu|passou|forneceu) (?:o )?(?:meu|esse) (?:numero|telefone|contato)",
    ),
    "ask_protocol": _rx(r"protocolo", r"numero (?:de|do) (?:atendimento|registro|chamado)"),
    "ask_scam": _rx(
        r"(?:isso|e|sera que (?:isso )?e|isso nao e|nao e|como (?:eu )?(?:sei|vou saber|posso saber|tenho certeza|posso ter certeza) que (?:isso )?nao e) (?:um |uma )?(?:golpe|fraude|trote)",
        r"(?:isso )?e (?:de verdade|verdade mesmo|seguro|confiavel)$",
        r"voces? (?:sao|e) (?:de verdade|confiave\w+|golpist\w+|de confianca)",
        r"como (?:eu )?(?:sei|vou saber|posso saber|tenho certeza|posso ter certeza) (?:que )?(?:isso|voce|voces|essa ligacao|e) (?:e |sao )?(?:de verdade|verdade|real|mesmo|verdadeir\w)",
    ),
    "ask_who": _rx(
        r"(?<!eu )(?<!sou )(?<!mesmo )(?<!mesma )(?<!proprio )(?<!propria )quem (?:e|eh|fala|ta falando|esta falando|ta ligando|liga|ligou|deseja|gostaria|quer falar|procura|ta procurando|e voce|e que fala|e que ta falando|seria|sao voces|e o senhor|e a senhora)\b(?! (?:o|a) (?:dono|dona)| e (?:a |o )?[a-z]+$)",
        r"(?:de|da) onde (?:\w+ )?(?:fala|falam|liga|ligam|e|sao|ta falando|estao falando|voce e|voces sao)",
        r"(?:que|qual|de que|de qual) (?:empresa|banco|loja|financeira|lugar)\b(?! (?:de|do|da) (?:divida|cobranca))",
        r"da parte de quem",
        r"falando com quem",
        r"(?:com|pra) quem (?:eu )?(?:to|estou) falando",
        r"^quem$",
        r"(?:que|qual) e o (?:nome|seu nome)(?: d[ao] empresa)?",
    ),
    "ask_amount": _rx(
        r"(?:quanto|qual) (?:que )?(?:e|era|foi|fica|ficou|da|deu) (?:o valor |a divida |o total )?mesmo",
        r"qual (?:e |era |que e |que era )?(?:o|a) (?:valor|divida|quantia|data|vencimento|total)(?: mesmo| de novo)?$",
        r"quanto (?:e|era|que e|que era|ficou|fica|deu|da) mesmo",
        r"^(?:e )?quanto (?:que )?(?:eu )?(?:devo|to devendo|e|que e|ta|fica|era)$",
        r"(?:repete|repita|fala|diz|diga|fala de novo) (?:\w+ )?(?:o valor|a data|o vencimento|quanto e)",
        r"(?:quando|que dia) (?:e que )?(?:vence|venceu|vencia)\b",
        r"qual (?:e |era )?o (?:valor|vencimento) (?:mesmo|de novo)",
    ),
    "too_many_calls": _rx(
        r"(?:liga|ligam|ligou|ligaram|ficam ligando|fica ligando|vivem ligando|vive ligando|ligando|ligacao|ligacoes) (?:\w+ ){0,2}?(?:todo dia|todos os dias|toda hora|o tempo todo|toda semana|sem parar|direto|varias vezes|um monte de vez\w*|demais|o dia todo|toda vez)",
        r"(?:todo dia|toda hora|todos os dias) (?:\w+ )?(?:voces? )?(?:liga|ligam|ficam ligando|me ligam|essa ligacao|ligacao)",
        r"ja (?:ligaram|ligou|me ligaram) (?:\w+ )?(?:hoje|\d+ vezes|varias vezes|um monte)",
        r"(?:de novo|outra vez) (?:voces|essa ligacao|essa empresa)$",
    ),
    "refuse_data": _rx(
        r"nao (?:vou|quero|posso|passo|dou|informo|falo|digo|vou passar|vou dar|vou falar|vou informar|gosto de (?:passar|dar|informar)) (?:\w+ ){0,2}?(?:meus? dados|dado|meu cpf|o cpf|cpf|meu ano|o ano|nascimento|data de nascimento|informac\w+ pessoa\w+|isso por telefone)",
        r"(?:nao|jamais) (?:passo|dou|forneco|informo) (?:\w+ ){0,2}?(?:por telefone|pelo telefone)",
        r"prefiro nao (?:informar|dizer|falar|passar)",
        r"(?:nao|jamais) (?:passo|dou|forneco|informo) (?:meus? )?(?:dados|cpf)",
    ),
    "agent": _rx(
        r"atendente",
        r"operador\w*",
        r"humano",
        r"ser humano",
        r"pessoa (?:de verdade|real|de carne e osso)",
        r"(?:falar|conversar|fala|converso|falo) com (?:uma? |o |a |algum |alguma )?(?:seu |sua )?(?:pessoa|alguem|gente|funcionari\w+|"
        r"responsavel|supervisor\w*|gerente|atendente|moca|moco|rapaz|menina|central|setor)",
        r"(?:me )?(?:passa|passe|transfere|transfira|transferir|encaminha|coloca|poe|bota)\w* (?:\w+ ){0,2}?(?:pra|para|com) "
        r"(?:uma? |o |a |algum |alguma )?(?:seu |sua )?(?:pessoa|alguem|atendente|humano|responsavel|supervisor\w*|gerente|central|"
        r"funcionari\w+|setor|chefe|superior)",
        r"(?:nao|chega de) (?:quero |vou |gosto de )?(?:falar|conversar) com (?:robo|maquina|gravacao|computador|robozinho)",
        r"(?:tem|cade|chama) (?:algu[eé]m|uma pessoa|um atendente) (?:ai|pra falar|de verdade|que)",
        r"quero (?:uma|um) (?:pessoa|humano|atendente)",
        r"atendimento humano",
        r"falar com gente",
        r"^(?:me )?(?:transfere|transfira|transferir)(?: (?:a ligacao|ai|por favor|agora|logo))*$",
        r"(?:negociar|resolver|tratar|acertar|parcelar|ver isso|ver) (?:isso )?com (?:uma? |o |a |algum |alguma )?(?:pessoa|atendente|humano|"
        r"gerente|supervisor\w*|funcionari\w+|responsavel)",
    ),
    "opt_out": _rx(
        _NEG
        + r" (?:\w+ ){0,2}?(?:liga|ligue|ligar|liguem|ligam|ligando|telefona\w*)\w* (?:\w+ ){0,2}?mais\b(?! tarde| pro fim| pra noite| cedo)",
        r"(?:para|pare|parem|parar|paro) (?:de|com (?:essas?|as|estas?)) (?:\w+ ){0,2}?(?:ligar|ligando|ligacoes?|me ligar|encher|perturbar|"
        r"incomodar|importunar|ficar ligando|mandar mensage\w*|cobrar|me cobrar|liga)",
        r"chega (?:de|dessas?|destas?|com essas?) (?:ligar|ligacao|ligacoes|me ligar|ficar ligando|cobranca\w*)",
        r"(?:para|pare|parem) com (?:isso|essas? ligac\w+|essa cobranca)\b(?= *$)",
        r"bloque\w* (?:o |meu |esse |este |seu )?(?:numero|telefone|contato|voces)",
        _NEG
        + r" (?:quero|aceito|autorizo) (?:mais )?(?:receber |ter )?(?:mais |essas |estas |as |suas |esse |esses |tanta |tantas )?(?:ligac\w+|chamad\w+|contato|que (?:voces? )?(?:me )?liguem?\w*|ser (?:incomodad|contatad|perturbad)\w*)",
        _NEG
        + r" me (?:liga|ligue|liguem|ligar|perturbe|perturbem|incomode|incomodem)\b(?! (?:agora|hoje|a noite|de noite|nesse horario|mais tarde|depois))",
        _NEG + r" (?:liga|ligue|liguem) (?:pra ca|aqui|pra mim|nesse numero|neste numero)",
        r"(?:tira|tirem|tire|remove|remova|removam|exclui|exclua|excluam|apaga|apague|apaguem|retira|retire)\w* (?:o |a )?(?:meu|minha|esse|este|o) "
        r"(?:numero|nome|telefone|contato|cadastro)",
        r"me (?:tira|tirem|tire|remove|remova|exclui|exclua)\w* (?:da|dessa|do) (?:lista|cadastro|sistema)",
        r"descadastr\w*",
        r"me esquece\w*",
        r"esquece\w* (?:o )?meu numero",
        r"nunca mais (?:me )?lig\w*",
        r"vou bloquear",
        r"(?:deixa|deixem|me deixa) (?:eu |me )?em paz",
        r"para de me perturbar",
        r"nao perturbe",
        r"ja (?:falei|pedi|disse) (?:pra|para|que) (?:nao|parar)",
    ),
    "wrong_person": _rx(
        r"(?:numero|telefone|pessoa) (?:\w+ )?(?:ta |esta |e )?errad\w",
        r"engano",
        r"(?:lig|disc)\w* (?:pro |para o |no |pra )?(?:numero |telefone )?errad\w",
        r"(?:troquei|mudei) de (?:numero|chip|telefone)",
        r"(?:era|e) de outra pessoa",
        r"desconhec\w* (?:essa |esse |o |a )?(?:pessoa|nome|cara|senhor|senhora|moca|moco|ele|ela|fulan\w)",
        r"(?:ele|ela|essa pessoa) (?:ja )?(?:se )?mudou",
        r"(?:essa pessoa|esse nome|ninguem|esse cara) nao (?:existe|mora|vive)",
        r"nao sou (?:a|o) (?:pessoa|cara|moca|senhor|senhora) que",
        r"(?:ligou|ligaram|discou|discaram|ligaste) errado",
        r"errou (?:o )?numero",
        r"nao (?:e|sou) (?:eu|ele|ela|essa pessoa|esse cara|esse homem|essa mulher|o dono|a dona|essa senhora|esse senhor)\b(?! que)",
        r"nao (?:e|sou) (?:o|a|essa|esse) (?!valor|divida|conta|cobranca|caso|momento|hora|numero\b|bem|certo|problema|que|meu|minha|dia|mesmo|mesma)[a-z]{3,}(?: \w+)?$",
        r"(?:nao|nunca) (?:conheco|ouvi falar|conheci|sei quem e) (?:de )?(?:nenhum|nenhuma|ninguem|essa pessoa|esse (?:cara|nome|fulano|senhor|rapaz|homem|moco)|"
        r"essa (?:senhora|moca|mulher|menina|fulana)|ele|ela|dele|dela|desse nome|dessa pessoa|o \w+|a \w+|quem)\b(?! (?:divida|cobranca|empresa|conta))",
        r"nao tem (?:ninguem|nenhum|nenhuma)\w* (?:\w+ ){0,2}?(?:com esse nome|chamad\w+|aqui)",
        r"(?:nao|ninguem) mora (?:ninguem )?(?:mais )?(?:aqui|nessa casa|neste endereco)",
        r"nao (?:mora|trabalha|fica) mais aqui",
        r"aqui nao (?:tem|mora|existe) (?:nenhum|nenhuma|ninguem)",
        r"(?:esse|este) (?:numero|telefone) (?:\w+ ){0,2}?(?:e meu|nao e (?:mais )?(?:dele|dela|dessa pessoa))",
        r"nao e (?:mais )?(?:dele|dela) (?:esse|este|o) (?:numero|telefone)",
        r"(?:peguei|comprei|tenho|ganhei) (?:esse|este) (?:numero|telefone|chip)",
        r"(?:esse|este) (?:numero|telefone|chip) (?:\w+ ){0,2}?(?:comprei|peguei|ganhei|tenho faz|e meu)",
        r"(?:esse|este) (?:numero|telefone|chip) (?:\w+ )?(?:e|ta|eh) novo",
        r"(?:numero|telefone) (?:era|e) de outra pessoa",
        r"nao e (?:aqui|daqui|dessa casa)",
        r"ninguem com esse nome",
        r"voces? (?:se )?(?:enganou|enganaram|errou|erraram)",
        r"(?:ta|tao|estao|esta) enganad\w*",
        r"nao e comigo",
        r"nao sou (?:eu )?(?:essa|esse) (?:pessoa|ai)",
        r"sou eu nao(?! (?:tem|ha|precisa|se preocupe|tem problema|e problema))",
        r"nao (?:conheco|sei quem e)(?: (?:nao|ele|ela|essa pessoa|esse nome|esse|essa|esse cara|essa mulher)(?: ai)?)?$",
        r"nao moro com (?:ele|ela)",
    ),
    "not_available": _rx(
        _THIRD + r" (?:\w+ )?(?:nao (?:ta|to|se encontra|esta|pode (?:atender|falar|vir)|chegou|voltou|ta em casa)|"
        r"(?:ta|esta|foi|saiu|ja saiu|ja foi) (?:pra |pro |no |na |de |a |em |numa |num )?(?:\w+ )?(?:trabalh\w+|servico|viag\w+|viaj\w+|dormindo|banho|rua|fora|"
        r"ocupad\w|hospital|internad\w|medico|mercado|igreja|escola|faculdade|feira|banco|sitio|roca|ferias|reuniao|aula|consulta|plantao|academia)|saiu|viajou|dormiu|"
        r"so (?:chega|volta|vem)|(?:chega|volta) (?:mais tarde|a noite|de noite|depois|amanha|so))",
        r"nao se encontra",
        r"(?:nao ta|nao esta) (?:no momento|agora|em casa)",
        r"(?:quer|gostaria de|deseja|pode) deixar (?:um |algum )?recado",
        r"(?:posso|quer que eu) (?:anotar|pegar|dar|passar) (?:o |um )?recado",
        r"deixa (?:o |um )?recado",
        r"aqui e (?:a |o )?(?:mae|pai|esposa|marido|filh\w+|irm\w+|vizinh\w+|colega|sogr\w+|namorad\w+|tia|tio|avo|neta|neto) dele\w*",
        r"aqui e (?:a |o )?(?:mae|pai|esposa|marido|filh\w+|irm\w+|vizinh\w+|colega|sogr\w+|namorad\w+|tia|tio|avo) dela",
        r"(?:sou|falando com|fala com|aqui quem fala e) (?:a |o )?(?:mae|pai|esposa|marido|filh\w+|irm\w+|vizinh\w+|colega|sogr\w+|namorad\w+|tia|tio|avo|neta|neto) (?:dele|dela)",
        r"(?:ele|ela) ta (?:no|na) (?:trabalho|rua|servico|escola|igreja|faculdade)",
        r"(?:ele|ela) nao ta\b",
    ),
    "already_paid": _rx(
        r"ja (?:\w+ )?(?:paguei|pagamos|pagou|pago|quitei|quitamos|quitou|quitad\w|acertei|acertamos|depositei|transferi|paga|"
        r"regularizei|resolvi|liquidei|saldei)",
        r"(?<!nao )(?<!ainda nao )(?:paguei|quitei|quitamos|pagamos|liquidei)\b",
        r"(?:ta|esta|foi|tudo|ficou) (?:tudo )?(?:pago|paga|quitad\w|liquidad\w)\b",
        r"(?:tenho|ta aqui|guardei|mando|envio|posso mandar|mandei|enviei|encaminhei) (?:o |um |os )?comprovante",
        r"comprovante de pagamento",
        r"pagamento (?:ja )?(?:foi |ta |esta )?(?:feito|efetuado|realizado|compensado|confirmado)",
        r"ja (?:fiz|efetuei|realizei|mandei|enviei) (?:o |um |a )?(?:pagamento|pix|deposito|transferencia|ted|doc)",
        r"(?:fiz|efetuei|realizei) o pagamento (?:ontem|semana passada|mes passado|hoje|dia|ja|faz)",
        r"ja (?:ta|esta) (?:em dia|resolvido|regularizado|certo|acertado)",
        r"ja (?:fiz|fechei) (?:um |o )?acordo",
        r"ja negociei",
        r"(?:fiz|mandei) o pix (?:ontem|hoje|ja|semana passada)",
    ),
    "dispute": _rx(
        r"(?:nao|nunca) (?:reconheco|reconheci|devo|devia|to devendo|estou devendo|fiz (?:essa |esse |nenhuma |nenhum )?(?:compra|divida|emprestimo|cartao|"
        r"contrato|financiamento|crediario)|contratei|comprei|assinei|autorizei|pedi|solicitei|tive (?:conta|cartao|emprestimo)|usei|abri)",
        r"nao (?:tenho|tinha) (?:nenhuma |essa )?(?:divida|debito|conta|cartao|pendencia)",
        r"(?:golpe\w*|golpist\w*|fraud\w*|estelionat\w*|picaret\w*|farsa)",
        r"(?:isso|isso ai|isso aqui|essa \w+|esse \w+|a divida|a conta)(?<!numero)(?<!telefone) nao e (?:meu|minha|meus|minhas)\b",
        r"desconhec\w* (?:essa |esse |esta |este |a |o )?(?:divida|cobranca|valor|debito|compra|conta)",
        r"(?:isso|so pode) (?:e |ser |so pode ser )?(?:piada|brincadeira|palhacada|sacanagem)",
        r"(?:cobranca|divida|valor|conta|cobrando|debito|juros|cobranca) (?:\w+ ){0,2}?(?:indevid\w*|abusiv\w*|errad\w*|absurd\w*|injust\w*|a mais|ilegal|duplicad\w*|exorbitant\w*)",
        r"(?:isso|ta|esta|valor|conta) (?:ta |esta |e )?(?:muito )?(?:errado|errada)(?= (?:o valor|a divida|essa cobranca|a conta))",
        r"nao e (?:esse|este) (?:o )?valor",
        r"(?:valor|cobranca|divida|conta|juros|multa) (?:\w+ ){0,2}?(?:muito |bem |mais )?(?:alt[oa]|car[oa]|absurd\w*)",
        r"nao (?:me )?(?:lembro|recordo) (?:de )?(?:ter |dessa |desse |disso |nenhuma |nenhum )",
        r"valor (?:\w+ ){0,2}?(?:nao (?:confere|bate|e esse)|ta errado|esta errado)",
        r"(?:que|qual) (?:divida|cobranca|debito|emprestimo|compra)\b(?! (?:de|do|da) )",
        r"(?:prescreveu|prescrita|prescrito|caducou|caduca)",
        r"(?:advogado|procon|justica|processar|processo|reclame aqui|denunciar|denuncia|policia)",
        r"(?:essa|esta|a) (?:divida|conta|cobranca) nao e (?:minha|meu)",
        r"nao e minha (?:divida|conta)",
        r"clonad\w*|clonaram|usaram (?:o )?meu (?:nome|cpf)|roubaram (?:meus documentos|meu cpf|minha identidade)",
        r"contest\w*",
        r"(?:isso|essa divida|essa cobranca) (?:nao existe|e mentira|e invencao)",
        r"(?:mentira|mentiroso\w*)",
        r"nao fui eu (?:que|quem)",
        r"(?:quero|preciso) (?:ver |de |receber )?(?:a |o )?(?:comprovacao|prova|contrato|detalhamento)",
        r"(?:de onde|da onde) (?:veio|vem|saiu) (?:essa|esse|isso)",
        r"nao sei (?:de )?(?:que|qual) divida",
        r"nao devo nada",
        r"cobrando (?:errado|a mais|demais|juros)",
        r"(?:ja )?paguei (?:e|mas) (?:voces? )?(?:continua|continuam) cobrando",
    ),
    "negotiate": _rx(
        r"parcel\w*",
        r"dividir|divide|divid[ei] \w+|dividido",
        r"desconto\w*",
        r"acordo",
        r"negoci\w*",
        r"renegoci\w*",
        r"proposta",
        r"(?:abaixar|baixar|diminuir|reduzir|tirar) (?:\w+ ){0,2}?(?:valor|juros|multa|preco|divida)",
        r"sem (?:os )?juros",
        r"(?:condicao|condicoes) (?:melhor|melhores|especia\w+|de pagamento)",
        r"(?:melhor|outra) condicao",
        r"entrada",
        r"(?:da pra|tem como|consegue|pode) (?:fazer|dar|me dar|arrumar) (?:um |uma )?(?:desconto|precinho|valor melhor|condicao|forca|jeito)",
        r"(?:quanto|qto) (?:fica|sai|da) (?:a vista|parcelado|pra quitar|com desconto)",
        r"prestac\w+",
        r"refinanci\w*",
        r"(?:pagar|pago) (?:aos poucos|por mes|todo mes|mensal\w*)",
        r"\d+ x",
        r"(?:valor|parcela) menor",
        r"(?:valor|quanto) (?:\w+ ){0,2}?(?:pra|para) (?:quitar|liquidar)",
        r"quitacao",
        r"(?:preco|precinho|valor|condicao) (?:melhor|menor|mais baixo|especial|camarada)",
        r"\d+ (?:reais )?(?:por mes|mensa\w+|todo mes|cada mes)",
    ),
    "cannot_pay": _rx(
        r"nao (?:\w+ ){0,2}?(?:consigo|conseguir|conseguiria|posso|podendo|conseguindo|tenho como|tem como|da pra|da|vai dar|vou dar conta de|"
        r"tenho condic\w+|tenho (?:dinheiro|grana)|vou|irei|pretendo|quero|(?:vai|vou) ter (?:como|condic\w+)) (?:\w+ ){0,2}?"
        + _PAY,
        r"nao (?:tenho|tem) (?:esse|este|o|essa) (?:dinheiro|grana|valor|quantia)",
        r"nao sei se (?:vou )?(?:consigo|conseguir|posso|da|vai dar)",
        r"(?:sem|nao tenho|nao tem|falta|faltou|acabou o) (?:nenhum |nenhuma |o |um )?(?:dinheiro|grana|condic\w+|emprego|trabalho|salario|renda|um tostao|como|de onde)",
        r"desempregad\w*",
        r"(?:perdi|perdeu) (?:o |meu |a |minha )?(?:emprego|trabalho|servico|renda)",
        r"(?:fui|fiquei|to|estou) (?:demitid\w*|mandad\w* embora|encostad\w*|afastad\w*)",
        r"(?:to|ando|fiquei|ta) (?:muito |meio |bem )?(?:duro|dura|quebrado|quebrada|liso|lisa|apertad\w+|enrolad\w+|endividad\w+|zerad\w|falid\w|sem nada|na pior|no vermelho)",
        r"(?<!ligacao )(?<!linha )(?<!sinal )(?<!som )(?<!audio )(?:ta|esta|anda|tá|ficou|a coisa ta|a situacao ta|as coisas tao) (?:muito |meio |bem )?(?:dificil|complicad\w|apertad\w|osso|feia|brab\w|foda|puxad\w|dura|ruim|critic\w)",
        r"impossivel",
        r"passando (?:por )?(?:uma |umas |muita |muitas )?(?:necessidade|dificuldade\w*|fome|aperto|sufoco)",
        r"(?:salario|dinheiro|grana|renda|aposentadoria|beneficio) (?:\w+ )?(?:nao da|nao cobre|nao chega|mal da|nao sobra)",
        r"nao (?:da|vai dar|rola) pra mim\b",
        r"(?:grana|dinheiro|orcamento|situacao|coisa|vida) (?:ta |esta |anda |tá )?(?:muito |meio |bem )?(?:curt\w|apertad\w|dificil|complicad\w|feia|osso|brava)",
        r"(?:vai ser|vai ficar|ta|fica|e|esta) (?:muito |meio |bem )?(?:dificil|complicado|impossivel|puxado|pesado) (?:pra mim |pra eu |eu )?"
        + _PAY,
        r"nao (?:vou|vai|irei) ter (?:\w+ )?(?:dinheiro|grana|como|condic\w+)",
        r"dificuldade financeira",
        r"(?:esse|este|neste|nesse) mes (?:\w+ )?nao (?:da|vai dar|consigo|tem como|posso|rola)",
        r"nao (?:sobra|sobrou|tenho nem) ",
        r"nem pra comer",
        r"nao (?:recebi|caiu) (?:o |meu |ainda |o meu )?(?:salario|pagamento|beneficio|aposentadoria)",
        r"nao tenho previsao",
        r"nao sei quando (?:vou |eu )?(?:poder|posso|consigo|conseguir|vou conseguir)",
        r"(?:to|estou|fiquei) (?:doente|internad\w|de atestado)",
        r"sem previsao",
        r"(?:to|estou) sem (?:condic\w+|dinheiro|grana|trabalho|emprego)",
        r"mas nao (?:consigo|posso|da|tenho como|vai dar)(?: nao)?$",
        r"^(?:nao )*(?:nao consigo|nao posso|nao da|nao tenho|nao vai dar|nao tenho como|nao tem como|nao vou conseguir)(?: nao)?(?: nao senhora| nao senhor)?$",
        r"(?:ta|esta) (?:fora|acima) do meu orcamento",
        r"nao cabe no (?:meu )?orcamento",
    ),
    "promise_to_pay": _rx(
        r"(?:vou|vo|irei|posso|consigo|consigu\w+|da pra|dou um jeito de|prometo|pretendo|devo|quero|vamos|vai dar pra|tento|vou tentar|eu ia|"
        r"pode deixar que (?:eu )?|dou conta de|posso estar) (?:\w+ ){0,2}?(?:"
        + _PAY[3:-1]
        + r"|fazer o (?:pix|pagamento|deposito)|mandar o pix|pagar o boleto|resolver|limpar)",
        r"(?<!ja )(?<!ta )(?<!foi )(?<!esta )(?:pago|pagarei|pagaria|quito|quitarei|acerto|deposito|transfiro|faco o pix|mando o pix|faco o pagamento)\b",
        r"(?:manda|mande|envia|envie|gera|gere|pode mandar|pode enviar|me passa|qual e?) (?:\w+ ){0,2}?(?:boleto|chave pix|pix|codigo de barras|linha digitavel)",
        r"(?:fica|pode ser|pode marcar|marca|agenda|agendar|combinado|fechado) (?:\w+ ){0,2}?(?:pra |para |no |na )?(?:dia \d|dia primeiro|amanha|depois de amanha|hoje|segunda|terca|quarta|quinta|sexta|sabado|domingo|\d+/\d+|fim do mes|final do mes)",
        r"consigo (?:\w+ )?(?:dia|amanha|hoje|ate|segunda|terca|quarta|quinta|sexta|sabado|no fim|no final|semana que vem|mes que vem|quando)",
        r"(?:recebo|recebendo|quando receber|assim que receber|quando cair|assim que cair|quando entrar)\w* (?:\w+ ){0,4}?(?:pago|eu pago|pagar|quito|acerto|resolvo)",
        r"(?:eu )?(?:pago|acerto|quito|resolvo) (?:\w+ )?(?:quando|assim que)",
    ),
    "callback": _rx(
        r"(?:liga|ligue|ligar|liguem|ligam|retorna|retorne|retornar|retornem|chama|telefona|telefone|volta a ligar|tenta)\w* (?:\w+ ){0,3}?"
        r"(?:mais tarde|depois|outra hora|outro dia|outro horario|amanha|semana que vem|a noite|de noite|a tarde|de tarde|de manha|"
        r"segunda|terca|quarta|quinta|sexta|sabado|domingo|as \d|as uma|as duas|la pelas|pelas|depois d|daqui|dia \d|em outro|mais pro|no horario|"
        r"mais cedo|na hora do almoco|no almoco|\d+ horas|\d+:\d+|meio dia|ao meio dia|numa outra|em uma outra)",
        r"(?:pode|podem|poderia|poderiam|consegue|da pra) (?:me )?(?:ligar|retornar|chamar|telefonar)\b",
        r"(?<!nao )me (?:liga|ligue|liguem|retorna|retornem|chama)\b",
        r"agora nao (?:\w+ )?(?:posso|da|consigo|tenho tempo|e uma boa hora|e um bom momento)\b(?! (?:\w+ )?"
        + _PAY
        + r")",
        r"nao (?:posso|consigo|da pra|tenho como|to podendo) (?:\w+ )?(?:falar|atender|conversar|ouvir)",
        r"(?:to|estou|ando) (?:\w+ ){0,4}?(?:ocupad\w|dirigindo|no trabalho|trabalhando|reuniao|no mercado|no supermercado|na farmacia|no banco|"
        r"na academia|na faculdade|na escola|no aeroporto|viajando|de plantao|no plantao|no onibus|no transito|no medico|"
        r"na rua|no hospital|almocando|sem tempo|com pressa|na correria|atendendo|no volante|no servico|numa consulta|em aula|na aula|no culto|na igreja|no metro)",
        r"(?:mais tarde|outra hora|em outro momento|outro horario|numa outra hora|em outra hora|outro dia)\b",
        r"depois (?:eu|a gente) (?:\w+ )?(?:retorno|ligo|falo|conversa|fala|resolvo)",
        r"eu (?:te |lhe )?(?:retorno|ligo de volta)",
        r"nao e (?:uma )?(?:boa hora|bom momento|um bom momento|uma boa)",
        r"^(?:agora nao|depois|agora nao da|nao agora)$",
        r"(?:liga|ligue) (?:de )?novo",
        r"(?:me )?liga (?:la )?(?:pelas|as)",
        r"(?:vou|preciso|tenho que|deixa eu|deixe eu|vou ter que) (?:ver|conversar|falar|combinar|consultar) com (?:meu|minha|o meu|a minha) \w+",
        r"(?:te|lhe|pra voce|pra voces) (?:falo|retorno|aviso|dou (?:um )?retorno|dou uma resposta)",
        r"(?:eu )?(?:te |lhe )?(?:ligo|retorno|telefono) (?:pra voce |pra voces )?(?:depois|mais tarde|outra hora|amanha|logo|daqui a pouco|em seguida)",
        r"(?:no|pelo|por|pro meu|no meu|via) (?:whats\w*|zap\w*|wpp|watsap\w*|sms|e ?mail|mensagem|msg)",
        r"(?:manda|mande|envia|envie|me manda) (?:uma? )?(?:mensagem|msg|sms|email)",
    ),
    "repeat": _rx(
        r"repete|repita|repetir|repetiu|repeti",
        r"^(?:como|como e|como e que e|como assim|que|o que|oi|hein|han|ahn|quem|ein|ue|e o que|o que e)$",
        r"nao (?:\w+ ){0,2}?(?:entendi|entendo|ouvi|escutei|compreendi|peguei|captei|escuto|ouco|ouvindo|escutando|entendendo)",
        r"o que (?:que )?(?:voce|a senhora|o senhor|a moca|o moco|voces?)? ?(?:disse|falou|fala|ta falando|quer)",
        r"(?:fala|falar|diz|dizer|diga|fale) (?:\w+ )?(?:de novo|novamente|outra vez|mais (?:devagar|alto|uma vez)|denovo)",
        r"mais (?:devagar|alto|uma vez)",
        r"(?:fala|fale|falar|diz|diga) (?:mais )?devagar",
        r"(?:ta|tá) (?:cortando|picotando|ruim de ouvir|muito baixo)",
        r"(?:ligacao|linha|sinal) (?:ta |esta )?(?:ruim|pessima|falhando|cortando)",
        r"nao deu pra (?:ouvir|entender|escutar)",
        r"como (?:e|que) (?:que )?(?:e|foi)",
        r"(?:quanto|qual) (?:que )?(?:e|era|foi|fica|ficou) (?:o valor )?mesmo",
        r"qual (?:que )?(?:e|era) (?:o valor|a data) (?:mesmo)?",
        r"(?<!eu )(?<!mesmo )(?<!mesma )(?<!proprio )(?<!propria )(?:quem|de onde) (?:ta |esta )?(?:fala|falando|e|ligou|liga)\w*",
        r"sobre o que (?:e|seria)",
        r"(?:que|qual|de que) empresa (?:e|e essa|fala|voces sao)",
        r"(?:que|qual) empresa\b$",
        r"falando com quem",
        r"qual (?:e |era |que e )?(?:o|a) (?:valor|data|quantia|divida|empresa) mesmo",
        r"quanto (?:e|era|que e|que era|ficou|fica|deu|da) mesmo",
        r"^(?:e )?quanto (?:que )?(?:eu )?(?:devo|to devendo|e|que e|ta|fica)$",
        r"^(?:e )?qual (?:e |que e )?(?:o|a) (?:valor|divida|data)$",
        r"o que (?:que )?(?:e|seria) isso",
        r"pode (?:falar|dizer) de novo",
        r"(?<!eu )(?<!sou )(?<!mesmo )(?<!mesma )quem (?:e|fala|ta falando)",
    ),
    "affirm": _rx(
        r"sim",
        r"isso",
        r"exato",
        r"exatamente",
        r"correto",
        r"certo",
        r"certinho",
        r"com certeza",
        r"claro",
        r"uhum",
        r"aham",
        r"hum hum",
        r"sou eu",
        r"e (?:ele|ela|eu)",
        r"eu mesm[oa]",
        r"(?:ele|ela) mesm[oa]",
        r"o proprio",
        r"a propria",
        r"(?:pode|podes) (?:falar|dizer|continuar|seguir|sim|ser)",
        r"pois nao",
        r"^fala(?:ndo)?",
        r"(?:eu|ele|ela) (?:mesm[oa] )?falando",
        r"diga",
        r"ok",
        r"beleza",
        r"ta bom",
        r"ta otimo",
        r"ta certo",
        r"positivo",
        r"confirm\w*",
        r"fechado",
        r"combinado",
        r"perfeito",
        r"otimo",
        r"sem problemas?",
        r"(?<!nao )tem problema nao",
        r"aceito",
        r"concordo",
        r"tudo bem",
        r"sim senhor\w*",
        r"pode",
        r"^ta$",
        r"^e$",
        r"^quero$",
        r"bom dia sou eu",
        r"ta (?:joia|beleza)",
        r"justo",
        r"pode crer",
        r"demorou",
        r"sei sim",
        r"tudo certo",
        r"isso ai",
        r"^e isso$",
        r"^e sim$",
        r"aceito sim",
        r"e (?:o|a) (?:propri[oa]|mesm[oa])",
        r"sou (?:ele|ela)",
        r"^e (?:o|a) (?!seguinte$|que$)\w+$",
        r"(?:ta|esta|voce ta) falando com (?:ele|ela|eu)(?: mesm[oa])?",
        r"^(?:e|sou) (?:o|a) \w+(?: \w+)? falando$",
    ),
    "deny": _rx(
        r"(?<!pois )nao",
        r"negativo",
        r"de jeito nenhum",
        r"nada disso",
        r"nem pensar",
        r"nops",
        r"^nem$",
        r"que nada",
        r"errado",
        r"errada",
        r"de forma nenhuma",
        r"nada a ver",
        r"nunca",
        r"jamais",
        r"nao senhor\w*",
        r"nem a pau",
        r"nem (?:ferrando|fodendo|morto|morta|sonhando|que a vaca tussa)",
        r"nanan\w*",
        r"sem chance",
        r"de jeito maneira",
    ),
}

_ALL_SLOTS = ("date", "amount", "installments", "time")


@dataclass(frozen=True)
class IntentRecord:
    """Everything the NLU needs to know about one intent besides its rule in ``_RULES``. Adding an intent is an
    ``Intent`` member, its rule and one record here (its place in the table is its rank)."""

    intent: Intent
    confidence: float
    """Reported when this intent's rule decides."""
    slots: tuple[str, ...] = ()
    """Slots kept with this intent (others are dropped: a date in "não é o dia 5 que eu devo" is not a promise)."""


# In rank order: when several rules fire in one utterance the first wins (agent first: docs/ARCHITECTURE.md, "The vocabularies").
INTENT_TABLE: tuple[IntentRecord, ...] = (
    IntentRecord(Intent.AGENT, 0.95, _ALL_SLOTS),
    IntentRecord(Intent.DECEASED, 0.9),
    IntentRecord(Intent.UNREACHABLE_PERSON, 0.85),
    IntentRecord(Intent.OPT_OUT, 0.95),
    IntentRecord(Intent.TOO_MANY_CALLS, 0.85),
    IntentRecord(Intent.ASK_SCAM, 0.85),
    IntentRecord(Intent.WRONG_PERSON, 0.9),
    IntentRecord(Intent.NOT_AVAILABLE, 0.85),
    IntentRecord(Intent.HOLD, 0.85),
    IntentRecord(Intent.ASK_ROBOT, 0.9),
    IntentRecord(Intent.ASK_CNPJ, 0.95),
    IntentRecord(Intent.ASK_PROTOCOL, 0.95),
    IntentRecord(Intent.ASK_SOURCE, 0.9),
    IntentRecord(Intent.ALREADY_PAID, 0.9, ("date", "amount")),
    IntentRecord(Intent.DISPUTE, 0.85, ("amount",)),
    IntentRecord(Intent.NEGOTIATE, 0.85, ("date", "amount", "installments")),
    IntentRecord(Intent.ASK_AMOUNT, 0.85),
    IntentRecord(Intent.CANNOT_PAY, 0.85, ("date", "amount")),
    IntentRecord(Intent.PROMISE_TO_PAY, 0.85, ("date", "amount")),
    IntentRecord(Intent.CALLBACK, 0.85, ("date", "time")),
    IntentRecord(Intent.ASK_WHO, 0.85),
    IntentRecord(Intent.REFUSE_DATA, 0.85),
    IntentRecord(Intent.REPEAT, 0.85),
    IntentRecord(Intent.DENY, 0.8, _ALL_SLOTS),
    IntentRecord(Intent.AFFIRM, 0.8, _ALL_SLOTS),
)
_PRIORITY: tuple[str, ...] = tuple(str(r.intent) for r in INTENT_TABLE)
_CONFIDENCE: dict[str, float] = {str(r.intent): r.confidence for r in INTENT_TABLE}
_SLOT_INTENTS: dict[str, tuple[str, ...]] = {str(r.intent): r.slots for r in INTENT_TABLE if r.slots}
_NEGATED_BEFORE = re.compile(
    r"\b(?:nao|nem|nunca|jamais)(?: (?:eu|me|te|lhe|se|mais|ainda|sei se|sei|to|ta|da|nao|ja|vou|ia))?\s*$"
)
# Intents whose keywords flip meaning when a negation comes right before them.
_NEGATABLE = frozenset({"affirm", "promise_to_pay", "callback", "already_paid", "agent"})


def _negated(intent: str, text: str, match: re.Match[str]) -> bool:
    if intent not in _NEGATABLE or match.group(0).startswith(("nao", "nem")):
        return False
    prefix = text[: match.start()]
    if intent == "agent":
        return bool(_AGENT_NEGATED.search(prefix))
    return bool(_NEGATED_BEFORE.search(prefix))


_AGENT_NEGATED = re.compile(
    r"\b(?:nao|nem) (?:quero|preciso|precisa|vou|gosto)(?: (?!quero\b|queria\b|preciso\b|mas\b)\w+){0,3}\s*$"
)


def _matches(text: str) -> dict[str, tuple[int, int, str]]:
    """Non-negated match of each intent: {intent: (position, matched text)}.

    The first match is kept, except for promise and cannot_pay, which compete by position
    ("nao consigo dia 10 mas pago dia 20"), so their last match is kept.
    """
    found: dict[str, tuple[int, int, str]] = {}
    for intent, rx in _RULES.items():
        for m in rx.finditer(text):
            if _negated(intent, text, m):
                continue
            found[intent] = (m.start(), m.end(), m.group(0))
            if intent not in ("promise_to_pay", "cannot_pay"):
                break
    return found


_VOCATIVE_RE = re.compile(
    r"(?:^| )(\w+) (?:moca|moco|senhora|senhor|amiga|amigo|querida|querido|meu filho|minha filha|meu bem|meu querido|minha querida|"
    r"meu amigo|minha amiga|dona|seu|cara|mano|mana|viu|ta)$"
)
_NOT_BEFORE_VOCATIVE = frozenset(
    {
        "a",
        "o",
        "uma",
        "um",
        "essa",
        "esse",
        "esta",
        "este",
        "da",
        "do",
        "com",
        "pra",
        "para",
        "na",
        "no",
        "dessa",
        "desse",
        "sim",
        "nao",
        "que",
        "ta",
        "e",
        "sou",
        "meu",
        "minha",
        "falar",
    }
)


def _without_vocative(text: str) -> str:
    """Drop a trailing form of address so whole-utterance rules still match: "hein moca" -> "hein".

    "sim senhora", "nao senhor" and "essa moca" keep it: there it is part of the answer or the object.
    """
    m = _VOCATIVE_RE.search(text)
    if m is None or m.group(1) in _NOT_BEFORE_VOCATIVE:
        return text
    return text[: m.start(1) + len(m.group(1))]


_VAGUE_RE = _rx(
    r"semana que vem",
    r"mes que vem",
    r"proxima semana",
    r"proximo mes",
    r"quando (?:eu )?(?:receber|puder|der|conseguir)",
    r"(?:comeco|inicio) do mes",
    r"assim que (?:der|puder|receber)",
)
_THIRD_PARTY_RE = re.compile(r"\b(?:ele|ela)\b(?! mesm)")


def _decide(
    found: dict[str, tuple[int, int, str]],
    has_date: bool,
    has_amount: bool,
    has_installments: bool,
    has_time: bool,
    text: str,
    question: bool = False,
) -> tuple[str, str]:
    """Pick one intent from the fired rules; returns (intent, reason)."""
    names = set(found)
    if "ask_scam" in names:
        scam = found["ask_scam"]
        doubtful = question or re.match(r"(?:sera|como|isso nao e|nao e)", scam[2]) is not None
        denial = "dispute" in names and not re.search(r"golp|fraud|farsa|picaret", found["dispute"][2])
        if denial or not doubtful:
            names.discard("ask_scam")  # "isso é golpe" said as a statement, or a denial of the debt: a dispute
        else:
            names.discard("dispute")
    if "ask_robot" in names and "agent" in names:
        robot, agent = found["ask_robot"], found["agent"]
        if robot[0] <= agent[0] and agent[1] <= robot[1]:
            names.discard("agent")  # "você é uma pessoa de verdade?" asks what we are; it does not ask for a person
    if "hold" in names and names & {"promise_to_pay", "cannot_pay", "negotiate", "already_paid", "callback"}:
        names.discard("hold")  # "um momento, vou pegar o boleto pra pagar": the answer is the payment
    if "wrong_person" in names and "not_available" in names:
        names.discard("not_available")
    if "not_available" in names and "callback" in names:
        names.discard("callback")  # a third party asking us to call back later: still the debtor is out
    if "dispute" in names and "already_paid" in names:
        if re.search(r"paguei|pago|quitei", found["already_paid"][2]):
            names.discard("dispute")
    if "promise_to_pay" in names and "cannot_pay" in names:
        # later clause wins, and a promise that carries a date or amount wins over a general complaint
        promise, cannot = found["promise_to_pay"], found["cannot_pay"]
        inside = cannot[0] <= promise[0] and promise[1] <= cannot[1]  # "nao sei quando vou poder pagar"
        but = re.search(r"\bmas\b", cannot[2])
        if inside and but and promise[0] >= cannot[0] + but.end():
            inside = False  # "ainda nao paguei mas vou pagar dia 10": the clause after "mas" is the answer
        if not inside and (promise[0] > cannot[0] or has_date or has_amount):
            names.discard("cannot_pay")
        else:
            names.discard("promise_to_pay")
    if "negotiate" in names and "cannot_pay" in names:
        names.discard("cannot_pay")  # "nao consigo pagar tudo, da pra parcelar?" asks for a deal
    if "callback" in names and "promise_to_pay" in names:
        names.discard("callback")
    if "callback" in names and "cannot_pay" in names:
        if re.search(r"falar|atender|conversar", found["callback"][2]):
            names.discard("cannot_pay")
        else:
            names.discard("callback")
    if (
        "repeat" in names
        and names - {"repeat", "affirm", "deny"}
        and not re.search(
            r"repet|entend|ouvi|escut|de novo|novamente|devagar|alto|ligacao|linha|sinal|cortando", found["repeat"][2]
        )
    ):
        names.discard("repeat")
    if has_installments and names & {"promise_to_pay", "cannot_pay", "callback"}:
        names -= {"promise_to_pay", "cannot_pay", "callback"}
        names.add("negotiate")
        found.setdefault("negotiate", (0, 0, "installments"))
    for intent in _PRIORITY:
        if intent in names:
            return intent, f"{intent}: '{found[intent][2]}'"
    if has_installments:
        return "negotiate", "negotiate: installments mentioned"
    if has_date or has_amount:
        return "promise_to_pay", "promise_to_pay: a date or amount given as an answer"
    if has_time:
        return "callback", "callback: a time given as an answer"
    if _VAGUE_RE.search(text):
        return "promise_to_pay", "promise_to_pay: a vague time to pay"
    return "unknown", "no rule matched"


def parse(text: str, today: date, context: Asked | str | None = None, debtor_name: str = "") -> NluResult:
    """Understand one utterance said on ``today`` (dates resolve relative to it).

    ``context`` is what the bot just asked (``ivr.vocabulary.Asked``): the same words mean different things
    as answers to different questions. Answering the identity question (``Asked.IDENTITY`` or ``HOLD``), the
    reply is read by ``ivr.language.identity.read_identity`` against ``debtor_name``: only an explicit
    confirmation is ``affirm``.
    """
    result = _parse(text, today)
    if context == Asked.CALLBACK and result.intent in ("promise_to_pay", "affirm", "unknown", "callback"):
        # Answering "quando posso ligar?", a day or a part of the day is the callback time.
        norm = normalize(text)
        tm = _find_time(norm)[0]
        if tm is not None or result.date is not None:
            return NluResult(
                "callback",
                result.date,
                time=tm,
                confidence=0.7,
                evidence=f"callback: a day or time answering the callback question; {result.evidence}",
            )
    if context == Asked.CALLBACK and result.time is None and result.date is None:
        # "vinte e uma e um" answering "a que horas?": a bare number is a clock time here.
        m = re.fullmatch(r"(?:(?:as|a|pelas|umas) )?(\d{1,2})(?: e (meia|um|\d{1,2}))?(?: horas?)?", normalize(text))
        if m and int(m.group(1)) <= 23:
            minute = (
                {"meia": 30, "um": 1, None: 0}.get(m.group(2)) if not (m.group(2) or "").isdigit() else int(m.group(2))
            )
            hour = int(m.group(1)) + (12 if 1 <= int(m.group(1)) <= 7 else 0)
            if minute is not None and minute <= 59:
                return NluResult(
                    "callback",
                    time=time(hour, minute),
                    confidence=0.7,
                    evidence=f"callback: a bare time answering the callback question; {result.evidence}",
                )
    bare = re.fullmatch(
        r"(?:(?:o|no|dia|uns|umas|so|tipo|em|de) )*(\d+(?:\.\d+)?)(?: (?:reais|vezes|x|parcelas))?", normalize(text)
    )
    if bare and result.intent in ("unknown", "promise_to_pay", "affirm", "negotiate"):
        # A number alone is read for the question it answers.
        value = Decimal(bare.group(1))
        whole = int(value) if value == value.to_integral_value() else None
        if context == Asked.DATE and whole is not None and 1 <= whole <= 31:
            day = _day_ahead(today, whole, past=False)
            return NluResult(
                "promise_to_pay",
                date=day,
                confidence=0.7,
                evidence=f"promise_to_pay: day {whole} answering 'which day?'; {result.evidence}",
            )
        if context == Asked.AMOUNT and value >= 1:
            return NluResult(
                "promise_to_pay",
                amount=value,
                confidence=0.7,
                evidence=f"promise_to_pay: {value} answering 'how much?'; {result.evidence}",
            )
        if context == Asked.INSTALLMENTS and whole is not None and 1 <= whole <= 99:
            return NluResult(
                "negotiate",
                installments=whole,
                confidence=0.7,
                evidence=f"negotiate: {whole} answering 'in how many installments?'; {result.evidence}",
            )
    if context in (Asked.IDENTITY, Asked.HOLD):
        from ivr.language.identity import read_identity

        intent, why = read_identity(normalize(text), text, debtor_name, result.intent)
        if intent is not None:
            return NluResult(str(intent), confidence=_CONFIDENCE.get(intent, 0.5), evidence=f"{why}; {result.evidence}")
    return result


def _parse(text: str, today: date) -> NluResult:
    norm = normalize(text)
    if not norm:
        return NluResult("unknown", confidence=1.0, evidence="silence")
    installments, inst_said, inst_span = _find_installments(norm)
    tm, time_said, time_span = _find_time(norm)
    past = bool(
        re.search(
            r"(?<!nao )(?:paguei|quitei|pagamos)|ja (?:\w+ )?(?:pago|paguei|fiz|depositei|transferi|mandei)|ontem", norm
        )
    )
    d, date_said, date_spans = _find_date(norm, today, past)
    blocked = list(date_spans) + [s for s in (inst_span, time_span) if s]
    amount, amount_said = _find_amount(norm, blocked)
    found = _matches(_without_vocative(norm))
    intent, reason = _decide(
        found, d is not None, amount is not None, installments is not None, tm is not None, norm, question="?" in text
    )
    if intent in ("deny", "affirm") and (d is not None or amount is not None) and "callback" not in found:
        # "nao, dia quinze" corrects a read-back: the new date is the answer
        intent, reason = "promise_to_pay", reason + "; a date or amount corrects the read-back"
    if intent in ("deny", "affirm") and installments is not None:
        intent, reason = "negotiate", reason + "; installments"
    if intent in ("deny", "affirm") and tm is not None and d is None:
        intent, reason = "callback", reason + "; a time"
    keep = _SLOT_INTENTS.get(intent, ())
    evidence = [reason]
    d_out = d if "date" in keep else None
    a_out = amount if "amount" in keep else None
    i_out = installments if "installments" in keep else None
    t_out = tm if "time" in keep else None
    if d_out:
        evidence.append(f"date: '{date_said}' -> {d_out.isoformat()}")
    if a_out is not None:
        evidence.append(f"amount: '{amount_said}' -> {a_out}")
    if i_out:
        evidence.append(f"installments: '{inst_said}' -> {i_out}")
    if t_out:
        evidence.append(f"time: '{time_said}' -> {t_out.strftime('%H:%M')}")
    confidence = _CONFIDENCE.get(intent, 0.3)
    if intent == "unknown":
        confidence = 0.2
    elif "as an answer" in reason or "vague" in reason:
        confidence = 0.6
    reason = _hardship(norm) if intent == "cannot_pay" else ""
    if reason:
        evidence.append(f"hardship: {reason}")
    return NluResult(intent, d_out, a_out, i_out, t_out, confidence, "; ".join(evidence), reason)


_HARDSHIP: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "job_loss",
        _rx(
            r"desempregad\w*",
            r"(?:perdi|perdeu) (?:o |meu |a |minha )?(?:emprego|trabalho|servico|renda)",
            r"(?:fui|fiquei|to) (?:demitid\w*|mandad\w* embora)",
            r"sem (?:emprego|trabalho|renda)",
        ),
    ),
    (
        "illness",
        _rx(
            r"(?:to|estou|fiquei|ando|tava) (?:muito )?(?:doente|internad\w|de atestado|hospitalizad\w)",
            r"(?:cancer|tratamento|cirurgia|quimio\w*|doenca|hospital)",
        ),
    ),
    ("no_food", _rx(r"nem pra comer", r"passando (?:por )?(?:fome|necessidade)", r"nao tenho (?:nem )?o que comer")),
)


def _hardship(norm: str) -> str:
    """Which hardship a "cannot pay" names, if any: the dialog then offers care, not a payment plan."""
    return next((name for name, rx in _HARDSHIP if rx.search(norm)), "")
