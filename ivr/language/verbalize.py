"""Text as the bot will speak it: amounts, dates, times, percentages and digit strings written out in pt-BR words for TTS."""

from __future__ import annotations

import re
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from ivr.language.numbers import number_to_words

MONTHS = (
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)
WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
_DIGITS = ("zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove")


def say_number(n: int, feminine: bool = False) -> str:
    """Cardinal in words: say_number(2, feminine=True) -> "duas"."""
    return number_to_words(n, feminine)


def _takes_de(words: str) -> bool:
    # "um milhão de reais" but "um milhão e duzentos mil reais": "de" only right after the big noun.
    return words.endswith(("milhão", "milhões", "bilhão", "bilhões", "trilhão", "trilhões"))


def say_amount(value: Decimal | int | str) -> str:
    """Reais and centavos in words: Decimal("1234.56") -> "mil duzentos e trinta e quatro reais e cinquenta e seis centavos"."""
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = ""
    if amount < 0:
        sign, amount = "menos ", -amount
    reais = int(amount)
    centavos = int((amount - reais) * 100)
    parts: list[str] = []
    if reais:
        words = number_to_words(reais)
        unit = "real" if reais == 1 else "reais"
        parts.append(f"{words} de {unit}" if _takes_de(words) else f"{words} {unit}")
    if centavos:
        parts.append(number_to_words(centavos) + (" centavo" if centavos == 1 else " centavos"))
    if not parts:
        return "zero reais"
    return sign + " e ".join(parts)


def say_weekday(d: date) -> str:
    """Weekday name: "sexta-feira"."""
    return WEEKDAYS[d.weekday()]


def say_date(d: date, weekday: bool = False, year: bool = False) -> str:
    """Day and month as spoken: "cinco de dezembro", "primeiro de dezembro"; optionally "sexta-feira, ..." and the year."""
    day = "primeiro" if d.day == 1 else number_to_words(d.day)
    spoken = f"{day} de {MONTHS[d.month - 1]}"
    if year:
        spoken += " de " + number_to_words(d.year)
    if weekday:
        spoken = f"{say_weekday(d)}, {spoken}"
    return spoken


def say_time(t: time) -> str:
    """Clock time: "nove horas", "uma hora", "quatorze e trinta", "meio-dia", "meia-noite e quinze"."""
    if t.hour == 12:
        hour = "meio-dia"
    elif t.hour == 0:
        hour = "meia-noite"
    else:
        hour = number_to_words(t.hour, feminine=True)
    if t.minute == 0:
        if t.hour in (0, 12):
            return hour
        return hour + (" hora" if t.hour == 1 else " horas")
    return f"{hour} e {number_to_words(t.minute)}"  # minutes are masculine: "treze e um", "nove e vinte e um"


def time_article(t: time) -> str:
    """The contraction before a clock time: "ao meio-dia", "à uma hora", "à meia-noite", "às dez horas"."""
    if t.hour == 12:
        return "ao"
    if t.hour in (0, 1):
        return "à"
    return "às"


def say_time_at(t: time) -> str:
    """ "às dezoito horas", "à uma hora", "ao meio-dia", "à meia-noite" (never "às uma")."""
    return f"{time_article(t)} {say_time(t)}"


def _say_decimal(value: Decimal) -> str:
    """A decimal number with "vírgula": 2.5 -> "dois vírgula cinco"; 1.05 -> "um vírgula zero cinco"."""
    text = format(value.normalize(), "f")
    if "." not in text:
        return number_to_words(int(text))
    whole, frac = text.split(".")
    frac_words = " ".join(_DIGITS[int(c)] for c in frac) if frac.startswith("0") else number_to_words(int(frac))
    return f"{number_to_words(int(whole))} vírgula {frac_words}"


def say_percent(value: Decimal | int | float | str) -> str:
    """Percentage: 2.5 -> "dois vírgula cinco por cento"."""
    return _say_decimal(Decimal(str(value))) + " por cento"


def say_installments(n: int, form: Literal["parcelas", "vezes"] = "parcelas") -> str:
    """Installment count: "três parcelas", "uma parcela"; form="vezes" gives "em três vezes"."""
    if form == "vezes":
        return "em " + number_to_words(n, feminine=True) + (" vez" if n == 1 else " vezes")
    return number_to_words(n, feminine=True) + (" parcela" if n == 1 else " parcelas")


def say_digits(s: str, phone: bool = False) -> str:
    """Digit by digit; separators become short pauses. phone=True says six as "meia", as Brazilians do for numbers."""
    groups = [g for g in re.split(r"[^0-9]+", s) if g]
    names = list(_DIGITS)
    if phone:
        names[6] = "meia"
    return ", ".join(" ".join(names[int(c)] for c in g) for g in groups)


def say_cnpj(cnpj: str) -> str:
    """A CNPJ in its printed groups (12.345.678/0001-90): "doze, três quatro cinco, seis sete oito, barra,
    zero zero zero um, traço, nove zero". Fewer than 14 digits: digit by digit."""
    digits = re.sub(r"\D", "", cnpj)
    if len(digits) != 14:
        return say_digits(digits)
    head = number_to_words(int(digits[:2])) if digits[0] != "0" else say_digits(digits[:2])
    groups = [
        head,
        say_digits(digits[2:5]),
        say_digits(digits[5:8]),
        "barra",
        say_digits(digits[8:12]),
        "traço",
        say_digits(digits[12:]),
    ]
    return ", ".join(groups)


def _brl_to_decimal(text: str) -> Decimal | None:
    """Parse "1.234,56", "1234,56", "1234.56" or "1.234" (thousands) as written in Brazil or by machines."""
    t = text.strip()
    if "," in t:
        t = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", t):
        t = t.replace(".", "")
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SCALED_AMOUNT_RE = re.compile(
    r"R\$\s*(\d+(?:,\d+)?)\s*(mil|milhão|milhões|milhao|milhoes|bilhão|bilhões|bilhao|bilhoes)\b(?:\s+(?:de\s+)?reais\b)?",
    re.IGNORECASE,
)
_SCALES = {
    "mil": 1000,
    "milhão": 10**6,
    "milhões": 10**6,
    "milhao": 10**6,
    "milhoes": 10**6,
    "bilhão": 10**9,
    "bilhões": 10**9,
    "bilhao": 10**9,
    "bilhoes": 10**9,
}
_PHONE_RE = re.compile(r"\(\d{2}\)\s?\d{4,5}-?\d{4}\b|\b0[358]00[\s-]?\d{3}[\s-]?\d{4}\b")
# Feminine nouns a bare number agrees with: "duas parcelas", "vinte e uma horas", "uma vez".
_FEMININE_NEXT_RE = re.compile(
    r"\s+(?:parcelas?|vez|vezes|horas?|prestaç(?:ão|ões)|prestac(?:ao|oes)|semanas?|pessoas?|faturas?|mensalidades?|cobranças?)\b",
    re.IGNORECASE,
)
_AMOUNT_RE = re.compile(rf"R\$\s*({_NUM})(?!\d)|\b({_NUM})\s*(reais|real)\b", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_BR_DATE_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_TIME_RE = re.compile(
    r"(?:(?<![\w])(às|as|à|ás)\s+)?\b([01]?\d|2[0-3])(?::([0-5]\d)(?:hrs|hs|h)?|h([0-5]\d)?)(?:min)?(?![\w:])",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(r"(\d+(?:,\d+)?)\s*%")
_INSTALLMENTS_RE = re.compile(r"\b(\d{1,2})\s*x\b", re.IGNORECASE)
_ORDINAL_RE = re.compile(r"\b(\d{1,2})\s*([ºª°])")
_DIGIT_STRING_RE = re.compile(r"(?<![\d,])(?:\d[\d.\-/*]*\d|\d)(?![\d,])")
_MASKED_DOC_RE = re.compile(r"[\d*]{3}\.[\d*]{3}\.[\d*]{3}-[\d*]{2}")
_PLAIN_NUMBER_RE = re.compile(r"(?<!\w)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?!\w)")
_ORDINALS_M = ("", "primeiro", "segundo", "terceiro", "quarto", "quinto", "sexto", "sétimo", "oitavo", "nono", "décimo")


def _scaled_amount_sub(m: re.Match[str]) -> str:
    """ "R$ 2 mil" -> "dois mil reais", "R$ 1,5 milhão" -> "um milhão e quinhentos mil reais"."""
    value = Decimal(m.group(1).replace(",", ".")) * _SCALES[m.group(2).lower()]
    return say_amount(value)


def _amount_sub(m: re.Match[str]) -> str:
    value = _brl_to_decimal(m.group(1) or m.group(2))
    return m.group(0) if value is None else say_amount(value)


def _iso_date_sub(m: re.Match[str]) -> str:
    try:
        return say_date(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    except ValueError:
        return m.group(0)


def _br_date_sub(m: re.Match[str]) -> str:
    day, month = int(m.group(1)), int(m.group(2))
    year = m.group(3)
    y = 2000 if year is None else int(year) + (2000 if len(year) == 2 else 0)
    try:
        return say_date(date(y, month, day))
    except ValueError:
        return m.group(0)


def _time_sub(m: re.Match[str]) -> str:
    minute = m.group(3) or m.group(4) or "0"
    t = time(int(m.group(2)), int(minute))
    return say_time_at(t) if m.group(1) else say_time(t)


def _percent_sub(m: re.Match[str]) -> str:
    return say_percent(m.group(1).replace(",", "."))


def _ordinal_sub(m: re.Match[str]) -> str:
    n = int(m.group(1))
    if not 1 <= n <= 10:
        return m.group(0)
    word = _ORDINALS_M[n]
    return word[:-1] + "a" if m.group(2) == "ª" else word


def _digit_string_sub(m: re.Match[str]) -> str:
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw)
    # Protocol numbers, CPF pieces and phones are read digit by digit; "1.234" (thousands) is a number.
    if re.search(r"[-/]", raw) or (len(digits) > 1 and digits[0] == "0"):
        return say_digits(raw)
    if len(digits) >= 5 and not re.fullmatch(r"\d{1,3}(\.\d{3})+", raw):
        return say_digits(raw)
    return raw


def _plain_number_sub(m: re.Match[str]) -> str:
    whole = int(m.group(1).replace(".", ""))
    if m.group(2):
        return _say_decimal(Decimal(f"{whole}.{m.group(2)}"))
    return number_to_words(whole, feminine=bool(_FEMININE_NEXT_RE.match(m.string, m.end())))


def verbalize(text: str) -> str:
    """Rewrite free text for TTS: R$ amounts, dates, times, percentages, installments, long digit strings, plain numbers."""
    # A masked CPF keeps only its visible digits, read one by one.
    out = _MASKED_DOC_RE.sub(lambda m: say_digits(m.group(0)), text)
    out = _PHONE_RE.sub(lambda m: say_digits(m.group(0), phone=True), out)
    out = _SCALED_AMOUNT_RE.sub(_scaled_amount_sub, out)
    out = _AMOUNT_RE.sub(_amount_sub, out)
    out = _ISO_DATE_RE.sub(_iso_date_sub, out)
    out = _BR_DATE_RE.sub(_br_date_sub, out)
    out = _TIME_RE.sub(_time_sub, out)
    out = _PERCENT_RE.sub(_percent_sub, out)
    out = _INSTALLMENTS_RE.sub(lambda m: say_installments(int(m.group(1)), form="vezes").removeprefix("em "), out)
    out = _ORDINAL_RE.sub(_ordinal_sub, out)
    out = _DIGIT_STRING_RE.sub(_digit_string_sub, out)
    out = _PLAIN_NUMBER_RE.sub(_plain_number_sub, out)
    return out
