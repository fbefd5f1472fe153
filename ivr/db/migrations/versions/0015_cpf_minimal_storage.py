"""CPF storage that cannot be rebuilt: masks show digits 4-6 only, the first 3 digits only for cpf3 campaigns

Before: every debtor row kept the first 3 digits and the mask ``***.456.789-**`` (digits 4-9): the 9 digits
that fix a CPF (its check digits follow). This rewrites existing rows so old data stops leaking too:
masks become ``***.456.***-**``, ``cpf_prefix`` becomes nullable and is cleared for debtors with no debt in a
campaign whose policy verifies by CPF (``"verification": "cpf3"``), and a CPF quoted in stored free text
(turns, notes, and names or cities an import took a CPF into) is masked the same way; callers' words and
those names lose any run of 5+ digits. The downgrade cannot bring back what was dropped.

Revision ID: 1502
Revises: 0003
Create Date: 2026-12-04 03:40:00
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "1502"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen here: a migration must not change when ivr.privacy does.
_CPF_IN_TEXT = re.compile(r"(?<!\d)(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?!\d)")
_OLD_MASK_IN_TEXT = re.compile(r"\*{3}\.(\d{3})\.\d{3}-\*{2}")
# Five digits in a row may be a CPF part past digit 4 (digits 1-6 are stored): callers' runs of 5+ go.
_LONG_DIGITS = re.compile(r"(?<![\d*])\d(?:[\s.\-]?\d){4,}(?!\d)")
# (table, column, condition for what a caller said): the caller's turns and notes lose any run of 5+ digits.
_TEXT_COLUMNS = (
    ("turns", "text", "speaker <> 'bot'"),
    ("turns", "text", "speaker = 'bot'"),
    ("attempts", "note", ""),
    ("reviews", "note", ""),
    ("callbacks", "requested_text", ""),
    ("debtors", "name", ""),
    ("debtors", "city", ""),
)  # a CPF typed into the name or city column


def _check_digit(digits: str) -> int:
    weight = len(digits) + 1
    rest = sum(int(d) * (weight - i) for i, d in enumerate(digits)) % 11
    return 0 if rest < 2 else 11 - rest


def _is_cpf(digits: str) -> bool:
    return (
        len(digits) == 11
        and digits != digits[0] * 11
        and _check_digit(digits[:9]) == int(digits[9])
        and _check_digit(digits[:10]) == int(digits[10])
    )


def _mask_text(text: str, callers_words: bool) -> str:
    text = _OLD_MASK_IN_TEXT.sub(lambda m: f"***.{m.group(1)}.***-**", text)
    text = _CPF_IN_TEXT.sub(
        lambda m: f"***.{m.group(2)}.***-**" if _is_cpf(re.sub(r"\D", "", m.group(0))) else m.group(0), text
    )
    if callers_words:  # keyed digits may be part of a CPF
        text = _LONG_DIGITS.sub(lambda m: "*" * sum(c.isdigit() for c in m.group(0)), text)
    return text


def _cpf3_campaigns(bind: sa.Connection) -> list[int]:
    ids = []
    for cid, policy in bind.execute(sa.text("SELECT id, policy FROM campaigns")):
        if isinstance(policy, str):
            policy = json.loads(policy or "{}")
        if isinstance(policy, dict) and policy.get("verification") == "cpf3":
            ids.append(cid)
    return ids


def upgrade() -> None:
    with op.batch_alter_table("debtors", schema=None, recreate="auto") as batch_op:
        batch_op.alter_column("cpf_prefix", existing_type=sa.String(length=3), nullable=True)
    bind = op.get_bind()
    # '***.456.789-**' -> '***.456.***-**' (the first 8 characters are '***.456.').
    bind.execute(
        sa.text(
            "UPDATE debtors SET cpf_masked = substr(cpf_masked, 1, 8) || '***-**' "
            "WHERE cpf_masked LIKE '***.___.___-**' AND substr(cpf_masked, 9, 3) <> '***'"
        )
    )
    keep = _cpf3_campaigns(bind)
    if keep:
        bind.execute(
            sa.text(
                "UPDATE debtors SET cpf_prefix = NULL WHERE id NOT IN "
                "(SELECT debtor_id FROM debts WHERE campaign_id IN :ids)"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": keep},
        )
    else:
        bind.execute(sa.text("UPDATE debtors SET cpf_prefix = NULL"))
    has_digit = "{col} ~ '[0-9]'" if bind.dialect.name == "postgresql" else "{col} GLOB '*[0-9]*'"
    for table, column, only in _TEXT_COLUMNS:
        where = has_digit.format(col=column) + (f" AND {only}" if only else "")
        rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {where}"))
        changes: list[dict[str, Any]] = []
        for row_id, value in rows:
            masked = _mask_text(value, callers_words=only != "speaker = 'bot'")
            if masked != value:
                changes.append({"i": row_id, "v": masked})
        if changes:
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :i"), changes)


def downgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE debtors SET cpf_prefix = '' WHERE cpf_prefix IS NULL"))
    with op.batch_alter_table("debtors", schema=None, recreate="auto") as batch_op:
        batch_op.alter_column("cpf_prefix", existing_type=sa.String(length=3), nullable=False)
