"""closing the loop: review state and resolution, payments, promise status, debt balance, transfer and
disposition columns on attempts, the callback's number, dialer health

Revision ID: 1301
Revises: 1001
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1301"
down_revision = "1001"
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when ivr.vocabulary does).
_REASONS = (
    "already_paid",
    "dispute",
    "deceased",
    "unreachable_person",
    "proposal",
    "scam_suspicion",
    "verification_refused",
    "transfer_failed",
)
_OUTCOMES = (
    "no_answer",
    "busy",
    "failed",
    "voicemail",
    "promise_to_pay",
    "proposal",
    "transferred",
    "callback_scheduled",
    "already_paid",
    "cannot_pay",
    "dispute",
    "opt_out",
    "wrong_party",
    "not_available",
    "deceased",
    "unreachable_person",
    "no_response",
    "hung_up",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("debt_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_payments_debt_id_debts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("debt_id", "paid_on", "amount", name=op.f("uq_payments_debt_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_debt_id"), ["debt_id"], unique=False)
    op.create_table(
        "dialer_health",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("service_unreachable_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("throttled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_dialer_health_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_dialer_health")),
    )
    with op.batch_alter_table("reviews", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=10), server_default="open", nullable=False))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("creditor_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("action", sa.String(length=16), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_creditor_id_creditors"), "creditors", ["creditor_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(batch_op.f("ix_reviews_creditor_id"), ["creditor_id"], unique=False)
        batch_op.create_index("ix_reviews_debtor_state", ["debtor_id", "state"], unique=False)
        batch_op.create_check_constraint(op.f("ck_reviews_state"), _in("state", ("open", "resolved")))
        batch_op.create_check_constraint(op.f("ck_reviews_kind"), _in("kind", _REASONS))
    with op.batch_alter_table("debts", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(
            sa.Column("paid_total", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=120), nullable=True))
    with op.batch_alter_table("promises", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=8), server_default="open", nullable=False))
        batch_op.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("payment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_promises_payment_id_payments"), "payments", ["payment_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_check_constraint(op.f("ck_promises_status"), _in("status", ("open", "kept", "broken")))
    # callbacks.phone_id (the number a callback was agreed on) comes with revision 1001.
    with op.batch_alter_table("attempts", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("agi_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("dialplan_outcome", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("queue_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("queue_hold_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("agent", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disposition", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("disposition_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("disposition_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_attempts_disposition"), "disposition IS NULL OR " + _in("disposition", _OUTCOMES)
        )


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_attempts_disposition"), type_="check")
        for column in (
            "disposition_at",
            "disposition_by",
            "disposition",
            "transferred_at",
            "agent",
            "queue_hold_s",
            "queue_status",
            "dialplan_outcome",
            "agi_status",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("promises", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_promises_status"), type_="check")
        batch_op.drop_constraint(op.f("fk_promises_payment_id_payments"), type_="foreignkey")
        for column in ("payment_id", "settled_at", "status"):
            batch_op.drop_column(column)
    with op.batch_alter_table("debts", schema=None, recreate="auto") as batch_op:
        for column in ("closed_reason", "closed_at", "paid_total"):
            batch_op.drop_column(column)
    with op.batch_alter_table("reviews", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_reviews_kind"), type_="check")
        batch_op.drop_constraint(op.f("ck_reviews_state"), type_="check")
        batch_op.drop_index("ix_reviews_debtor_state")
        batch_op.drop_index(batch_op.f("ix_reviews_creditor_id"))
        batch_op.drop_constraint(batch_op.f("fk_reviews_creditor_id_creditors"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_reviews_campaign_id_campaigns"), type_="foreignkey")
        for column in ("action", "resolved_by", "resolution", "creditor_id", "campaign_id", "state"):
            batch_op.drop_column(column)
    op.drop_table("dialer_health")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_debt_id"))
    op.drop_table("payments")
