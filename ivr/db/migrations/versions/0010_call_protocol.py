"""call protocol number on attempts; the number a callback was asked on

Revision ID: 1001
Revises: 0003
Create Date: 2026-12-04 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1001"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("protocol", sa.String(length=24), nullable=True))
    with op.batch_alter_table("callbacks", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("phone_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_callbacks_phone_id_phones"), "phones", ["phone_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_callbacks_phone_id_phones"), type_="foreignkey")
        batch_op.drop_column("phone_id")
    with op.batch_alter_table("attempts", schema=None, recreate="auto") as batch_op:
        batch_op.drop_column("protocol")
