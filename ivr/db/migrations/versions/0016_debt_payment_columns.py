"""debt payment columns: boleto line and payment link on debts, e-mail on debtors (import, issue 11/16);
contract ids rewritten to their canonical form (000123 -> 123), so a re-import updates instead of adding

Revision ID: 1601
Revises: 0003
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from alembic import op

revision = "1601"
down_revision = "0003"
branch_labels = None
depends_on = None


log = logging.getLogger("alembic.runtime.migration")


def _canonical(text: str) -> str:
    """Frozen copy of ``ivr.db.rows.canonical_contract`` at this revision (without its refusals)."""
    raw = text.strip()
    if raw.startswith('="') and raw.endswith('"') and len(raw) >= 3:
        raw = raw[2:-1].strip()
    if raw.startswith("'"):
        raw = raw[1:].strip()
    if m := re.fullmatch(r"(\d+)[.,]0+", raw):
        raw = m[1]
    key = re.sub(r"\s+", "", raw).upper()
    if key.isdigit():
        key = key.lstrip("0") or "0"
    return key[:64] or text


def _canonical_contract_ids() -> None:
    bind = op.get_bind()
    debts = sa.table(
        "debts", sa.column("id", sa.Integer), sa.column("campaign_id", sa.Integer), sa.column("contract_id", sa.String)
    )
    c = debts.c.contract_id
    # Only ids the canonical form can change (the rest are never read into memory).
    maybe = sa.or_(
        c.like("0%"), c.like("%.0"), c.like("%,0"), c.like("'%"), c.like('="%'), c.like("% %"), c != sa.func.upper(c)
    )
    candidates = bind.execute(sa.select(debts.c.id, debts.c.campaign_id, c).where(maybe).order_by(debts.c.id)).all()
    claimed: set[tuple[int, str]] = set()
    for debt_id, campaign_id, old in candidates:
        new = _canonical(old)
        if new == old:
            continue
        clash = (campaign_id, new) in claimed or bind.execute(
            sa.select(debts.c.id).where(debts.c.campaign_id == campaign_id, c == new)
        ).first() is not None
        if clash:
            log.warning(
                "debt %s: contract id %r kept: its canonical form %r already exists in campaign %s",
                debt_id,
                old,
                new,
                campaign_id,
            )
            continue
        claimed.add((campaign_id, new))
        bind.execute(debts.update().where(debts.c.id == debt_id).values(contract_id=new))


def upgrade() -> None:
    with op.batch_alter_table("debts", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("boleto_line", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("payment_link", sa.String(length=2000), nullable=True))
    with op.batch_alter_table("debtors", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    _canonical_contract_ids()


def downgrade() -> None:
    # Canonical contract ids stay canonical: the written forms they came from are not kept.
    with op.batch_alter_table("debtors", schema=None, recreate="auto") as batch_op:
        batch_op.drop_column("email")
    with op.batch_alter_table("debts", schema=None, recreate="auto") as batch_op:
        batch_op.drop_column("payment_link")
        batch_op.drop_column("boleto_line")
