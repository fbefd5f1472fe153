"""Brazilian area codes (DDD): their state and the time zone(s) a call there may land in.

Time zones follow Lei 12.876/2013 (no daylight saving since 2019). The ``phonenumbers`` package is
deliberately not used for this: its Brazilian time zones are wrong for several DDDs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.br.uf import UFS


@dataclass(frozen=True)
class AreaCode:
    ddd: int
    state: str
    """Two-letter UF."""
    timezones: tuple[str, ...]
    """IANA zones the number may be in; more than one means a call must fit the window in all of them."""


_STATE_ZONE = {
    "SP": "America/Sao_Paulo",
    "RJ": "America/Sao_Paulo",
    "ES": "America/Sao_Paulo",
    "MG": "America/Sao_Paulo",
    "PR": "America/Sao_Paulo",
    "SC": "America/Sao_Paulo",
    "RS": "America/Sao_Paulo",
    "DF": "America/Sao_Paulo",
    "GO": "America/Sao_Paulo",
    "TO": "America/Araguaina",
    "BA": "America/Bahia",
    "SE": "America/Maceio",
    "AL": "America/Maceio",
    "PE": "America/Recife",
    "PB": "America/Fortaleza",
    "RN": "America/Fortaleza",
    "CE": "America/Fortaleza",
    "PI": "America/Fortaleza",
    "MA": "America/Fortaleza",
    "PA": "America/Belem",
    "AP": "America/Belem",
    "AM": "America/Manaus",
    "RR": "America/Boa_Vista",
    "RO": "America/Porto_Velho",
    "AC": "America/Rio_Branco",
    "MT": "America/Cuiaba",
    "MS": "America/Campo_Grande",
}
assert set(_STATE_ZONE) == UFS, "every UF needs its time zone"

_DDD_STATE: dict[int, str] = {}
for _state, _codes in {
    "SP": (11, 12, 13, 14, 15, 16, 17, 18, 19),
    "RJ": (21, 22, 24),
    "ES": (27, 28),
    "MG": (31, 32, 33, 34, 35, 37, 38),
    "PR": (41, 42, 43, 44, 45, 46),
    "SC": (47, 48, 49),
    "RS": (51, 53, 54, 55),
    "DF": (61,),
    "GO": (62, 64),
    "TO": (63,),
    "MT": (65, 66),
    "MS": (67,),
    "AC": (68,),
    "RO": (69,),
    "BA": (71, 73, 74, 75, 77),
    "SE": (79,),
    "PE": (81, 87),
    "AL": (82,),
    "PB": (83,),
    "RN": (84,),
    "CE": (85, 88),
    "PI": (86, 89),
    "PA": (91, 93, 94),
    "AM": (92, 97),
    "RR": (95,),
    "AP": (96,),
    "MA": (98, 99),
}.items():
    for _code in _codes:
        _DDD_STATE[_code] = _state

# DDD 97 (interior of Amazonas) spans UTC-4 and UTC-5.
_SPLIT = {97: ("America/Manaus", "America/Eirunepe")}

NORONHA_ZONE = "America/Noronha"
"""Fernando de Noronha (DDD 81, UTC-2): used only when the debtor's address says Noronha."""


_STATE_SPLIT = {"AM": ("America/Manaus", "America/Eirunepe")}
"""States whose territory spans two zones: western Amazonas (Eirunepé, Tabatinga...) is UTC-5."""
_SPLIT_CAPITAL = {"AM": "manaus"}


_CAPITAL_DDD = {
    11: "São Paulo",
    21: "Rio de Janeiro",
    27: "Vitória",
    31: "Belo Horizonte",
    41: "Curitiba",
    48: "Florianópolis",
    51: "Porto Alegre",
    62: "Goiânia",
    63: "Palmas",
    65: "Cuiabá",
    67: "Campo Grande",
    68: "Rio Branco",
    69: "Porto Velho",
    71: "Salvador",
    79: "Aracaju",
    81: "Recife",
    82: "Maceió",
    83: "João Pessoa",
    84: "Natal",
    85: "Fortaleza",
    86: "Teresina",
    91: "Belém",
    92: "Manaus",
    95: "Boa Vista",
    96: "Macapá",
    98: "São Luís",
}
"""The DDD whose area holds each state capital (Anatel numbering plan); Brasília (61) has no municipality."""


def capital_city(ddd: int) -> str | None:
    """The state capital inside DDD ``ddd``'s area (``11`` → ``São Paulo``), or None: a number of that DDD may
    be in the capital, so the capital's municipal holidays apply to it."""
    return _CAPITAL_DDD.get(ddd)


def state_zones(state: str, city_key: str | None = None) -> tuple[str, ...]:
    """IANA zones a person whose address is in ``state`` (UF) may be in: both zones of a split state unless
    ``city_key`` (lower case, no accents) is its capital (Manaus is UTC-4); an address on Fernando de Noronha
    (PE, a city key naming Noronha) is UTC-2."""
    if state == "PE" and city_key is not None and "noronha" in city_key:
        return (NORONHA_ZONE,)
    if state in _STATE_SPLIT and _SPLIT_CAPITAL[state] != city_key:
        return _STATE_SPLIT[state]
    return (_STATE_ZONE[state],)


def area_code(ddd: int) -> AreaCode | None:
    """The AreaCode for a DDD, or None when no such DDD exists."""
    state = _DDD_STATE.get(ddd)
    if state is None:
        return None
    return AreaCode(ddd, state, _SPLIT.get(ddd, (_STATE_ZONE[state],)))
