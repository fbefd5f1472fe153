"""Policy keys offers, payment and stages: strict at `ivr campaign create --policy`, defaults unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ivr.campaign.rules import Policy
from ivr.campaign.stages import DEFAULT_FLOW, flow_for, stage_rank
from ivr.errors import ConfigError

FULL = {
    "promise_window_days": 10,
    "offers": {
        "lump_sum": {"discount_percent": 10, "pay_within_days": 3, "discount_applies_to": "charges"},
        "installments": {"max": 4, "min_installment": 50, "down_payment_percent": 20, "discount_percent": 0},
        "partial": False,
    },
    "payment": {
        "methods": ["pix", "boleto", "link"],
        "pix_key": "cobranca@exemplo.com.br",
        "merchant_name": "Banco Exemplo",
        "merchant_city": "Sao Paulo",
        "channels": ["whatsapp", "sms", "email"],
    },
    "stages": [
        {"from_day": -5, "to_day": 0, "flow": "reminder"},
        {"from_day": 1, "to_day": 30, "flow": "early"},
        {"from_day": 31, "flow": "late"},
    ],
}


def test_defaults_keep_todays_behaviour() -> None:
    p = Policy.from_dict({})
    assert p.offers.lump_sum.discount_percent == 0 and p.offers.installments.max == 3 == p.max_installments
    assert p.offers.installments.min_installment == 0 and p.offers.installments.down_payment_percent == 0
    assert p.offers.partial is True
    assert not p.payment.enabled and p.stages == ()
    assert flow_for(p.stages, -20) == DEFAULT_FLOW and flow_for(p.stages, 400) == DEFAULT_FLOW
    assert Policy.from_dict({"max_installments": 6}).offers.installments.max == 6


def test_a_full_policy() -> None:
    p = Policy.from_dict(FULL)
    assert p.offers.lump_sum.discount_percent == Decimal("10") and p.offers.lump_sum.discount_applies_to == "charges"
    assert p.offers.installments.min_installment == Decimal("50.00") and p.max_installments == 4
    assert p.offers.partial is False
    assert p.payment.methods == ("pix", "boleto", "link") and p.payment.channels == ("whatsapp", "sms", "email")
    assert [flow_for(p.stages, d) for d in (-6, -5, 0, 1, 30, 31, 900)] == [
        None,
        "reminder",
        "reminder",
        "early",
        "early",
        "late",
        "late",
    ]
    assert [stage_rank(p.stages, d) for d in (-3, 10, 40, -9)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"offers": {"lump_sum": {"discount_percent": 100}}}, "offers.lump_sum.discount_percent must be below 100"),
        (
            {"offers": {"lump_sum": {"discount_percent": "dez"}}},
            "offers.lump_sum.discount_percent must be a percentage",
        ),
        ({"offers": {"lump_sum": {"pay_within_days": 20}}}, "must not be past the promise window"),
        ({"offers": {"lump_sum": {"discount_applies_to": "juros"}}}, 'must be "total" or "charges"'),
        ({"offers": {"installments": {"min_installment": -5}}}, "offers.installments.min_installment must be"),
        ({"offers": {"installments": {"min_installment": 10.555}}}, "at most 2 decimals"),
        ({"offers": {"installments": {"max": 0}}}, "offers.installments.max must be a whole number from 1"),
        ({"offers": {"installments": {"max": 4}}, "max_installments": 3}, "disagrees with max_installments"),
        ({"offers": {"partial": "sim"}}, "offers.partial must be true or false"),
        ({"offers": {"discount": 5}}, "offers: unknown key 'discount'"),
        ({"payment": {"methods": ["pix"], "channels": ["sms"]}}, "payment.pix_key is required"),
        (
            {
                "payment": {
                    "methods": ["pix"],
                    "pix_key": "11987654321",
                    "merchant_name": "B",
                    "merchant_city": "C",
                    "channels": ["sms"],
                }
            },
            "payment.pix_key: '11987654321' is not a PIX key",
        ),
        ({"payment": {"methods": ["boleto"], "channels": ["fax"]}}, "payment.channels: 'fax' is not one of"),
        ({"payment": {"methods": ["boleto"]}}, "payment.channels: give at least one"),
        (
            {
                "payment": {
                    "methods": ["boleto"],
                    "channels": ["sms"],
                    "merchant_city": "São José dos Campos",
                    "pix_key": "",
                    "merchant_name": "",
                }
            },
            None,
        ),
        (
            {
                "payment": {
                    "methods": ["pix"],
                    "pix_key": "12345678909",
                    "merchant_name": "B" * 26,
                    "merchant_city": "C",
                    "channels": ["sms"],
                }
            },
            "payment.merchant_name has 26 characters",
        ),
        (
            {"stages": [{"from_day": 0, "to_day": 10, "flow": "early"}, {"from_day": 5, "flow": "late"}]},
            "overlap (day 5",
        ),
        ({"stages": [{"from_day": 0, "flow": "early"}, {"from_day": 40, "flow": "late"}]}, "only the last stage"),
        ({"stages": [{"from_day": 5, "to_day": 1, "flow": "early"}]}, "to_day 1 is before from_day 5"),
        ({"stages": [{"to_day": 1, "flow": "early"}]}, "from_day and flow are required"),
        ({"stages": [{"from_day": 1, "flow": "Early Stage"}]}, "stages[0].flow must be a flow name"),
        ({"stages": {"from_day": 1}}, "stages must be a list"),
    ],
)
def test_each_mistake_is_named(policy: dict[str, object], message: str | None) -> None:
    if message is None:
        Policy.from_dict(policy)
        return
    with pytest.raises(ConfigError) as exc:
        Policy.from_dict(policy, "--policy")
    assert message in str(exc.value)
    assert all(line.startswith("--policy: ") for line in str(exc.value).splitlines())


def test_all_mistakes_at_once_one_line_each(tmp_path: Path) -> None:
    bad = (
        '{"max_attempts_per_day": -1, "offers": {"lump_sum": {"discount_percent": 120}}, '
        '"payment": {"methods": ["cash"], "channels": ["sms"]}, "stages": [{"from_day": "x", "flow": "a"}]}'
    )
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ivr.cli import main; main()",
            "campaign",
            "create",
            "c",
            "--creditor",
            "B",
            "--policy",
            bad,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 4, run.stderr
    assert "max_attempts_per_day" in lines[0] and "discount_percent" in lines[1]
    assert "'cash'" in lines[2] and "stages[0].from_day" in lines[3]
    assert "Traceback" not in run.stderr
