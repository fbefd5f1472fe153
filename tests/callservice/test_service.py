"""The call service end to end over its real sockets, with Asterisk's side played by ivr.testing.fake_asterisk.

The real-Asterisk proof is tests/e2e; these tests reach corners Asterisk makes hard to provoke on demand.
All scenarios run as simultaneous calls against one service (calls are real time: this keeps the suite short
and exercises concurrency); each test then checks its own call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.db.models import Attempt, Callback, DoNotCall, Promise, Turn
from ivr.db.session import dispose_engines, open_database
from ivr.callservice.call import Speech
from ivr.testing.fake_asterisk import CallResult, Reply, SimulatedCall
from ivr.callservice.service import CallService
from ivr.testing import factories

TODAY = dt.date.today()
TARGET = TODAY + dt.timedelta(days=3)
DEBT_WORDS = ("reais", "valor", "vencimento", "dívida", "débito", "cento e cinquenta")


@dataclass
class Scenario:
    attempt_id: int
    debtor_id: int
    result: CallResult


SCRIPTS: dict[str, tuple[dict[str, object], list[Reply]]] = {
    "keypad_promise": (
        {},
        [Reply(digits="1"), Reply(digits="1"), Reply(digits=f"{TARGET.day:02d}{TARGET.month:02d}"), Reply(digits="1")],
    ),
    "agent": ({}, [Reply(digits="9")]),
    "silence": ({"listen_timeout_s": 2.5}, []),
    "wrong_person": ({}, [Reply(digits="2")]),
    "hang_up_after_identity": ({}, [Reply(digits="1")]),
    "hang_up_during_transfer_prompt": ({}, [Reply(digits="9")]),
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    sessions = open_database(f"sqlite:///{tmp_path_factory.mktemp('svc') / 'ivr.db'}")
    yield sessions
    dispose_engines()


@pytest.fixture(scope="module")
def calls(db: sessionmaker[Session], speech: Speech) -> dict[str, Scenario]:
    prepared: dict[str, tuple[int, int]] = {}
    for n, (name, (policy, _)) in enumerate(SCRIPTS.items()):
        camp = factories.campaign(db, name=name, policy=policy)
        d, p, debt = factories.debtor(db, camp, n, due=dt.date(2026, 11, 10))
        prepared[name] = (factories.attempt(db, camp, d, p, debt), d)

    async def run() -> dict[str, CallResult]:
        env = {"IVR_SERVICE_AGI_PORT": "0", "IVR_SERVICE_AUDIOSOCKET_PORT": "0"}
        service = CallService(load_settings(None, env=env), db, speech)
        await service.start()
        try:
            sims = {}
            for name, (_, replies) in SCRIPTS.items():
                sim = SimulatedCall("127.0.0.1", service.agi_port, prepared[name][0], replies)
                if name.startswith("hang_up_"):
                    sim.hang_up_after_replies = 1  # as soon as the bot starts answering that reply
                sims[name] = sim
            done = await asyncio.gather(*(s.run(timeout=120) for s in sims.values()))
            return dict(zip(sims, done))
        finally:
            await service.stop()

    results = asyncio.run(run())
    return {name: Scenario(prepared[name][0], prepared[name][1], results[name]) for name in SCRIPTS}


def _bot_text(db: sessionmaker[Session], attempt_id: int) -> str:
    with db() as s:
        return " ".join(
            t.text for t in s.scalars(select(Turn).where(Turn.attempt_id == attempt_id)) if t.speaker == "bot"
        ).lower()


def test_no_protocol_errors_and_steady_audio(calls: dict[str, Scenario]) -> None:
    for name, sc in calls.items():
        assert sc.result.protocol_errors == [], name
        assert sc.result.completed, name
        assert sc.result.answer_to_first_audio_ms is not None and sc.result.bot_frames > 50, name


def test_keypad_promise_is_stored_and_returned_to_the_dialplan(
    db: sessionmaker[Session], calls: dict[str, Scenario]
) -> None:
    sc = calls["keypad_promise"]
    assert sc.result.variables.get("IVR_OUTCOME") == "promise_to_pay"
    assert "IVR_TRANSFER" not in sc.result.variables
    with db() as s:
        attempt = s.get(Attempt, sc.attempt_id)
        assert attempt.outcome == "promise_to_pay" and attempt.right_party and attempt.answered_at is not None
        promise = s.scalars(select(Promise).where(Promise.attempt_id == sc.attempt_id)).one()
        assert promise.promised_date == TARGET and promise.amount == Decimal("150.50") and promise.confirmed
        turns = s.scalars(select(Turn).where(Turn.attempt_id == sc.attempt_id).order_by(Turn.seq)).all()
    assert [t.speaker for t in turns].count("debtor") == 4
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
    assert "cento e cinquenta reais" in _bot_text(db, sc.attempt_id)
    latencies = [t.latency_ms for t in turns if t.latency_ms is not None]
    assert latencies, "bot turns after an answer carry their latency"


def test_agent_request_by_keypad_transfers_with_context(db: sessionmaker[Session], calls: dict[str, Scenario]) -> None:
    sc = calls["agent"]
    assert sc.result.variables.get("IVR_OUTCOME") == "transferred"
    transfer = dict(kv.split("=", 1) for kv in sc.result.variables["IVR_TRANSFER"].split(";"))
    assert transfer["debtor"] == str(sc.debtor_id) and transfer["reason"]
    with db() as s:
        assert s.get(Attempt, sc.attempt_id).outcome == "transferred"


def test_silence_ends_politely_as_no_response_without_debt_words(
    db: sessionmaker[Session], calls: dict[str, Scenario]
) -> None:
    sc = calls["silence"]
    assert sc.result.variables.get("IVR_OUTCOME") == "no_response"
    said = _bot_text(db, sc.attempt_id)
    assert said and not any(w in said for w in DEBT_WORDS)


def test_wrong_person_hears_nothing_about_the_debt(db: sessionmaker[Session], calls: dict[str, Scenario]) -> None:
    sc = calls["wrong_person"]
    assert sc.result.variables.get("IVR_OUTCOME") == "wrong_party"
    said = _bot_text(db, sc.attempt_id)
    assert not any(w in said for w in DEBT_WORDS)
    with db() as s:
        assert not s.get(Attempt, sc.attempt_id).right_party


def test_caller_hanging_up_mid_call_is_recorded(db: sessionmaker[Session], calls: dict[str, Scenario]) -> None:
    sc = calls["hang_up_after_identity"]
    assert "IVR_OUTCOME" not in sc.result.variables  # the channel is gone: nothing to return to
    with db() as s:
        attempt = s.get(Attempt, sc.attempt_id)
        assert attempt.outcome == "hung_up"
        assert attempt.right_party  # identity confirmed, then the hang-up: reached for the day
        assert s.scalar(select(Promise.id).where(Promise.attempt_id == sc.attempt_id)) is None
        assert s.scalar(select(Callback.id).where(Callback.attempt_id == sc.attempt_id)) is None
        assert s.scalar(select(DoNotCall.id)) is None


def test_decision_survives_a_hang_up_during_the_closing_prompt(
    db: sessionmaker[Session], calls: dict[str, Scenario]
) -> None:
    """The caller asked for a human and hung up while the bot said it would transfer: still `transferred`."""
    sc = calls["hang_up_during_transfer_prompt"]
    with db() as s:
        attempt = s.get(Attempt, sc.attempt_id)
        assert attempt.outcome == "transferred"
        assert not attempt.right_party  # key 9 before confirming identity is not a right-party contact


def test_the_calls_are_counted_in_the_prometheus_metrics(calls: dict[str, Scenario]) -> None:
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    assert value("ivr_call_outcomes_total", outcome="promise_to_pay") >= 1
    assert value("ivr_call_outcomes_total", outcome="transferred") >= 1
    assert value("ivr_first_audio_seconds_count") >= len(calls)
    assert value("ivr_turn_latency_seconds_count") >= 4  # the keypad promise alone has four answered turns
    assert value("ivr_turn_latency_seconds_sum") > 0
    assert value("ivr_calls_active") == 0  # every call has ended
    assert REGISTRY.get_sample_value("ivr_audio_late_frames_total") is not None
