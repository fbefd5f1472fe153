"""`ivr simulate --policy ... --json`: promise_plan and payment_instruction, and policy errors as one line each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.payment.test_pix import read_brcode

IVR = str(Path(sys.executable).with_name("ivr"))
BASE = [
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
    "--creditor",
    "Banco Exemplo",
]
POLICY = json.dumps(
    {
        "offers": {
            "lump_sum": {"discount_percent": 10, "pay_within_days": 3},
            "installments": {"max": 4, "min_installment": 50, "down_payment_percent": 20},
        },
        "payment": {
            "methods": ["pix", "boleto"],
            "pix_key": "cobranca@exemplo.com.br",
            "merchant_name": "Banco Exemplo",
            "merchant_city": "Sao Paulo",
            "channels": ["whatsapp", "sms"],
        },
        "stages": [{"from_day": -5, "to_day": 0, "flow": "reminder"}, {"from_day": 1, "flow": "early"}],
    }
)


def run(replies: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BASE, *extra], input=replies, capture_output=True, text=True, check=False, timeout=120)


def test_discount_with_pix_in_json() -> None:
    proc = run("sim\ntem desconto pra pagar à vista?\nsim\npelo whatsapp\n", "--policy", POLICY, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["outcome"] == "promise_to_pay"
    assert out["promise_plan"] == [{"date": "2026-12-04", "amount": "315.00"}]
    pay = out["payment_instruction"]
    assert set(pay) == {"method", "channel", "payload"} and (pay["method"], pay["channel"]) == ("pix", "whatsapp")
    assert read_brcode(pay["payload"])["54"] == "315.00"


def test_installments_plan_in_json() -> None:
    proc = run("sim\nquero parcelar\ntrês\ndia cinco\nsim\nsms\n", "--policy", POLICY, "--json")
    out = json.loads(proc.stdout)
    assert [i["amount"] for i in out["promise_plan"]] == ["70.01", "93.33", "93.33", "93.33"]
    assert out["payment_instruction"]["channel"] == "sms"


def test_stage_picks_the_reminder_flow() -> None:
    proc = run("sim\nsim\nwhatsapp\n", "--policy", POLICY, "--json", "--due", "2026-12-04")
    out = json.loads(proc.stdout)
    assert any("vence na sexta-feira, quatro de dezembro" in t["text"] for t in out["transcript"])
    assert out["promise_plan"] == [{"date": "2026-12-04", "amount": "350.00"}]


def test_no_plan_no_instruction_is_null() -> None:
    out = json.loads(run("não sou eu\n", "--json").stdout)
    assert out["promise_plan"] is None and out["payment_instruction"] is None


def test_policy_errors_one_line_each() -> None:
    proc = run(
        "", "--policy", '{"offers": {"lump_sum": {"discount_percent": 200}}, "payment": {"methods": ["cheque"]}}'
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "discount_percent" in lines[0] and "'cheque'" in lines[1]
