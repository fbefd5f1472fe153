"""Brazilian Portuguese number words in both directions: cardinals to words, and spoken words back to integers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ivr.br.text import fold

_UNITS_M = (
    "zero",
    "um",
    "dois",
    "três",
    "quatro",
    "cinco",
    "seis",
    "sete",
    "oito",
    "nove",
    "dez",
    "onze",
    "doze",
    "treze",
    "quatorze",
    "quinze",
    "dezesseis",
    "dezessete",
    "dezoito",
    "dezenove",
)
_TENS = ("", "", "vinte", "trinta", "quarenta", "cinquenta", "sessenta", "setenta", "oitenta", "noventa")
_HUNDREDS_M = (
    "",
    "cento",
    "duzentos",
    "trezentos",
    "quatrocentos",
    "quinhentos",
    "seiscentos",
    "setecentos",
    "oitocentos",
    "novecentos",
)
# (value, singular, plural); "mil" has no plural and never takes "um" in front.
_SCALES = (
    (10**12, "trilhão", "trilhões"),
    (10**9, "bilhão", "bilhões"),
    (10**6, "milhão", "milhões"),
    (1000, "mil", "mil"),
)


def _feminize(word: str) -> str:
    if word == "um":
        return "uma"
    if word == "dois":
        return "duas"
    if word.endswith("entos"):
        return word[:-5] + "entas"
    return word


def _below_thousand(n: int, feminine: bool) -> str:
    """Words for 0 < n < 1000."""
    if n == 100:
        return "cem"
    parts: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append(_HUNDREDS_M[hundreds])
    if rest:
        if rest < 20:
            parts.append(_UNITS_M[rest])
        else:
            tens, unit = divmod(rest, 10)
            parts.append(_TENS[tens] + (" e " + _UNITS_M[unit] if unit else ""))
    words = " e ".join(parts)
    if feminine:
        words = " ".join(_feminize(w) for w in words.split(" "))
    return words


def number_to_words(n: int, feminine: bool = False) -> str:
    """Cardinal in words: 1234 -> "mil duzentos e trinta e quatro"; feminine gives "duas", "duzentas"."""
    if n < 0:
        return "menos " + number_to_words(-n, feminine)
    if n == 0:
        return "zero"
    groups: list[tuple[int, str]] = []  # (count within the class, words) from the highest class down
    rest = n
    for value, singular, plural in _SCALES:
        count, rest = divmod(rest, value)
        if not count:
            continue
        if value == 1000:
            # Thousands agree with a feminine noun ("duzentas mil pessoas"); millions are masculine nouns.
            words = "mil" if count == 1 else _below_thousand(count, feminine) + " mil"
        else:
            words = number_to_words(count) + " " + (singular if count == 1 else plural)
        groups.append((count, words))
    if rest:
        groups.append((rest, _below_thousand(rest, feminine)))
    # "e" joins two classes when the lower one is below one hundred or a round hundred (mil e duzentos,
    # mil e cinquenta, um milhão e duzentos mil, um milhão e mil e um); otherwise no conjunction
    # (mil duzentos e trinta e quatro, um milhão duzentos e cinquenta mil).
    spoken = groups[0][1]
    for count, words in groups[1:]:
        spoken += (" e " if count < 100 or count % 100 == 0 else " ") + words
    return spoken


def strip_accents(text: str) -> str:
    """Lower-case ASCII folding used for matching: "Três" -> "tres"."""
    return fold(text)


# Spoken words to values, keyed without accents. Colloquial diminutives are common on the phone.
_WORD_VALUES: dict[str, int] = {
    "zero": 0,
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "sete": 7,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "onze": 11,
    "doze": 12,
    "treze": 13,
    "quatorze": 14,
    "catorze": 14,
    "quinze": 15,
    "dezesseis": 16,
    "dezeseis": 16,
    "dezasseis": 16,
    "dezessete": 17,
    "dezesete": 17,
    "dezoito": 18,
    "dezenove": 19,
    "dezanove": 19,
    "vinte": 20,
    "trinta": 30,
    "quarenta": 40,
    "cinquenta": 50,
    "cincoenta": 50,
    "sessenta": 60,
    "setenta": 70,
    "oitenta": 80,
    "noventa": 90,
    "cem": 100,
    "cento": 100,
    "duzentos": 200,
    "duzentas": 200,
    "trezentos": 300,
    "trezentas": 300,
    "quatrocentos": 400,
    "quatrocentas": 400,
    "quinhentos": 500,
    "quinhentas": 500,
    "seiscentos": 600,
    "seiscentas": 600,
    "setecentos": 700,
    "setecentas": 700,
    "oitocentos": 800,
    "oitocentas": 800,
    "novecentos": 900,
    "novecentas": 900,
    # diminutives and slang heard in collections calls
    "cinquentinha": 50,
    "cinquentinho": 50,
    "cenzinho": 100,
    "cemzinho": 100,
    "duzentinhos": 200,
    "trezentinhos": 300,
    "quinhentinhos": 500,
    "quinhentinho": 500,
    "dezinho": 10,
    "vintinho": 20,
}
_SCALE_WORDS: dict[str, int] = {
    "mil": 1000,
    "milzinho": 1000,
    "milhao": 10**6,
    "milhoes": 10**6,
    "bilhao": 10**9,
    "bilhoes": 10**9,
}
_DIGIT_WORDS: dict[str, str] = {
    "zero": "0",
    "um": "1",
    "uma": "1",
    "dois": "2",
    "duas": "2",
    "tres": "3",
    "quatro": "4",
    "cinco": "5",
    "seis": "6",
    "meia": "6",
    "sete": "7",
    "oito": "8",
    "nove": "9",
}


def is_number_word(token: str) -> bool:
    """Whether one token (accents optional) is a Portuguese number word ("cinco", "vinte", "mil")."""
    t = strip_accents(token)
    return t in _WORD_VALUES or t in _SCALE_WORDS


def _order(value: int) -> int:
    """The slot a word fills inside a class: 3 hundreds, 2 tens, 1 units/teens."""
    if value >= 100:
        return 3
    if value >= 20:
        return 2
    return 1


def scan_numbers(tokens: Sequence[str]) -> list[tuple[int, int, int]]:
    """Find spoken numbers in a token list: [(start, end_exclusive, value)].

    Accepts "e" between parts ("cento e cinquenta e dois", "mil e duzentos") and splits
    sequences that cannot be one number ("dois três" is two numbers, as in digit dictation).
    """
    found: list[tuple[int, int, int]] = []
    keys = [strip_accents(t) for t in tokens]
    i = 0
    n = len(keys)
    while i < n:
        if keys[i] not in _WORD_VALUES and keys[i] not in _SCALE_WORDS:
            i += 1
            continue
        start = i
        total = 0  # completed classes (thousands, millions)
        current = 0  # value of the class being built
        last_order = 4  # nothing placed yet in this class
        last_scale = 10**15
        end = i
        j = i
        while j < n:
            key = keys[j]
            if key == "e" and j + 1 < n and j > start and (keys[j + 1] in _WORD_VALUES):
                j += 1
                continue
            if key in _WORD_VALUES:
                value = _WORD_VALUES[key]
                order = _order(value)
                if order >= last_order or (last_order == 2 and value >= 10):
                    break
                if current == 100 and keys[end - 1] == "cem":
                    break
                current += value
                last_order = order
                end = j + 1
                j += 1
                continue
            if key in _SCALE_WORDS:
                scale = _SCALE_WORDS[key]
                if scale >= last_scale:
                    break
                total += (current or 1) * scale
                current = 0
                last_order = 4
                last_scale = scale
                end = j + 1
                j += 1
                continue
            break
        if end == start:
            i += 1
            continue
        found.append((start, end, total + current))
        i = end
    return found


def words_to_number(text: str) -> int | None:
    """Parse a phrase that is exactly one number ("mil e duzentos" -> 1200), digits allowed; else None."""
    cleaned = strip_accents(text).strip()
    if re.fullmatch(r"\d+", cleaned):
        return int(cleaned)
    m = re.fullmatch(r"(\d+)\s+(mil|milhoes|milhao)", cleaned)
    if m:
        return int(m.group(1)) * _SCALE_WORDS[m.group(2)]
    tokens = cleaned.split()
    if not tokens:
        return None
    spans = scan_numbers(tokens)
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(tokens):
        return spans[0][2]
    return None


def words_to_digits(text: str) -> str | None:
    """Digit dictation ("nove nove meia um") to a digit string; "meia" is six only here, as in phone numbers."""
    out: list[str] = []
    for token in strip_accents(text).split():
        if token.isdigit():
            out.append(token)
        elif token in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[token])
        elif token != "e":
            return None
    return "".join(out) or None
