"""Adversarial review of issue 15 section 4: the stricter of address and DDD, local holidays, calendar files.

Instants are literal UTC; Brasília is UTC-3, Acre UTC-5, Amazonas UTC-4 (west UTC-5), Noronha UTC-2.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ivr.campaign.calendar import load_calendar
from ivr.campaign.rules import Debtor, Policy, check, eligibility


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def code(reason: str) -> str:
    return reason.split(":", 1)[0]


@pytest.mark.parametrize(
    ("phone", "state", "city", "noronha", "instant", "expected", "reason"),
    [
        # A Noronha resident's São Paulo mobile: 17:30 in Brasília is 18:30 on the island, past 18:00.
        ("+5511987654321", "PE", "Fernando de Noronha", False, "2026-11-23T20:30:00Z", False, "outside_hours"),
        ("+5511987654321", "PE", "Fernando de Noronha", False, "2026-11-23T19:30:00Z", True, "within_window"),
        # A DDD 81 number with a Noronha address, flag or not: 08:30 Recife is 09:30 on the island.
        ("+5581987654321", "PE", "Fernando de Noronha", True, "2026-11-23T11:30:00Z", True, "within_window"),
        ("+5581987654321", "PE", "Fernando de Noronha", False, "2026-11-23T11:30:00Z", False, "outside_hours"),
        # DDD 97 (western Amazonas, two zones) with an address in Manaus: 09:30 Manaus is 08:30 in Eirunepé.
        ("+5597991234567", "AM", "Manaus", False, "2026-11-23T13:30:00Z", False, "outside_hours"),
        ("+5597991234567", "AM", "Manaus", False, "2026-11-23T14:00:00Z", True, "within_window"),
        # An SP debtor with an Acre phone, Saturday 08:30 in Brasília: Acre's side (default profile) is closed.
        ("+5568999123456", "SP", "Campinas", False, "2026-12-05T11:30:00Z", False, "closed_day"),
        # ... and at 10:30 Brasília on Saturday it is still closed (SP alone would be open 08-14).
        ("+5568999123456", "SP", "Campinas", False, "2026-12-05T13:30:00Z", False, "closed_day"),
        ("+5511987654321", "SP", "Campinas", False, "2026-12-05T13:30:00Z", True, "within_window"),
    ],
)
def test_zones_of_both_places(
    phone: str, state: str, city: str, noronha: bool, instant: str, expected: bool, reason: str
) -> None:
    decision = check(phone, at(instant), state=state, city=city, noronha=noronha)
    assert (decision.callable, code(decision.reason)) == (expected, reason), decision.reason


def test_noronha_address_through_the_scheduler() -> None:
    """The same rule where the dialer decides (the importer sets ``noronha`` only with a DDD 81 number)."""
    debtor = Debtor(id="1", numbers=("+5511987654321",), state="PE", city="Fernando de Noronha")
    assert not eligibility(debtor, [], at("2026-11-23T20:30:00Z"), Policy()).eligible
    assert eligibility(debtor, [], at("2026-11-23T19:30:00Z"), Policy()).eligible


@pytest.mark.parametrize(
    ("phone", "state", "city", "instant", "expected"),
    [
        # São Paulo's anniversary, 25/01/2027 (a Monday): a DDD 11 number may be in the capital whatever the
        # address, and an address in the capital whatever the number.
        ("+5511987654321", "SP", "São Paulo", "2027-01-25T13:00:00Z", False),
        ("+5521987654321", "SP", "São Paulo", "2027-01-25T13:00:00Z", False),
        ("+5511987654321", None, None, "2027-01-25T13:00:00Z", False),
        ("+5511987654321", "SP", "Guarulhos", "2027-01-25T13:00:00Z", False),
        ("+5519987654321", "SP", "Campinas", "2027-01-25T13:00:00Z", True),  # DDD 19: not the capital's
        # Rio's São Sebastião, 20/01/2027: a Rio number of a debtor living in São Paulo.
        ("+5521987654321", "SP", "Campinas", "2027-01-20T13:00:00Z", False),
        ("+5524987654321", "RJ", "Petrópolis", "2027-01-20T13:00:00Z", True),
        # Manaus's patroness, 08/12 (missing from the shipped table at first; not in the holidays package).
        ("+5592991234567", "AM", "Manaus", "2026-12-08T15:00:00Z", False),
        ("+5592991234567", None, None, "2026-12-08T15:00:00Z", False),
        # The day after, on the boundary: 26/01 00:30 in São Paulo is still 25/01 in Acre, and at 09:00 Acre
        # (11:00 Brasília) on the 26th both places are open.
        ("+5568999123456", "SP", "São Paulo", "2027-01-26T14:00:00Z", True),
    ],
)
def test_municipal_holidays_of_both_places(
    phone: str, state: str | None, city: str | None, instant: str, expected: bool
) -> None:
    decision = check(phone, at(instant), state=state, city=city)
    assert decision.callable is expected, decision.reason
    if not expected:
        assert code(decision.reason) == "holiday"


def test_holiday_in_the_address_city_moves_an_acre_number_past_the_day() -> None:
    """25/01 in São Paulo: an Acre number of a São Paulo resident opens on the 26th at 09:00 Acre."""
    decision = check("+5568999123456", at("2027-01-25T14:00:00Z"), state="SP", city="São Paulo")
    assert not decision.callable and code(decision.reason) == "holiday"
    assert decision.next_open is not None and decision.next_open == at("2027-01-26T14:00:00Z")


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"\xef\xbb\xbfdata;uf;cidade;nome\r\n01/02/2027;SP;S\xc3\xa3o Paulo;Ponte\r\n", None),
        (b"data,uf,cidade,nome\n01/02/2027,SP,S\xc3\xa3o Paulo,Ponte\n", None),  # Excel in English
        ("data;uf;cidade;nome\n01/02/2027;SP;São Paulo;Ponte\n".encode("cp1252"), None),  # Excel's "CSV"
        (b"2027-02-01;sp;sao paulo;Ponte\n", None),
    ],
)
def test_calendar_files_as_spreadsheets_save_them(tmp_path: Path, raw: bytes, encoding: str | None) -> None:
    path = tmp_path / "feriados.csv"
    path.write_bytes(raw)
    calendar = load_calendar(path)
    decision = check("+5511987654321", at("2027-02-01T13:00:00Z"), state="SP", city="São Paulo", calendar=calendar)
    assert not decision.callable and "Ponte" in decision.reason, decision.reason
    other = check("+5521987654321", at("2027-02-01T13:00:00Z"), state="RJ", city="Niterói", calendar=calendar)
    assert other.callable, other.reason
