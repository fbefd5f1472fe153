"""Review of issue 11 (r11): adversarial script-writer checks through `ivr simulate --policy --json`.

Every plan must add up exactly (Decimal); a split the policy refuses keeps the debtor's own parts as the
proposal a person reviews (not the whole balance on the first date).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

IVR = str(Path(sys.executable).with_name("ivr"))
PAYMENT = {
    "methods": ["pix"],
    "pix_key": "cobranca@exemplo.com.br",
    "merchant_name": "Banco",
    "merchant_city": "SP",
    "channels": ["sms"],
}


def simulate(amount: str, policy: dict[str, object], replies: str) -> dict[str, object]:
    proc = subprocess.run(
        [
            IVR,
            "simulate",
            "--name",
            "Maria Souza",
            "--amount",
            amount,
            "--due",
            "2026-11-10",
            "--today",
            "2026-12-01",
            "--policy",
            json.dumps(policy),
            "--json",
        ],
        input=replies,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def plan_of(out: dict[str, object]) -> list[tuple[str, Decimal]]:
    plan = out["promise_plan"]
    assert isinstance(plan, list)
    return [(i["date"], Decimal(i["amount"])) for i in plan]


NO_PARTIAL = {"offers": {"installments": {"max": 3, "min_installment": 10}, "partial": False}, "payment": PAYMENT}


def test_refused_two_part_split_keeps_the_debtors_parts() -> None:
    out = simulate("350", NO_PARTIAL, "sim\n150 dia 10 e 150 dia 20\nsim\n")
    assert out["outcome"] == "proposal"
    assert plan_of(out) == [("2026-12-10", Decimal("150.00")), ("2026-12-20", Decimal("150.00"))]


def test_refused_half_keeps_half_not_the_whole_balance() -> None:
    out = simulate("300", NO_PARTIAL, "sim\nposso pagar metade\ndia 5\nsim\n")
    assert out["outcome"] == "proposal"
    assert plan_of(out) == [("2026-12-05", Decimal("150.00"))]


def test_split_past_the_window_keeps_both_parts() -> None:
    out = simulate("300", NO_PARTIAL, "sim\n150 dia 30 de janeiro e 150 dia 28 de fevereiro\nsim\n")
    assert out["outcome"] == "proposal"
    assert plan_of(out) == [("2027-01-30", Decimal("150.00")), ("2027-02-28", Decimal("150.00"))]


@pytest.mark.parametrize(
    ("amount", "offer", "replies", "expected"),
    [
        (
            "100",
            {"max": 3, "min_installment": 0.01},
            "sim\nquero parcelar\ntrês vezes\ndia 5\nsim\nsms\n",
            ["33.34", "33.33", "33.33"],
        ),
        (
            "350",
            {"max": 3, "min_installment": 10, "down_payment_percent": 20},
            "sim\nquero parcelar\ntrês vezes\ndia 5\nsim\nsms\n",
            ["70.01", "93.33", "93.33", "93.33"],
        ),
        (
            "0.05",
            {"max": 3, "min_installment": 0.01},
            "sim\nquero parcelar\nduas vezes\ndia 5\nsim\nsms\n",
            ["0.03", "0.02"],
        ),
    ],
)
def test_installments_add_up_exactly(amount: str, offer: dict[str, object], replies: str, expected: list[str]) -> None:
    out = simulate(amount, {"offers": {"installments": offer}, "payment": PAYMENT}, replies)
    plan = plan_of(out)
    assert [str(a) for _, a in plan] == expected
    assert sum(a for _, a in plan) == Decimal(amount)


def _simulate_raw(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            IVR,
            "simulate",
            "--name",
            "Maria Souza",
            "--amount",
            "350",
            "--due",
            "2026-11-10",
            "--today",
            "2026-12-01",
            "--json",
            *extra,
        ],
        input="sim\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--link", "http://pague.exemplo.com/x", "--link"),
        ("--boleto", "00190.50095 40144.816069 06809.350314 3 37370000000101", "--boleto"),
    ],
)
def test_simulate_checks_payment_data_as_the_import_does(option: str, value: str, says: str) -> None:
    proc = _simulate_raw(option, value)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in proc.stderr


def test_simulate_takes_good_payment_data() -> None:
    proc = _simulate_raw(
        "--boleto", "00190.50095 40144.816069 06809.350314 3 37370000000100", "--link", "https://pague.exemplo.com/x"
    )
    assert proc.returncode == 0, proc.stderr
