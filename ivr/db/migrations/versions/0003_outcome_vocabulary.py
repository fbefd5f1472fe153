"""outcome vocabulary: proposal, deceased, unreachable_person

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when ivr.vocabulary does).
_OLD = (
    "no_answer",
    "busy",
    "failed",
    "voicemail",
    "promise_to_pay",
    "transferred",
    "callback_scheduled",
    "already_paid",
    "cannot_pay",
    "dispute",
    "opt_out",
    "wrong_party",
    "not_available",
    "no_response",
    "hung_up",
)
_NEW = (
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


def _check(values: tuple[str, ...]) -> str:
    return "outcome IS NULL OR outcome IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _replace(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("attempts", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_attempts_outcome"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attempts_outcome"), _check(values))


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    _replace(_OLD)
