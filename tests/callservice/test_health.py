"""The dialer's check of the call service, and a call whose media leg never connected, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.db.models import Attempt
from ivr.db.session import dispose_engines, open_database
from ivr.callservice.call import Speech
from ivr.callservice.health import check_fastagi, parse_address
from ivr.callservice.service import CallService
from ivr.testing import factories


@pytest.fixture
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    sessions = open_database(f"sqlite:///{tmp_path_factory.mktemp('health') / 'ivr.db'}")
    yield sessions
    dispose_engines()


def test_parse_address() -> None:
    assert parse_address("10.0.0.5:4600") == ("10.0.0.5", 4600)
    assert parse_address("svc") == ("svc", 4573)


async def _agi_without_media(port: int, attempt_id: int) -> dict[str, str]:
    """Asterisk's side of a call whose AudioSocket never connects (EXEC returns at once, no media socket)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    env = {"network": "yes", "network_script": "collect", "channel": "Local/x@debtor-sim;2", "uniqueid": "1.1"}
    writer.write("".join(f"agi_{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
    variables: dict[str, str] = {}
    while line := (await reader.readline()).decode().strip():
        if line == "GET VARIABLE IVR_ATTEMPT_ID":
            reply = f"200 result=1 ({attempt_id})"
        elif line.startswith("SET VARIABLE"):
            _, _, name, value = line.split(" ", 3)
            variables[name] = value.strip('"')
            reply = "200 result=1"
        elif line.startswith("EXEC AudioSocket"):
            reply = "200 result=-1"
        else:
            reply = "200 result=0"
        writer.write(f"{reply}\n".encode())
        await writer.drain()
    writer.close()
    return variables


def test_health_check_and_media_that_never_connected(db: sessionmaker[Session], speech: Speech) -> None:
    camp = factories.campaign(db)
    debtor, phone, debt = factories.debtor(db, camp, 1)
    attempt = factories.attempt(db, camp, debtor, phone, debt, state="answered")

    async def run() -> tuple[str | None, dict[str, str], str | None]:
        env = {"IVR_SERVICE_AGI_PORT": "0", "IVR_SERVICE_AUDIOSOCKET_PORT": "0"}
        service = CallService(load_settings(None, env=env), db, speech)
        await service.start()
        port = service.agi_port
        try:
            up = await check_fastagi("127.0.0.1", port, timeout=2)
            variables = await asyncio.wait_for(_agi_without_media(port, attempt), 30)
        finally:
            await service.stop()
        down = await check_fastagi("127.0.0.1", port, timeout=1)
        return up, variables, down

    up, variables, down = asyncio.run(run())
    assert up is None
    assert down is not None and str(down).startswith("127.0.0.1:")
    assert variables.get("IVR_OUTCOME") == "failed"
    with db() as s:
        row = s.get(Attempt, attempt)
        assert row is not None and (row.outcome, row.right_party, row.note) == (
            "failed",
            False,
            "media leg never connected",
        )


def test_dialer_pauses_while_the_service_is_down_and_guards_short_calls(
    sessions: sessionmaker[Session],
    db_url: str,
    speech: Speech,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The dialer's own checks, without Asterisk: the service check, newly imported debtors, the short-call guard."""
    import datetime as dt
    import socket

    from sqlalchemy import func, select

    from ivr.db.models import DialerHealth, DialQueue
    from ivr.dialer.dialer import Dialer
    from ivr.testing.factories import make_campaign, make_debtor

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    env = {
        "IVR_DATABASE_URL": db_url,
        "IVR_SERVICE_AGI_PORT": str(free),
        "IVR_SERVICE_AUDIOSOCKET_PORT": "0",
        "IVR_DIALER_SERVICE_CHECK_SECONDS": "0",
        "IVR_DIALER_SHORT_CALL_MIN_CALLS": "4",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(None)
    camp = make_campaign(sessions, "nov")
    make_debtor(sessions, camp, ["11987650001"], n=1)
    now = dt.datetime.now(dt.timezone.utc)
    dialer = Dialer(settings, sessions, "nov")

    async def checks() -> tuple[bool, bool]:
        down = await dialer._service_answers()
        service = CallService(settings, sessions, speech)
        await service.start()  # on the port the dialer checks
        try:
            up = await dialer._service_answers()
        finally:
            await service.stop()
        return down, up

    async def down_only() -> bool:
        return await dialer._service_answers()

    assert asyncio.run(down_only()) is False
    status = _status(capsys)
    assert status["dialer"].startswith("paused: call service unreachable since ")
    down, up = asyncio.run(checks())
    assert (down, up) == (False, True)
    with sessions() as s:
        health = s.get(DialerHealth, camp)
        assert health is not None and health.service_unreachable_since is None

    # A debtor imported while the campaign runs joins the queue without pause/resume.
    make_debtor(sessions, camp, ["11987650002"], n=2)
    # Five calls placed today (answered or not), four of them 6 s or less: 80 %, the throttle point before
    # Anatel's 85 %.
    with sessions.begin() as s:
        for i, seconds in enumerate((2, 3, 4, 5, 40)):
            start = now - dt.timedelta(minutes=10 + i)
            s.add(
                Attempt(
                    campaign_id=camp,
                    debtor_id=1,
                    phone_id=1,
                    state="ended",
                    scheduled_at=start,
                    started_at=start,
                    ended_at=start + dt.timedelta(seconds=seconds),
                    outcome="busy",
                )
            )
    dialer._refresh()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(DialQueue).where(DialQueue.campaign_id == camp)) == 2
        health = s.get(DialerHealth, camp)
        assert health is not None and health.throttled
    assert dialer.throttled
    main_out = _status(capsys)
    assert main_out["short_calls_placed_today"].startswith("4 of 5 placed calls lasted 6 s or less (80.0%) — throttled")
    assert main_out["dialer"].startswith("throttled")


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    import json

    from ivr.cli import main

    try:
        main(["campaign", "status", "nov", "--json"])
    except SystemExit:
        pass
    out: dict[str, str] = json.loads(capsys.readouterr().out)
    return out
