"""Boleto numbers: the linha digitável and the barcode, validated by their check digits (FEBRABAN rules).

Two families, told apart by the first digit:

- **Bank boletos** (boleto de cobrança, FEBRABAN "Layout Padrão de Código de Barras"): barcode of 44 digits
  ``bank(3) currency(1) DV(1) due factor(4) value(10) free field(25)``; the general DV (position 5) is
  mod 11 over the other 43 digits, weights 2..9 from the right, ``11 - remainder`` with 0, 10 and 11 read
  as 1. The linha digitável has 47 digits in five fields: ``bank+currency+free[0:5]`` + mod10 DV,
  ``free[5:15]`` + mod10 DV, ``free[15:25]`` + mod10 DV, the general DV, ``due factor + value``.
- **Arrecadação / convênio** (utilities, taxes; FEBRABAN "Padrão de Arrecadação"): barcode of 44 digits
  starting with ``8``; the 3rd digit says how the DVs are computed (6 or 7: mod 10; 8 or 9: mod 11 with
  remainder 0 or 1 → 0, 10 → 1); the general DV is position 4, over the other 43 digits. The linha digitável
  has 48 digits: four blocks of 11 barcode digits, each followed by its own DV in the same modulus.

Mod 10 (both families): weights 2, 1, 2, ... from the right, digits of each product summed,
DV = ``(10 - sum % 10) % 10``. No PyPI package was found that validates both families and is maintained;
the rules are short and tested here with published lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.errors import InputError


def mod10(digits: str) -> int:
    """FEBRABAN modulus-10 check digit of ``digits``."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        product = int(d) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def _mod11_sum(digits: str) -> int:
    return sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(digits)))


def mod11_bank(digits: str) -> int:
    """General check digit of a bank boleto barcode (43 digits without it): 0, 10 and 11 become 1."""
    dv = 11 - _mod11_sum(digits) % 11
    return 1 if dv in (0, 10, 11) else dv


def mod11_arrecadacao(digits: str) -> int:
    """Mod 11 of the arrecadação standard: remainder 0 or 1 → 0, remainder 10 → 1, else ``11 - remainder``."""
    rest = _mod11_sum(digits) % 11
    return 0 if rest in (0, 1) else 11 - rest


@dataclass(frozen=True)
class Boleto:
    line: str
    """The linha digitável, digits only (47 for a bank boleto, 48 for arrecadação)."""
    barcode: str
    """The 44 barcode digits."""
    kind: str
    """``bank`` or ``arrecadacao``."""


def _bank_line(barcode: str) -> str:
    free = barcode[19:44]
    f1 = barcode[0:4] + free[0:5]
    f2, f3 = free[5:15], free[15:25]
    return f"{f1}{mod10(f1)}{f2}{mod10(f2)}{f3}{mod10(f3)}{barcode[4]}{barcode[5:19]}"


def _arrecadacao_modulus(barcode_or_line: str) -> str:
    if barcode_or_line[2] in "67":
        return "mod10"
    if barcode_or_line[2] in "89":
        return "mod11"
    raise InputError("boleto de arrecadação: o 3º dígito deve ser 6, 7, 8 ou 9 (identificador de valor)")


def _arrecadacao_dv(modulus: str, digits: str) -> int:
    return mod10(digits) if modulus == "mod10" else mod11_arrecadacao(digits)


def _check_bank_barcode(barcode: str) -> None:
    if mod11_bank(barcode[:4] + barcode[5:]) != int(barcode[4]):
        raise InputError("código de barras do boleto: o dígito verificador geral não confere (erro de digitação?)")


def _check_arrecadacao_barcode(barcode: str) -> None:
    modulus = _arrecadacao_modulus(barcode)
    if _arrecadacao_dv(modulus, barcode[:3] + barcode[4:]) != int(barcode[3]):
        raise InputError("código de barras de arrecadação: o dígito verificador geral não confere (erro de digitação?)")


def parse_boleto(text: str) -> Boleto:
    """A linha digitável (47 or 48 digits) or a barcode (44 digits), with any spaces, dots or dashes.

    Raises ``InputError`` (in Portuguese: the operator fixes the spreadsheet) naming the field whose check
    digit fails, or the length found.
    """
    raw = text.strip()
    digits = re.sub(r"[\s.\-]", "", raw)
    if not digits.isdigit():
        raise InputError("boleto: só dígitos, espaços e pontos são permitidos")
    if len(digits) == 44:
        if digits[0] == "8":
            _check_arrecadacao_barcode(digits)
            modulus = _arrecadacao_modulus(digits)
            blocks = [digits[i : i + 11] for i in range(0, 44, 11)]
            line = "".join(b + str(_arrecadacao_dv(modulus, b)) for b in blocks)
            return Boleto(line=line, barcode=digits, kind="arrecadacao")
        _check_bank_barcode(digits)
        return Boleto(line=_bank_line(digits), barcode=digits, kind="bank")
    if len(digits) == 47:
        fields = ((digits[0:9], digits[9]), (digits[10:20], digits[20]), (digits[21:31], digits[31]))
        for n, (body, dv) in enumerate(fields, start=1):
            if mod10(body) != int(dv):
                raise InputError(f"linha digitável: o dígito verificador do campo {n} não confere (erro de digitação?)")
        barcode = digits[0:4] + digits[32] + digits[33:47] + digits[4:9] + digits[10:20] + digits[21:31]
        _check_bank_barcode(barcode)
        return Boleto(line=digits, barcode=barcode, kind="bank")
    if len(digits) == 48:
        if digits[0] != "8":
            raise InputError("linha digitável de 48 dígitos (arrecadação) deve começar com 8")
        modulus = _arrecadacao_modulus(digits)
        pairs = [(digits[i : i + 11], digits[i + 11]) for i in range(0, 48, 12)]
        for n, (body, dv) in enumerate(pairs, start=1):
            if _arrecadacao_dv(modulus, body) != int(dv):
                raise InputError(f"linha digitável: o dígito verificador do bloco {n} não confere (erro de digitação?)")
        barcode = "".join(body for body, _ in pairs)
        _check_arrecadacao_barcode(barcode)
        return Boleto(line=digits, barcode=barcode, kind="arrecadacao")
    raise InputError(
        f"boleto com {len(digits)} dígitos: a linha digitável tem 47 (bancário) ou 48 (arrecadação) "
        "e o código de barras 44"
    )
