"""promise plans and items, payment instructions, the webhook outbox (issue 11)

Revision ID: 1101
Revises: 0003 (on branch i11, after merging i10 and i16: 1001 and 1601, so the branch has one head;
the integrator re-chains it)
Create Date: 2026-12-04 03:13:12.530553
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1101"
down_revision = ("1001", "1601")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "event_type IN ('promise.created', 'payment_instruction.requested', 'callback.scheduled', 'review.opened', 'call.completed')",
            name=op.f("ck_outbox_events_event_type"),
        ),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'dead')", name=op.f("ck_outbox_events_state")),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_outbox_events_attempt_id_attempts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_events_idempotency_key")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index("ix_outbox_events_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "promise_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("debt_id", sa.Integer(), nullable=True),
        sa.Column("promise_id", sa.Integer(), nullable=True),
        sa.Column("offer_type", sa.String(length=16), nullable=False),
        sa.Column("original_balance", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("discount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("down_payment", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "offer_type IN ('lump_sum', 'installments', 'partial', 'proposal')",
            name=op.f("ck_promise_plans_offer_type"),
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_promise_plans_attempt_id_attempts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"], ["debts.id"], name=op.f("fk_promise_plans_debt_id_debts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"], ["debtors.id"], name=op.f("fk_promise_plans_debtor_id_debtors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["promise_id"], ["promises.id"], name=op.f("fk_promise_plans_promise_id_promises"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promise_plans")),
    )
    with op.batch_alter_table("promise_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promise_plans_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promise_plans_debtor_id"), ["debtor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promise_plans_promise_id"), ["promise_id"], unique=False)

    op.create_table(
        "payment_instructions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('sms', 'whatsapp', 'email')", name=op.f("ck_payment_instructions_channel")),
        sa.CheckConstraint("method IN ('pix', 'boleto', 'link')", name=op.f("ck_payment_instructions_method")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_payment_instructions_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"], ["debtors.id"], name=op.f("fk_payment_instructions_debtor_id_debtors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["promise_plans.id"],
            name=op.f("fk_payment_instructions_plan_id_promise_plans"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_instructions")),
    )
    with op.batch_alter_table("payment_instructions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_instructions_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_instructions_debtor_id"), ["debtor_id"], unique=False)

    op.create_table(
        "promise_plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["promise_plans.id"],
            name=op.f("fk_promise_plan_items_plan_id_promise_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promise_plan_items")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_promise_plan_items_plan_id")),
    )
    with op.batch_alter_table("promise_plan_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promise_plan_items_plan_id"), ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("promise_plan_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promise_plan_items_plan_id"))

    op.drop_table("promise_plan_items")
    with op.batch_alter_table("payment_instructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_instructions_debtor_id"))
        batch_op.drop_index(batch_op.f("ix_payment_instructions_attempt_id"))

    op.drop_table("payment_instructions")
    with op.batch_alter_table("promise_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promise_plans_promise_id"))
        batch_op.drop_index(batch_op.f("ix_promise_plans_debtor_id"))
        batch_op.drop_index(batch_op.f("ix_promise_plans_attempt_id"))

    op.drop_table("promise_plans")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_due")
        batch_op.drop_index(batch_op.f("ix_outbox_events_attempt_id"))

    op.drop_table("outbox_events")
