"""What a call leaves in the database (issue 10): the protocol on the attempt, reviews for death and prison,
and callbacks tied to the number the call was on."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import results
from ivr.db.models import Attempt, Callback, Review
from ivr.vocabulary import HOLDING_REVIEW_REASONS, ReviewReason
from ivr.testing.factories import make_campaign, make_debtor, past_attempt

AT = dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.timezone.utc)


def _attempt(sessions: sessionmaker[Session], numbers: list[str] | None = None, index: int = 0) -> int:
    camp = make_campaign(sessions, policy={"creditor_cnpj": "12.345.678/0001-90"})
    debtor = make_debtor(sessions, camp, numbers or ["+5511987654321"], state="SP")
    aid = past_attempt(sessions, camp, debtor, AT, outcome="no_answer", number_index=index)
    with sessions.begin() as s:
        s.get(Attempt, aid).outcome = None  # type: ignore[union-attr]
    return aid


@pytest.mark.parametrize(
    ("outcome", "review"), [("deceased", "deceased"), ("unreachable_person", "unreachable_person")]
)
def test_death_and_prison_open_holding_reviews_and_store_the_protocol(
    sessions: sessionmaker[Session], outcome: str, review: str
) -> None:
    aid = _attempt(sessions)
    assert results.record_outcome(
        sessions, aid, outcome, note="reported", review=review, protocol="20260310000042", identity_confirmed=False
    )
    with sessions() as s:
        attempt = s.get(Attempt, aid)
        assert attempt is not None and attempt.protocol == "20260310000042" and attempt.right_party is False
        kinds = s.scalars(select(Review.kind).where(Review.attempt_id == aid)).all()
    assert kinds == [review] and ReviewReason(review) in HOLDING_REVIEW_REASONS


def test_a_review_reason_from_the_dialog_is_stored(sessions: sessionmaker[Session]) -> None:
    aid = _attempt(sessions)
    results.record_outcome(
        sessions, aid, "no_response", note="verification refused", review=ReviewReason.VERIFICATION_REFUSED
    )
    with sessions() as s:
        assert s.scalars(select(Review.kind).where(Review.attempt_id == aid)).all() == ["verification_refused"]


def test_callback_is_tied_to_the_number_the_call_was_on(sessions: sessionmaker[Session]) -> None:
    aid = _attempt(sessions, ["+5511987654321", "+5521987654321"], index=1)
    results.record_outcome(sessions, aid, "callback_scheduled", callback_at=dt.datetime(2026, 3, 11, 15, 0))
    with sessions() as s:
        cb = s.scalars(select(Callback).where(Callback.attempt_id == aid)).one()
        attempt = s.get(Attempt, aid)
        assert attempt is not None and cb.phone_id == attempt.phone_id


def test_call_info_carries_the_number_and_the_policy_cnpj(sessions: sessionmaker[Session]) -> None:
    from ivr.callservice.service import context_for

    aid = _attempt(sessions)
    info = results.load_call(sessions, aid)
    assert info.phone_e164 == "+5511987654321" and info.address_state == "SP"
    ctx = context_for(info, AT)
    assert ctx.creditor_cnpj == "12345678000190" and ctx.next_allowed_call is not None
    # Sunday 15 March 2026, 10:00 local: SP profile opens Monday 08:00.
    assert ctx.next_allowed_call(dt.datetime(2026, 3, 15, 10, 0)) == dt.datetime(2026, 3, 16, 8, 0)
