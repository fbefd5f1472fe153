"""The 27 federative units (UF) of Brazil: the one list the project uses (IBGE codes and names)."""

from __future__ import annotations

import re

from ivr.br.text import fold
from ivr.errors import InputError

UF_NAMES: dict[str, str] = {
    "AC": "Acre",
    "AL": "Alagoas",
    "AP": "Amapá",
    "AM": "Amazonas",
    "BA": "Bahia",
    "CE": "Ceará",
    "DF": "Distrito Federal",
    "ES": "Espírito Santo",
    "GO": "Goiás",
    "MA": "Maranhão",
    "MT": "Mato Grosso",
    "MS": "Mato Grosso do Sul",
    "MG": "Minas Gerais",
    "PA": "Pará",
    "PB": "Paraíba",
    "PR": "Paraná",
    "PE": "Pernambuco",
    "PI": "Piauí",
    "RJ": "Rio de Janeiro",
    "RN": "Rio Grande do Norte",
    "RS": "Rio Grande do Sul",
    "RO": "Rondônia",
    "RR": "Roraima",
    "SC": "Santa Catarina",
    "SP": "São Paulo",
    "SE": "Sergipe",
    "TO": "Tocantins",
}
"""UF abbreviation → the state's name (IBGE)."""

UFS = frozenset(UF_NAMES)

_BY_NAME = {fold(name): uf for uf, name in UF_NAMES.items()}


def _key(text: str) -> str:
    return re.sub(r"[^a-z]+", " ", fold(text)).strip()


def parse_uf(text: str) -> str:
    """``"SP"``, ``"sp"``, ``"São Paulo"``, ``"SAO PAULO"`` → ``"SP"``; ``InputError`` otherwise.

    A full state name is what many registration systems export in an ``estado`` column.
    """
    raw = text.strip()
    if raw.upper() in UFS:
        return raw.upper()
    uf = _BY_NAME.get(_key(raw))
    if uf is None:
        raise InputError(f"{raw!r} não é um estado brasileiro: use a sigla (SP, RJ, MG...) ou o nome do estado")
    return uf
