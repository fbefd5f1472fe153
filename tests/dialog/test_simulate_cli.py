"""`ivr simulate`: the --json contract that outside checks rely on, and the plain-text transcript."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dialog.helpers import debt_words

IVR = str(Path(sys.executable).with_name("ivr"))
BASE = [
    IVR,
    "simulate",
    "--name",
    "Maria Aparecida Souza",
    "--amount",
    "1234.56",
    "--due",
    "2026-03-01",
    "--today",
    "2026-03-10",
]


def run(replies: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BASE, *extra], input=replies, capture_output=True, text=True, check=False)


def test_json_contract_promise() -> None:
    proc = run("sim\nsim\ndia 15\nsim\n", "--creditor", "Banco Exemplo", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {
        "outcome",
        "promise_date",
        "promise_amount",
        "transcript",
        "protocol",  # + protocol: issue 10
        "promise_plan",
        "payment_instruction",
    }  # issue 11
    assert (out["outcome"], out["promise_date"], out["promise_amount"]) == ("promise_to_pay", "2026-03-15", 1234.56)
    assert out["transcript"][0]["speaker"] == "bot" and "Banco Exemplo" in out["transcript"][0]["text"]
    assert {t["speaker"] for t in out["transcript"]} == {"bot", "debtor"}
    assert [t["text"] for t in out["transcript"] if t["speaker"] == "debtor"] == ["sim", "sim", "dia 15", "sim"]
    assert len(proc.stdout.strip().splitlines()) == 1


def test_json_silence_and_hang_up() -> None:
    out = json.loads(run("\n\n\n\n", "--json").stdout)
    assert out == {**out, "outcome": "no_response", "promise_date": None, "promise_amount": None}
    assert not any(debt_words(t["text"]) for t in out["transcript"] if t["speaker"] == "bot")
    out = json.loads(run("sim\n", "--json").stdout)
    assert out["outcome"] == "hung_up"
    out = json.loads(run("", "--json").stdout)
    assert out["outcome"] == "hung_up" and out["transcript"][0]["speaker"] == "bot"


def test_json_partial_amount_and_third_party() -> None:
    out = json.loads(run("sim\nposso pagar 500 reais no dia 15\nsim\n", "--json").stdout)
    assert (out["outcome"], out["promise_amount"]) == ("promise_to_pay", 500.0)
    out = json.loads(run("ela não está\n", "--json").stdout)
    assert out["outcome"] == "not_available"
    assert not any(debt_words(t["text"]) for t in out["transcript"])


def test_plain_transcript_when_not_on_a_terminal() -> None:
    proc = run("não\n")
    assert proc.returncode == 0, proc.stderr
    assert "bot: " in proc.stdout and "você: não" in proc.stdout and "[outcome: wrong_party]" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount", "muito", "--json"], "--amount"),
        (["--today", "10/03/2026", "--json"], "--today"),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], message: str) -> None:
    proc = run("", *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_json_protocol_and_cnpj_option() -> None:
    proc = run("qual o cnpj?\nsim\nme passa um protocolo\n", "--cnpj", "12.345.678/0001-90", "--seed", "42", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["protocol"] == "20260310000042"
    bot = [t["text"] for t in out["transcript"] if t["speaker"] == "bot"]
    assert any("doze, três quatro cinco, seis sete oito, barra, zero zero zero um, traço, nove zero" in t for t in bot)
    assert any("dois zero dois seis zero três um zero zero zero zero zero quatro dois" in t for t in bot)
    bad = run("sim\n", "--cnpj", "123", "--json")
    assert bad.returncode != 0 and "--cnpj '123' must have 14 digits" in bad.stderr and "Traceback" not in bad.stderr


def test_simulate_picks_a_flow_and_refuses_an_unsafe_one(tmp_path: Path) -> None:
    proc = run("sim\n", "--flow", "late", "--json")
    assert proc.returncode == 0 and "em aberto desde" in json.loads(proc.stdout)["transcript"][4]["text"]
    unsafe = tmp_path / "unsafe.toml"
    unsafe.write_text(
        '[flow]\nname = "unsafe"\nextends = "default"\n[states.identity.on]\naffirm = "offer"\n', encoding="utf-8"
    )
    proc = run("sim\n", "--flow", str(unsafe), "--json")
    assert proc.returncode != 0 and "before the identity guard" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount", "1e400"], "ivr: --amount '1e400' is too large\n"),
        (["--amount", "Infinity"], "ivr: --amount 'Infinity' is not an amount; write it like 1234.56\n"),
        (["--amount", "NaN"], "ivr: --amount 'NaN' is not an amount; write it like 1234.56\n"),
        (["--amount", "99999999999999"], "ivr: --amount '99999999999999' is too large\n"),
        (["--due", "9999-12-31", "--today", "9999-12-31"], "ivr: --due '9999-12-31': the year must be between"),
        (["--today", "0001-01-02"], "ivr: --today '0001-01-02': the year must be between 1970 and 2100\n"),
    ],
)
def test_an_amount_or_day_no_arithmetic_can_use_is_one_line(args: list[str], message: str) -> None:
    proc = run("sim\n", *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(message)
