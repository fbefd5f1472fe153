"""debt payment columns: boleto line and payment link on debts, e-mail on debtors (import, issue 11/16)

Revision ID: 1601
Revises: 0003
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '1601'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('debts', schema=None, recreate='auto') as batch_op:
        batch_op.add_column(sa.Column('boleto_line', sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column('payment_link', sa.String(length=2000), nullable=True))
    with op.batch_alter_table('debtors', schema=None, recreate='auto') as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('debtors', schema=None, recreate='auto') as batch_op:
        batch_op.drop_column('email')
    with op.batch_alter_table('debts', schema=None, recreate='auto') as batch_op:
        batch_op.drop_column('payment_link')
        batch_op.drop_column('boleto_line')
