"""merge the schema branches of one release into a single head

Revision ID: 0099
Revises: the heads listed below
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

revision = "0099"
down_revision = ("1101", "1401", "1502")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
