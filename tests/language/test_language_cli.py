"""The ``ivr nlu`` and ``ivr verbalize`` contracts that outside checks rely on."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner

from ivr.cli import cli
from ivr.errors import InputError

KEYS = {"intent", "date", "amount", "installments", "time", "confidence", "evidence"}


def test_nlu_one_utterance_prints_one_json_object() -> None:
    result = CliRunner().invoke(cli, ["nlu", "--today", "2026-11-20", "vou pagar dia vinte e cinco"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == KEYS
    assert (data["intent"], data["date"]) == ("promise_to_pay", "2026-11-25")


def test_nlu_jsonl_keeps_order_and_treats_empty_lines_as_silence() -> None:
    stdin = "sim\n\nR$ 200\nme liga amanhã às três da tarde\n"
    result = CliRunner().invoke(cli, ["nlu", "--today", "2026-11-20", "--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["intent"] for r in rows] == ["affirm", "unknown", "promise_to_pay", "callback"]
    assert rows[2]["amount"] == 200
    assert (rows[3]["date"], rows[3]["time"]) == ("2026-11-21", "15:00")


def test_nlu_today_defaults_to_the_real_date() -> None:
    result = CliRunner().invoke(cli, ["nlu", "pago hoje"])
    assert json.loads(result.output)["date"] == date.today().isoformat()


def test_nlu_rejects_a_bad_date_and_missing_text() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["nlu", "--today", "20/11/2026", "sim"])
    assert isinstance(bad.exception, InputError) and "YYYY-MM-DD" in str(bad.exception)
    missing = runner.invoke(cli, ["nlu", "--today", "2026-11-20"])
    assert isinstance(missing.exception, InputError)


def test_verbalize_prints_the_spoken_text() -> None:
    result = CliRunner().invoke(cli, ["verbalize", "Você deve R$ 1.234,56 desde 05/12/2026"])
    assert result.exit_code == 0
    assert (
        result.output
        == "Você deve mil duzentos e trinta e quatro reais e cinquenta e seis centavos desde cinco de dezembro\n"
    )


def test_nlu_reads_an_answer_for_the_question_it_answers() -> None:
    import json as _json

    from click.testing import CliRunner

    from ivr.cli import cli

    free = CliRunner().invoke(cli, ["nlu", "--today", "2026-11-23", "é a Joana"])
    asked = CliRunner().invoke(
        cli, ["nlu", "--today", "2026-11-23", "--context", "identity", "--name", "Maria Souza", "é a Joana"]
    )
    assert _json.loads(free.output)["intent"] == "affirm"  # without context: "é a ..." reads as a yes
    assert _json.loads(asked.output)["intent"] == "not_available"


def test_nlu_refuses_a_today_no_date_arithmetic_can_use() -> None:
    # "ontem" on 0001-01-01 and "dia 31" after 9999-12-31 overflowed into a traceback.
    for today in ("0001-01-01", "9999-12-31"):
        bad = CliRunner().invoke(cli, ["nlu", "--today", today, "vou pagar ontem"])
        assert isinstance(bad.exception, InputError), bad.exception
        assert str(bad.exception) == f"--today {today!r}: the year must be between 1970 and 2100"
