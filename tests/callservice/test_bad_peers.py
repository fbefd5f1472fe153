"""The call path under bad peers (issue 15 §3): literal-bytes tables for each fault, then the service itself
against a FAKE Asterisk that injects it (tests/support/faulty_asterisk.py). Bytes from ../shared/repro/telephony.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import load_settings
from ivr.db.models import Attempt
from ivr.db.session import dispose_engines, open_database
from ivr.asterisk.agi import AgiError, AgiHangup, AgiSession, AgiTimeout
from ivr.asterisk.ami import AmiClient, LineTooLong, read_bounded_line
from ivr.asterisk.audiosocket import AUDIO_RATES, Kind, read_packet
from ivr.callservice.call import LineResampler, Speech
from ivr.callservice.service import CallService
from ivr.testing import factories
from tests.support.faulty_asterisk import FakeCall, Media, pkt, press9_after_prompt


class _Writer:
    def __init__(self) -> None:
        self.sent = b""

    def is_closing(self) -> bool:
        return False

    def write(self, b: bytes) -> None:
        self.sent += b

    async def drain(self) -> None:
        return None


def _agi(data: bytes, eof: bool = True) -> AgiSession:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return AgiSession(reader, _Writer())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ AGI


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        # panoramisk PR #79: the environment ended by two blank lines, then the reply
        (b"agi_network: yes\nagi_network_script: collect\n\n\n200 result=1 (42)\n", "42"),
        (b"agi_network: yes\r\nagi_network_script: collect\r\n\r\n\r\n200 result=1 (42)\r\n", "42"),
        # a blank line before the environment, and blank lines with spaces before the reply
        (b"\nagi_network: yes\n\n \n\t\n200 result=1 (42)\n", "42"),
        # a HANGUP notice between blank lines: the reply still follows
        (b"agi_network: yes\n\n\nHANGUP\n\n200 result=1 (42)\n", "42"),
    ],
)
def test_blank_lines_where_a_reply_is_due_are_skipped(wire: bytes, value: str) -> None:
    async def run() -> str | None:
        s = _agi(wire)
        await s.read_env()
        return await s.get_variable("IVR_ATTEMPT_ID")

    assert asyncio.run(run()) == value


def test_blank_line_before_the_set_variable_reply_keeps_the_session() -> None:
    """panoramisk PR #103: an empty line before the reply to SET VARIABLE IVR_OUTCOME; IVR_TRANSFER must follow."""

    async def run() -> bytes:
        s = _agi(b"\n200 result=1\n200 result=1\n")
        await s.set_variable("IVR_OUTCOME", "transferred")
        await s.set_variable("IVR_TRANSFER", "debtor=1;reason=agent")
        assert isinstance(s.writer, _Writer)
        return s.writer.sent

    assert asyncio.run(run()).count(b"SET VARIABLE") == 2


@pytest.mark.parametrize(
    ("wire", "error", "reason"),
    [
        (b"agi_network: yes\n\n", AgiTimeout, "no reply to GET VARIABLE from Asterisk within 0.2 s"),
        (b"agi_network: yes\n\n" + b"9" * 70000 + b"\n", AgiError, "longer than the 64 KiB limit"),
        (b"agi_network: yes\n\n200 result=" + b"9" * 5000 + b"\n", AgiError, "malformed AGI reply"),
    ],
)
def test_agi_read_failures_say_why(wire: bytes, error: type[Exception], reason: str) -> None:
    async def run() -> None:
        s = _agi(wire, eof=False)
        await s.read_env()
        await s.command("GET VARIABLE IVR_ATTEMPT_ID", timeout=0.2)

    with pytest.raises(error, match=reason):
        asyncio.run(run())


def test_agi_environment_has_an_overall_deadline() -> None:
    """A peer that sends one environment line every 0.1 s (inside the per-line timeout) is cut off anyway."""

    async def run() -> None:
        reader = asyncio.StreamReader()
        s = AgiSession(reader, _Writer())  # type: ignore[arg-type]

        async def trickle() -> None:
            for i in range(100):
                reader.feed_data(f"agi_arg_{i}: x\n".encode())
                await asyncio.sleep(0.1)

        feeder = asyncio.create_task(trickle())
        try:
            await s.read_env(timeout=0.5, deadline=1.0)
        finally:
            feeder.cancel()

    with pytest.raises(AgiTimeout, match=r"environment was not complete within 1 s \(\d+ lines"):
        asyncio.run(run())


def test_agi_environment_line_timeout_names_what_was_awaited() -> None:
    async def run(eof: bool) -> None:
        await _agi(b"agi_network: yes\n", eof=eof).read_env(timeout=0.2)

    with pytest.raises(AgiTimeout, match="no AGI environment line from Asterisk within 0.2 s"):
        asyncio.run(run(False))
    with pytest.raises(AgiHangup):
        asyncio.run(run(True))


# ------------------------------------------------------------------------------------------------ AMI


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"Event: X\r\n", [b"Event: X\r\n", b""]),
        (b"a" * 70000 + b"\r\nEvent: Y\r\n", [70002, b"Event: Y\r\n", b""]),  # found past the limit
        (b"b" * 200000 + b"\nEvent: Z\n", [200001, b"Event: Z\n", b""]),  # not found in one buffer
        (b"c" * 70000, [70000, b""]),  # cut by the end of stream
        (b"Event: partial", [b"Event: partial", b""]),
    ],
)
def test_bounded_reader_skips_overlong_lines_and_resynchronises(wire: bytes, expected: list[bytes | int]) -> None:
    async def run() -> list[bytes | int]:
        reader = asyncio.StreamReader(limit=64 * 1024)
        reader.feed_data(wire)
        reader.feed_eof()
        out: list[bytes | int] = []
        while True:
            line = await read_bounded_line(reader)
            out.append(line.size if isinstance(line, LineTooLong) else line)
            if line == b"":
                return out

    assert asyncio.run(run()) == expected


async def _fake_manager(script: list[bytes]) -> tuple[asyncio.Server, int]:
    """A FAKE AMI: banner, answers Login, then for the next action writes ``script`` (``{id}`` = its ActionID)."""

    async def read_block(r: asyncio.StreamReader) -> dict[str, str]:
        block: dict[str, str] = {}
        while True:
            line = (await r.readline()).decode().strip()
            if not line:
                if block:
                    return block
                continue
            k, _, v = line.partition(":")
            block[k] = v.strip()

    async def manager(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"Asterisk Call Manager/11.0.0\r\n")
        login = await read_block(r)
        w.write(f"Response: Success\r\nActionID: {login['ActionID']}\r\n\r\n".encode())
        await w.drain()
        action = await read_block(r)
        for chunk in script:
            w.write(chunk.replace(b"{id}", action["ActionID"].encode()))
        await w.drain()
        await r.read()  # until the client closes
        w.close()

    server = await asyncio.start_server(manager, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_ami_line_over_64k_is_skipped_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """FAForever/server #939 kind: one 70 kB line used to kill the reader; the events behind it were lost."""

    async def run() -> tuple[list[dict[str, str]], bool]:
        server, port = await _fake_manager(
            [
                b"Response: Success\r\nActionID: {id}\r\n\r\n",
                b"Event: UserEvent\r\nUserEvent: Big\r\nData: " + b"x" * 70000 + b"\r\n\r\n",
                b"Event: UserEvent\r\nUserEvent: IvrHangup\r\nAttemptId: 21\r\nCause: 16\r\n\r\n",
            ]
        )
        events: list[dict[str, str]] = []
        c = AmiClient("127.0.0.1", port, "ivr", "secret", events.append, timeout=3)
        await c.connect()
        await c.action("Ping")
        await asyncio.sleep(0.5)
        connected = c.connected
        await c.close()
        server.close()
        return events, connected

    with caplog.at_level(logging.WARNING, logger="ivr.asterisk.ami"):
        events, connected = asyncio.run(run())
    assert connected
    assert [e.get("UserEvent") for e in events] == ["Big", "IvrHangup"]
    assert "Data" not in events[0]
    assert [r.getMessage() for r in caplog.records] == [
        "AMI: skipped a 70008-byte line (limit 65536) in a UserEvent message"
    ]


def test_originate_response_before_the_reply_goes_to_the_ledger() -> None:
    """OriginateResponse carries Response and the Originate's ActionID: it must not be taken as the reply."""

    async def run() -> tuple[dict[str, str], list[dict[str, str]]]:
        server, port = await _fake_manager(
            [
                b"Event: OriginateResponse\r\nActionID: {id}\r\nResponse: Failure\r\nReason: 5\r\n"
                b"Channel: Local/11987654321@debtor-sim\r\nUniqueid: <null>\r\n\r\n",
                b"Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n",
            ]
        )
        events: list[dict[str, str]] = []
        c = AmiClient("127.0.0.1", port, "ivr", "s", events.append, timeout=3)
        await c.connect()
        reply = await c.action("Originate", [("Channel", "Local/1@x"), ("Async", "true")], action_id="ivr-42")
        await asyncio.sleep(0.3)
        await c.close()
        server.close()
        return reply, events

    reply, events = asyncio.run(run())
    assert reply == {"Response": "Success", "ActionID": "ivr-42", "Message": "Originate successfully queued"}
    assert [(e["Event"], e["Reason"]) for e in events] == [("OriginateResponse", "5")]


# ------------------------------------------------------------------------------------------------ AudioSocket


@pytest.mark.parametrize(
    ("wire", "kind", "rate"),
    [
        (b"\x10\x01\x40" + bytes(320), Kind.AUDIO, 8000),
        (b"\x11\x01\xe0" + bytes(480), Kind.AUDIO_12K, 12000),
        (b"\x12\x02\x80" + bytes(640), Kind.AUDIO_16K, 16000),
        (b"\x13\x03\xc0" + bytes(960), Kind.AUDIO_24K, 24000),
        (b"\x14\x05\x00" + bytes(1280), Kind.AUDIO_32K, 32000),
        (b"\x15\x06\xe4" + bytes(1764), Kind.AUDIO_44K, 44100),
        (b"\x16\x07\x80" + bytes(1920), Kind.AUDIO_48K, 48000),
        (b"\x17\x0f\x00" + bytes(3840), Kind.AUDIO_96K, 96000),
        (b"\x18\x1e\x00" + bytes(7680), Kind.AUDIO_192K, 192000),
        (b"\x03\x00\x019", Kind.DTMF, None),
    ],
)
def test_audio_kinds_0x10_to_0x18_are_audio_with_their_rate(wire: bytes, kind: Kind, rate: int | None) -> None:
    async def run() -> tuple[Kind, int | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        p = await read_packet(reader)
        assert p is not None
        return p.kind, p.rate

    assert asyncio.run(run()) == (kind, rate)


@pytest.mark.parametrize("rate", sorted(set(AUDIO_RATES.values()) - {8000}))
def test_wideband_audio_is_resampled_to_8k(rate: int) -> None:
    """One second of a 1 kHz tone at ``rate``, in 20 ms packets, comes out as about 8000 samples of 1 kHz."""
    n = rate // 50
    tone = (np.sin(2 * np.pi * 1000 * np.arange(rate) / rate) * 8000).astype("<i2").tobytes()
    r = LineResampler(rate)
    out = b"".join(r.feed(tone[i : i + 2 * n]) for i in range(0, len(tone), 2 * n))
    samples = np.frombuffer(out, dtype="<i2").astype(float)
    assert 7000 <= len(samples) <= 8000  # the resampler holds back a few ms while streaming
    spectrum = np.abs(np.fft.rfft(samples[-4000:]))
    peak_hz = np.argmax(spectrum) * 8000 / 4000
    assert abs(peak_hz - 1000) <= 4
    rms = math.sqrt(float(np.mean(samples[-4000:] ** 2)))
    assert 5000 < rms < 6000  # 8000 / sqrt(2): the level is kept


# ------------------------------------------------------------------------------------------------ the service


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    sessions = open_database(f"sqlite:///{tmp_path_factory.mktemp('bad-peers') / 'ivr.db'}")
    yield sessions
    dispose_engines()


def _attempt(db: sessionmaker[Session], n: int) -> int:
    camp = factories.campaign(db, name=f"bad-peers-{n}", policy={"listen_timeout_s": 2.5})
    d, p, debt = factories.debtor(db, camp, 500 + n)
    return factories.attempt(db, camp, d, p, debt)


def _service(db: sessionmaker[Session], speech: Speech, **env: str) -> CallService:
    return CallService(
        load_settings(None, env={"IVR_SERVICE_AGI_PORT": "0", "IVR_SERVICE_AUDIOSOCKET_PORT": "0", **env}), db, speech
    )


def _service_side_sockets(port: int) -> list[str]:
    import psutil

    return [
        f"{c.laddr} {c.raddr} {c.status}"
        for c in psutil.Process().net_connections("tcp")
        if c.laddr and c.laddr[1] == port and c.status != psutil.CONN_LISTEN
    ]


def test_blank_lines_and_wideband_audio_on_a_live_service(
    db: sessionmaker[Session], speech: Speech, caplog: pytest.LogCaptureFixture
) -> None:
    """Three calls at once: an environment ended by two blank lines; a blank line before the reply to
    SET VARIABLE IVR_OUTCOME of a caller who asked for a human; caller audio in kind 0x12 (slin16). Each
    must end transferred with IVR_TRANSFER set; a malformed UUID packet costs one warning, no traceback."""
    ids = [_attempt(db, n) for n in range(3)]

    def blank_before_reply(call: FakeCall, cmd: str, n: int) -> str | None:
        if cmd.startswith("SET VARIABLE IVR_OUTCOME") and not call.variables:
            call.variables["IVR_OUTCOME"] = cmd.split('"')[1]
            return "\n200 result=1\n"
        return None

    async def run() -> tuple[list[FakeCall], int, int]:
        svc = _service(db, speech)
        await svc.start()
        from tests.support.faulty_asterisk import env_bytes

        calls = [
            FakeCall(svc.agi_port, ids[0], env=env_bytes(ids[0], svc.agi_port) + b"\n"),
            FakeCall(svc.agi_port, ids[1], reply_override=blank_before_reply),
            FakeCall(svc.agi_port, ids[2], media_kind=0x12, media_frame_bytes=640),
        ]
        done = await asyncio.gather(*(c.run(90) for c in calls))
        # a UUID packet with the 36-character text form instead of 16 bytes
        r, w = await asyncio.open_connection("127.0.0.1", svc.audiosocket_port)
        w.write(pkt(0x01, b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"))
        await w.drain()
        closed = await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        await asyncio.sleep(0.2)
        tasks = len(svc._tasks)
        await svc.stop()
        return list(done), tasks, int(closed)

    with caplog.at_level(logging.INFO, logger="ivr"):
        done, tasks, closed = asyncio.run(run())
    for call in done:
        assert not call.timed_out and call.media_result is True, call.commands
        assert call.variables.get("IVR_OUTCOME") == "transferred" and "reason=agent" in call.variables["IVR_TRANSFER"]
    with db() as s:
        assert [s.get(Attempt, i).outcome for i in ids] == ["transferred"] * 3  # type: ignore[union-attr]
    assert closed and tasks == 0
    assert "caller audio at 16000 Hz; resampled to 8000 Hz" in caplog.text
    uuid_warnings = [r for r in caplog.records if "malformed call UUID" in r.getMessage()]
    assert len(uuid_warnings) == 1 and uuid_warnings[0].exc_info is None
    assert not any(r.exc_info for r in caplog.records)


def test_media_peer_that_stops_reading_is_aborted_and_forgotten(
    db: sessionmaker[Session], speech: Speech, caplog: pytest.LogCaptureFixture
) -> None:
    """A hung Asterisk across a network: the media peer stops reading, never closes. Small socket buffers on
    both sides (on loopback the kernel would otherwise absorb megabytes and hide it). The call must end in
    seconds, not at max_call_seconds (120 here), its outcome stored, the socket released and no task left."""
    aid = _attempt(db, 10)
    info: dict[str, object] = {}

    async def freeze(m: Media) -> bool:
        while m.bot_frames < 5:
            await asyncio.sleep(0.02)
        m.stream = False
        m.writer.transport.pause_reading()  # stops reading; the socket stays open
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        port = info["port"]
        assert isinstance(port, int)
        while _service_side_sockets(port) and loop.time() - t0 < 30:
            await asyncio.sleep(0.2)
        info["released_after_s"] = loop.time() - t0
        info["sockets"] = _service_side_sockets(port)
        return True

    async def run() -> tuple[FakeCall, int]:
        svc = _service(db, speech, IVR_SERVICE_MAX_CALL_SECONDS="120")
        await svc.start()
        svc._servers[1].sockets[0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        info["port"] = svc.audiosocket_port
        call = await FakeCall(svc.agi_port, aid, media_script=freeze, rcvbuf=4096).run(90)
        await asyncio.sleep(0.3)
        tasks = len(svc._tasks)
        await svc.stop()
        return call, tasks

    with caplog.at_level(logging.WARNING, logger="ivr"):
        call, tasks = asyncio.run(run())
    released = info["released_after_s"]
    assert isinstance(released, float) and released < 15, info
    assert info["sockets"] == [] and tasks == 0
    assert not call.timed_out
    with db() as s:
        assert s.get(Attempt, aid).outcome == "hung_up"  # type: ignore[union-attr]
    assert "media peer stopped reading for 3 s; connection aborted" in caplog.text


def test_fake_call_completes_normally(db: sessionmaker[Session], speech: Speech) -> None:
    """The fake itself can fail: a plain call must reach the transfer (so the fault tests above mean something)."""
    aid = _attempt(db, 20)

    async def run() -> FakeCall:
        svc = _service(db, speech)
        await svc.start()
        try:
            return await FakeCall(svc.agi_port, aid, media_script=press9_after_prompt).run(90)
        finally:
            await svc.stop()

    call = asyncio.run(run())
    assert call.variables.get("IVR_OUTCOME") == "transferred" and call.media is not None and call.media.bot_frames > 50
