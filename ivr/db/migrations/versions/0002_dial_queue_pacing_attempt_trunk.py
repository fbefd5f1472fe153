"""dial queue, pacing, attempt trunk

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:15:20.592929
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dial_pacing",
        sa.Column("trunk", sa.String(length=40), nullable=False),
        sa.Column("next_slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("trunk", name=op.f("pk_dial_pacing")),
    )
    op.create_table(
        "dial_queue",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("debt_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_dial_queue_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"], ["debts.id"], name=op.f("fk_dial_queue_debt_id_debts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"], ["debtors.id"], name=op.f("fk_dial_queue_debtor_id_debtors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "debtor_id", name=op.f("pk_dial_queue")),
    )
    with op.batch_alter_table("dial_queue", schema=None) as batch_op:
        batch_op.create_index("ix_dial_queue_due", ["campaign_id", "next_try_at"], unique=False)
        batch_op.create_index("ix_dial_queue_priority", ["campaign_id", "priority"], unique=False)

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trunk", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("trunk")
    with op.batch_alter_table("dial_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_dial_queue_priority")
        batch_op.drop_index("ix_dial_queue_due")
    op.drop_table("dial_queue")
    op.drop_table("dial_pacing")
