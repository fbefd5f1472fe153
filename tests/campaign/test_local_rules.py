"""Address and DDD in different places: the stricter rules of both; municipal holidays; a campaign calendar.

Every case is a literal instant (DESIGN.md rules table; Lei 12.876/2013 zones; SP Lei 15.426/2014).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.calendar import capitals, city_key, load_calendar, parse_calendar
from ivr.campaign.rules import Debtor, Policy, check, eligibility, intersect_profiles, load_profiles
from ivr.cli import main
from ivr.db.models import Debtor as DebtorRow
from ivr.errors import ConfigError
from ivr.testing.factories import make_campaign, make_debtor


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def code(reason: str) -> str:
    return reason.split(":")[0]


# ------------------------------------------------------------------ time zones of both places
ZONE_CASES = [
    # phone, address UF, instant, callable, timezone, reason code
    # An SP mobile for a debtor living in Acre: 09:30 in São Paulo is 07:30 in Rio Branco.
    ("+5511987654321", "AC", "2026-03-09T12:30:00Z", False, "America/Sao_Paulo,America/Rio_Branco", "outside_hours"),
    ("+5511987654321", "AC", "2026-03-09T14:00:00Z", True, "America/Sao_Paulo,America/Rio_Branco", "within_window"),
    ("+5511987654321", "AC", "2026-03-09T20:59:00Z", True, "America/Sao_Paulo,America/Rio_Branco", "within_window"),
    ("+5511987654321", "AC", "2026-03-09T21:00:00Z", False, "America/Sao_Paulo,America/Rio_Branco", "outside_hours"),
    # An Acre mobile for a debtor in SP: 17:30 in Rio Branco is 19:30 in São Paulo (past 18:00 of SP+default).
    ("+5568999123456", "SP", "2026-03-09T22:30:00Z", False, "America/Rio_Branco,America/Sao_Paulo", "outside_hours"),
    ("+5568999123456", "SP", "2026-03-09T20:30:00Z", True, "America/Rio_Branco,America/Sao_Paulo", "within_window"),
    # ... and Saturday: SP's profile opens it, the Acre side (default profile) does not.
    ("+5568999123456", "SP", "2026-03-14T14:00:00Z", False, "America/Rio_Branco,America/Sao_Paulo", "closed_day"),
    # Same clock, different zone names (Bahia and São Paulo are both UTC-3): one zone.
    ("+5511987654321", "BA", "2026-03-09T12:00:00Z", True, "America/Sao_Paulo", "within_window"),
    # An address in Amazonas outside Manaus may be UTC-5: a Manaus number waits for 09:00 there.
    ("+5592991234567", "AM", "2026-03-09T13:30:00Z", False, "America/Manaus,America/Eirunepe", "outside_hours"),
    ("+5592991234567", "AM", "2026-03-09T14:00:00Z", True, "America/Manaus,America/Eirunepe", "within_window"),
]


@pytest.mark.parametrize(("phone", "state", "instant", "expected", "zone", "reason"), ZONE_CASES)
def test_both_places_zones_must_be_inside_the_window(
    phone: str, state: str, instant: str, expected: bool, zone: str, reason: str
) -> None:
    decision = check(phone, at(instant), state=state)
    assert (decision.callable, decision.timezone, code(decision.reason)) == (expected, zone, reason), decision.reason


def test_reason_and_next_open_name_the_stricter_place() -> None:
    decision = check("+5511987654321", at("2026-03-09T12:30:00Z"), state="AC")
    assert decision.reason == "outside_hours: 07:30 America/Rio_Branco is before 09:00"
    assert decision.local_time.isoformat() == "2026-03-09T09:30:00-03:00"  # the number's zone comes first
    assert decision.next_open is not None and decision.next_open.isoformat() == "2026-03-09T11:00:00-03:00"
    opened = check("+5511987654321", at("2026-03-09T14:00:00Z"), state="AC")
    assert opened.reason.endswith("inside the window in America/Sao_Paulo and America/Rio_Branco")


def test_manaus_address_keeps_one_zone() -> None:
    decision = check("+5592991234567", at("2026-03-09T13:30:00Z"), state="AM", city="Manaus")
    assert (decision.callable, decision.timezone) == (True, "America/Manaus")


def test_no_address_keeps_the_ddd_rules() -> None:
    decision = check("+5568999123456", at("2026-03-09T13:30:00Z"))
    assert (decision.callable, decision.timezone) == (False, "America/Rio_Branco")


# ------------------------------------------------------------------ hours profiles of both states
PROFILE_CASES = [
    # phone, address UF, instant (local -03:00), callable, reason code
    ("+5521987654321", "SP", "2026-03-09T08:30:00-03:00", False, "outside_hours"),  # SP allows 08:00, RJ 09:00
    ("+5521987654321", "SP", "2026-03-09T18:30:00-03:00", True, "within_window"),  # both allow it
    ("+5521987654321", "SP", "2026-03-09T19:30:00-03:00", False, "outside_hours"),  # SP until 20:00, RJ 19:00
    ("+5521987654321", "SP", "2026-03-14T10:00:00-03:00", False, "closed_day"),  # SP Saturday, RJ closed
    ("+5511987654321", "RJ", "2026-03-09T08:30:00-03:00", False, "outside_hours"),
    ("+5511987654321", "RJ", "2026-03-09T18:30:00-03:00", True, "within_window"),
    ("+5511987654321", "RJ", "2026-03-14T10:00:00-03:00", False, "closed_day"),
    ("+5511987654321", "SP", "2026-03-14T10:00:00-03:00", True, "within_window"),  # both SP: SP's Saturday
    ("+5531987654321", "SP", "2026-03-09T18:30:00-03:00", False, "outside_hours"),  # MG number: default's 18:00
]


@pytest.mark.parametrize(("phone", "state", "instant", "expected", "reason"), PROFILE_CASES)
def test_profile_is_the_intersection_of_both_states(
    phone: str, state: str, instant: str, expected: bool, reason: str
) -> None:
    decision = check(phone, at(instant), state=state)
    assert (decision.callable, code(decision.reason)) == (expected, reason), decision.reason


def test_intersection_of_profiles() -> None:
    profiles = load_profiles()
    both = intersect_profiles(profiles["SP"], profiles["RJ"])
    assert both.name == "SP+RJ" and set(both.windows) == {0, 1, 2, 3, 4}
    assert both.windows[0] == (datetime(1, 1, 1, 9).time(), datetime(1, 1, 1, 19).time())
    assert intersect_profiles(profiles["SP"], profiles["SP"]) is profiles["SP"]
    within = check("+5521987654321", at("2026-03-09T18:30:00-03:00"), state="SP")
    assert "(profile SP+RJ)" in within.reason


def test_an_explicit_profile_still_wins_but_both_zones_hold() -> None:
    decision = check("+5511987654321", at("2026-03-14T12:30:00Z"), profile="SP", state="AC")
    assert decision.callable is False and decision.reason == "outside_hours: 07:30 America/Rio_Branco is before 08:00"


# ------------------------------------------------------------------ holidays of both states and the city
HOLIDAY_CASES = [
    # phone, address UF, city, instant, callable, name in the reason
    ("+5511987654321", "RJ", None, "2026-04-23T10:00:00-03:00", False, "Saint George"),  # RJ state holiday
    ("+5521987654321", "SP", None, "2026-07-09T10:00:00-03:00", False, "Constitutionalist"),  # SP state holiday
    ("+5511987654321", "SP", "São Paulo", "2027-01-25T10:00:00-03:00", False, "Aniversário de São Paulo"),
    ("+5511987654321", "SP", "SAO PAULO", "2027-01-25T10:00:00-03:00", False, "Aniversário de São Paulo"),
    ("+5519987654321", "SP", "Campinas", "2027-01-25T10:00:00-03:00", True, None),
    ("+5519987654321", "SP", None, "2027-01-25T10:00:00-03:00", True, None),
    # A DDD 11 number may be in the capital (review of issue 15: the stricter of both places).
    ("+5511987654321", "SP", "Campinas", "2027-01-25T10:00:00-03:00", False, "Aniversário de São Paulo"),
    ("+5521987654321", "RJ", "Rio de Janeiro", "2026-01-20T10:00:00-03:00", False, "São Sebastião"),
    ("+5524987654321", "RJ", "Niterói", "2026-01-20T10:00:00-03:00", True, None),
    ("+5521987654321", "RJ", "Niterói", "2026-01-20T10:00:00-03:00", False, "São Sebastião"),  # DDD 21: Rio
    ("+5571987654321", "BA", "Salvador", "2026-06-24T10:00:00-03:00", False, "São João"),
    ("+5571987654321", "BA", "Salvador", "2026-06-04T10:00:00-03:00", False, "Corpus Christi"),  # Easter + 60
    ("+5531987654321", "MG", "Belo Horizonte", "2026-08-14T10:00:00-03:00", True, None),
    ("+5531987654321", "MG", "Belo Horizonte", "2027-08-16T10:00:00-03:00", True, None),
    ("+5531987654321", "MG", "Belo Horizonte", "2028-08-15T10:00:00-03:00", False, "Assunção de Nossa Senhora"),
    # A São Paulo number of a debtor living in Rio: the person may be in either city on 25/01.
    ("+5511987654321", "RJ", "Rio de Janeiro", "2027-01-25T10:00:00-03:00", False, "Aniversário de São Paulo"),
    ("+5519987654321", "RJ", "Rio de Janeiro", "2027-01-25T10:00:00-03:00", True, None),
    ("+5527999123456", "ES", "Vitória", "2026-09-08T10:00:00-03:00", False, "Nossa Senhora da Vitória"),
    ("+5528999123456", "ES", "Vila Velha", "2026-09-08T10:00:00-03:00", True, None),
]


@pytest.mark.parametrize(("phone", "state", "city", "instant", "expected", "name"), HOLIDAY_CASES)
def test_state_and_municipal_holidays(
    phone: str, state: str, city: str | None, instant: str, expected: bool, name: str | None
) -> None:
    decision = check(phone, at(instant), state=state, city=city)
    assert decision.callable is expected, decision.reason
    if name is not None:
        assert code(decision.reason) == "holiday" and name in decision.reason, decision.reason


def test_municipal_holiday_moves_the_next_opening() -> None:
    decision = check("+5511987654321", at("2027-01-25T10:00:00-03:00"), state="SP", city="São Paulo")
    assert decision.reason == "holiday: 2027-01-25 is a holiday (Aniversário de São Paulo, São Paulo/SP)"
    assert decision.next_open is not None and decision.next_open.isoformat() == "2027-01-26T08:00:00-03:00"


def test_shipped_capitals_data() -> None:
    from ivr.campaign.rules import holiday_calendar

    cal = capitals()
    # Nothing shipped that the holidays package already has for the whole state (a duplicate hides a gap).
    assert not [e for e in cal.entries for y in (2026, 2027) if holiday_calendar(e.uf, y).get(e.on(y))]
    ufs = {e.uf for e in cal.entries}
    # Every state but DF (no municipality; its holidays are the state's, in the holidays package).
    assert ufs == set("AC AL AP AM BA CE ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split())
    assert len({(e.uf, e.city) for e in cal.entries}) == 26
    for year in (2026, 2027, 2030):
        assert all(e.on(year) is not None for e in cal.entries)
    corpus = [e for e in cal.entries if e.rule == "easter+60"]
    assert corpus and {e.on(2026) for e in corpus} == {date(2026, 6, 4)}
    import ivr.campaign

    text = (Path(ivr.campaign.__file__).parent / "municipal_holidays.csv").read_text(encoding="utf-8")
    rows = [line.split(";") for line in text.splitlines() if line and not line.startswith("#")][1:]
    assert all(len(r) == 5 and r[4].strip() for r in rows), "every row names its source"


def test_city_names_compare_without_accents_or_case() -> None:
    assert city_key("  São  Luís ") == city_key("SAO LUIS") == "sao luis"
    assert city_key("") is None and city_key(None) is None


# ------------------------------------------------------------------ the campaign calendar file
CALENDAR = """date;uf;city;name
02/11/2026;;;Recesso da campanha
2026-03-10;SP;;Ponto facultativo estadual
11/03/2026;SP;Campinas;Feriado municipal de teste
# comments and blank lines are allowed

"""


def test_campaign_calendar_entries(tmp_path: Path) -> None:
    path = tmp_path / "feriados.csv"
    path.write_text(CALENDAR, encoding="utf-8")
    cal = load_calendar(path)
    assert load_calendar(path) is cal  # parsed once while the file is unchanged
    sp, rj = "+5511987654321", "+5521987654321"
    blocked = check(sp, at("2026-03-10T10:00:00-03:00"), state="SP", calendar=cal)
    assert not blocked.callable and "Ponto facultativo estadual" in blocked.reason
    # The state entry binds a number of that state too (the person may be there), not an RJ number in RJ.
    assert not check(sp, at("2026-03-10T10:00:00-03:00"), state="RJ", calendar=cal).callable
    assert check(rj, at("2026-03-10T10:00:00-03:00"), state="RJ", calendar=cal).callable
    assert not check(sp, at("2026-03-11T10:00:00-03:00"), state="SP", city="Campinas", calendar=cal).callable
    assert check(sp, at("2026-03-11T10:00:00-03:00"), state="SP", city="Santos", calendar=cal).callable
    assert check(sp, at("2026-03-10T10:00:00-03:00"), state="SP").callable  # without the calendar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/02/2026;SP;;X\n", "line 1: date: a data '31/02/2026' não existe no calendário"),
        ("date;uf;city;name\n01/03/2026;XX;;X\n", "line 2: uf 'XX' is not a Brazilian state"),
        ("01/03/2026;SP;X\n", "line 1: needs 4 fields date;uf;city;name, found 3"),
        ("01/03/2026;;Campinas;X\n", "line 1: city 'Campinas' needs its uf"),
        ("01/03/2026;SP;;\n", "line 1: name is empty"),
    ],
)
def test_calendar_errors_name_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^cal.csv: " + message.replace("(", r"\(")):
        parse_calendar(text, "cal.csv")


def test_policy_calendar_key_is_checked_and_used(tmp_path: Path) -> None:
    path = tmp_path / "feriados.csv"
    path.write_text(CALENDAR, encoding="utf-8")
    policy = Policy.from_dict({"calendar": str(path)})
    person = Debtor(id="1", numbers=("+5511987654321",), state="SP", city="Campinas")
    blocked = eligibility(person, [], at("2026-03-11T10:00:00-03:00"), policy)
    assert not blocked.eligible and "Feriado municipal de teste" in blocked.reason
    assert blocked.next_try is not None and blocked.next_try.isoformat() == "2026-03-12T08:00:00-03:00"
    assert eligibility(person, [], at("2026-03-11T10:00:00-03:00"), Policy()).eligible
    assert (
        eligibility(
            Debtor(id="2", numbers=("+5511987654321",), state="SP", city="São Paulo"),
            [],
            at("2027-01-25T10:00:00-03:00"),
            Policy(),
        ).eligible
        is False
    )
    with pytest.raises(ConfigError, match="calendar .*missing.csv: file not found"):
        Policy.from_dict({"calendar": str(tmp_path / "missing.csv")})
    with pytest.raises(ConfigError, match="calendar must be the path"):
        Policy.from_dict({"calendar": 3})


# ------------------------------------------------------------------ the commands


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_window_cli_address_city_and_calendar(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(
        capsys, "window", "(11) 98765-4321", "--state", "AC", "--at", "2026-03-09T12:30:00Z", "--json"
    )
    assert (status, err) == (0, "")
    assert json.loads(out) == {
        "callable": False,
        "timezone": "America/Sao_Paulo,America/Rio_Branco",
        "local_time": "2026-03-09T09:30:00-03:00",
        "reason": "outside_hours: 07:30 America/Rio_Branco is before 09:00",
        "next_open": "2026-03-09T11:00:00-03:00",
    }
    status, out, _ = run(
        capsys,
        "window",
        "11987654321",
        "--state",
        "SP",
        "--city",
        "São Paulo",
        "--at",
        "2027-01-25T10:00:00-03:00",
        "--json",
    )
    assert status == 0 and json.loads(out)["reason"].startswith("holiday: 2027-01-25")
    cal = tmp_path / "cal.csv"
    cal.write_text("10/03/2026;;;Recesso\n", encoding="utf-8")
    status, out, _ = run(capsys, "window", "11987654321", "--calendar", str(cal), "--at", "2026-03-10T10:00")
    assert status == 0 and out.startswith("not callable at Tue 2026-03-10 10:00 (America/Sao_Paulo): holiday:")
    status, _, err = run(capsys, "window", "11987654321", "--city", "Campinas")
    assert status != 0 and err.strip() == "ivr: --city needs --state (the city's UF)"
    cal.write_text("10/03/2026;ZZ;;Recesso\n", encoding="utf-8")
    status, _, err = run(capsys, "window", "11987654321", "--calendar", str(cal))
    assert status != 0 and err.count("\n") == 1 and "line 1: uf 'ZZ'" in err


@pytest.fixture
def cli_db(sessions: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    monkeypatch.setenv("IVR_DATABASE_URL", db_url)
    return sessions


def test_status_debtor_uses_address_city_and_campaign_calendar(
    cli_db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cal = tmp_path / "cal.csv"
    cal.write_text("2027-01-26;SP;;Recesso da campanha\n", encoding="utf-8")
    camp = make_campaign(cli_db, policy={"calendar": str(cal)})
    paulistano = make_debtor(cli_db, camp, ["11987650001"], state="SP")
    acreano = make_debtor(cli_db, camp, ["11987650002"], state="AC")
    with cli_db.begin() as s:
        s.execute(update(DebtorRow).where(DebtorRow.id == paulistano).values(city="São Paulo"))

    def why(debtor: int, instant: str) -> dict[str, object]:
        status, out, err = run(capsys, "campaign", "status", "c1", "--debtor", str(debtor), "--at", instant, "--json")
        assert (status, err) == (0, "")
        return dict(json.loads(out))

    anniversary = why(paulistano, "2027-01-25T10:00:00-03:00")
    assert anniversary["callable"] is False and "Aniversário de São Paulo" in str(anniversary["reason"])
    recess = why(paulistano, "2027-01-26T10:00:00-03:00")
    assert recess["callable"] is False and "Recesso da campanha" in str(recess["reason"])
    early = why(acreano, "2027-01-27T09:30:00-03:00")  # 07:30 in Acre
    window = early["numbers"][0]["window"]  # type: ignore[index]
    assert early["callable"] is False and window["timezone"] == "America/Sao_Paulo,America/Rio_Branco"
    assert why(acreano, "2027-01-27T11:30:00-03:00")["callable"] is True


def test_campaign_create_checks_the_calendar_and_keeps_its_full_path(
    cli_db: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import select

    from ivr.db.models import Campaign

    monkeypatch.chdir(tmp_path)
    Path("cal.csv").write_text("10/03/2026;;;Recesso\n", encoding="utf-8")
    status, _, err = run(
        capsys, "campaign", "create", "c2", "--creditor", "Banco", "--policy", '{"calendar": "cal.csv"}'
    )
    assert (status, err) == (0, "")
    with cli_db() as s:
        policy = s.scalars(select(Campaign.policy).where(Campaign.name == "c2")).one()
    assert policy == {"calendar": str(tmp_path / "cal.csv")}
    Path("bad.csv").write_text("10/03/2026;SP;\n", encoding="utf-8")
    status, _, err = run(
        capsys, "campaign", "create", "c3", "--creditor", "Banco", "--policy", '{"calendar": "bad.csv"}'
    )
    assert status != 0 and err.count("\n") == 1 and "bad.csv: line 1: needs 4 fields" in err
