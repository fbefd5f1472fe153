"""Wire formats as tables of literal lines and bytes: AGI replies, AudioSocket packets, keypad collection."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ivr.asterisk.agi import (
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiResult,
    AgiSession,
    AgiUsageError,
    parse_agi_env,
    parse_agi_result,
    quote,
)
from ivr.asterisk.audiosocket import Kind, Packet, ProtocolError, audio_packet, dtmf_packet, read_packet, uuid_packet
from ivr.callservice.call import DtmfCollector


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=1", AgiResult(1)),
        ("200 result=0", AgiResult(0)),
        ("200 result=-1", AgiResult(-1)),
        ("200 result=1 (4217)", AgiResult(1, "4217")),
        ("200 result=1 (debtor=7;reason=agent)", AgiResult(1, "debtor=7;reason=agent")),
        ("200 result=0 (timeout)", AgiResult(0, "timeout")),
        ("200 result=48 endpos=12345", AgiResult(48, "", "endpos=12345")),
        ("200 result=0 (timeout) endpos=8000", AgiResult(0, "timeout", "endpos=8000")),
        ("200 result=1\r\n", AgiResult(1)),
    ],
)
def test_agi_replies(line: str, expected: AgiResult) -> None:
    assert parse_agi_result(line) == expected


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("HANGUP", AgiHangup),
        ("510 Invalid or unknown command", AgiInvalidCommand),
        ("511 Command Not Permitted on a dead channel or intercept routine", AgiDeadChannel),
        ("520 End of proper usage.", AgiUsageError),
        ("200 result=abc", AgiError),
        ("garbage", AgiError),
    ],
)
def test_agi_errors_are_typed(line: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_agi_result(line)


def test_agi_environment_and_quoting() -> None:
    env = parse_agi_env(
        [
            "agi_network: yes",
            "agi_network_script: collect",
            "agi_channel: Local/11990000001@x-1;2",
            "agi_callerid: 1130000000",
            "not an agi line",
        ]
    )
    assert env == {
        "network": "yes",
        "network_script": "collect",
        "channel": "Local/11990000001@x-1;2",
        "callerid": "1130000000",
    }
    assert quote('a "b"\\c\nd') == '"a \\"b\\"\\\\c d"'


def _session(data: bytes) -> AgiSession:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()

    class _Writer:
        def __init__(self) -> None:
            self.sent = b""

        def is_closing(self) -> bool:
            return False

        def write(self, b: bytes) -> None:
            self.sent += b

        async def drain(self) -> None:
            return None

    return AgiSession(reader, _Writer())  # type: ignore[arg-type]


def test_agi_session_handles_async_hangup_and_multiline_usage() -> None:
    async def run() -> None:
        s = _session(
            b"agi_network_script: collect\n\nHANGUP\n200 result=1 (7)\n520-Invalid command syntax.\n"
            b"Usage: SET VARIABLE\n520 End of proper usage.\n"
        )
        assert (await s.read_env())["network_script"] == "collect" and s.script == "collect"
        assert await s.get_variable("IVR_ATTEMPT_ID") == "7"
        assert s.hung_up  # the HANGUP notice was remembered, the reply still read
        with pytest.raises(AgiUsageError, match="Usage: SET VARIABLE"):
            await s.set_variable("X", "1")
        with pytest.raises(AgiHangup):
            await s.command("NOOP")  # peer closed: never spin on EOF

    asyncio.run(run())


def test_agi_env_closed_early_raises_instead_of_spinning() -> None:
    async def run() -> None:
        with pytest.raises(AgiHangup):
            await _session(b"agi_network: yes\n").read_env(timeout=1)

    asyncio.run(run())


def test_audiosocket_packets_round_trip() -> None:
    call = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    frame = bytes(range(256)) + bytes(64)
    wire = uuid_packet(call) + dtmf_packet("9") + audio_packet(frame) + Packet(Kind.HANGUP).encode()
    assert wire[:3] == b"\x01\x00\x10" and wire[19:23] == b"\x03\x00\x019"

    async def run() -> list[Packet | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        return [await read_packet(reader) for _ in range(5)]

    first, digit, audio, hangup, end = asyncio.run(run())
    assert first is not None and first.call_uuid == call
    assert digit is not None and digit.digit == "9"
    assert audio is not None and audio.kind is Kind.AUDIO and audio.payload == frame
    assert hangup is not None and hangup.kind is Kind.HANGUP
    assert end is None


@pytest.mark.parametrize("wire", [b"\x10\x01", b"\x10\x01\x40" + bytes(10), b"\x42\x00\x00"])
def test_audiosocket_truncated_or_unknown_is_a_protocol_error(wire: bytes) -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        await read_packet(reader)

    with pytest.raises(ProtocolError):
        asyncio.run(run())


@pytest.mark.parametrize(
    ("max_digits", "keys", "now", "digits", "complete"),
    [
        (1, [("1", 0.0)], 0.0, "1", True),
        (4, [("0", 0.0), ("5", 0.3), ("1", 0.6), ("2", 0.9)], 1.0, "0512", True),
        (4, [("0", 0.0), ("5", 0.3), ("#", 0.6)], 0.7, "05", True),  # terminator ends early
        (4, [("0", 0.0), ("5", 0.3)], 1.0, "05", False),  # still typing
        (4, [("0", 0.0), ("5", 0.3)], 3.4, "05", True),  # inter-digit pause: take it
        (4, [("#", 0.0)], 5.0, "", False),  # terminator alone is nothing
    ],
)
def test_dtmf_collector(
    max_digits: int, keys: list[tuple[str, float]], now: float, digits: str, complete: bool
) -> None:
    c = DtmfCollector(max_digits, "#", inter_digit_s=3.0)
    for key, at in keys:
        c.press(key, at)
    assert (c.digits, c.expired(now)) == (digits, complete)
