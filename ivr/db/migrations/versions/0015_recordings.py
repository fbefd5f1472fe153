"""recordings of calls (path, duration, size, SHA-256) and a per-campaign retention

Revision ID: 1501
Revises: 0003
Create Date: 2026-12-04 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1501"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'stored', 'missing')", name=op.f("ck_recordings_status")),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_recordings_attempt_id_attempts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_recordings_attempt_id")),
    )
    with op.batch_alter_table("campaigns", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("recording_retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None, recreate="auto") as batch_op:
        batch_op.drop_column("recording_retention_days")
    op.drop_table("recordings")
