"""Hostile protocol peers over real loopback TCP (a reviewer's adversarial table, issue 15 §3): AGI peers that
split lines across segments, end lines oddly, close mid-line or announce HANGUP mid-command; AMI peers that
interleave events with replies, send a Response with an Event header, skip the banner or send a 70 KiB line;
AudioSocket peers with odd wideband frames, short packets and wrong UUIDs. Each peer is a FAKE Asterisk
written as literal bytes (real Asterisk cannot be made to misbehave on demand)."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable

import pytest

from ivr.telephony.agi import AgiError, AgiHangup, AgiSession, AgiTimeout
from ivr.telephony.ami import AmiClient, AmiError, Message
from ivr.telephony.audiosocket import Kind, ProtocolError, read_packet
from ivr.telephony.call import LineResampler

Chunk = bytes | float
"""A peer script: bytes to send (one TCP segment each, Nagle off) or seconds to wait."""


async def _play(writer: asyncio.StreamWriter, script: list[Chunk], close: bool) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for part in script:
        if isinstance(part, float):
            await asyncio.sleep(part)
        else:
            writer.write(part)
            await writer.drain()
    if close:
        writer.close()


async def _agi_over_tcp(script: list[Chunk], close: bool,
                        use: Callable[[AgiSession], Awaitable[object]]) -> object:
    """The service side (AgiSession) accepts; a fake Asterisk connects and plays ``script``."""
    result: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            result.set_result(await use(AgiSession(reader, writer)))
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            result.set_exception(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, peer = await asyncio.open_connection("127.0.0.1", port)
    player = asyncio.create_task(_play(peer, script, close))
    try:
        return await asyncio.wait_for(result, 30)
    finally:
        player.cancel()
        peer.close()
        server.close()
        await server.wait_closed()


async def _env_then_get(s: AgiSession) -> str | None:
    await s.read_env(timeout=1.0, deadline=2.0)
    return await s.get_variable("IVR_ATTEMPT_ID")


ENV = b"agi_network: yes\nagi_network_script: collect\n\n"


@pytest.mark.parametrize(
    ("script", "close", "expected"),
    [
        # the 200 reply split across TCP segments, at every awkward place
        ([ENV, 0.05, b"20", 0.05, b"0 result=1 ", 0.05, b"(42", 0.05, b")\n"], False, "42"),
        # the environment itself split mid-key and mid-line ending (CRLF split between \r and \n)
        ([b"agi_net", 0.05, b"work: yes\r", 0.05, b"\n\r", 0.05, b"\n200 result=1 (42)\r\n"], False, "42"),
        # CRLF everywhere
        ([ENV.replace(b"\n", b"\r\n"), b"200 result=1 (42)\r\n"], False, "42"),
        # HANGUP announced before the reply, in its own segment: the reply still counts
        ([ENV, b"HANGUP\n", 0.05, b"200 result=1 (42)\n"], False, "42"),
        # a variable that is not set
        ([ENV, b"200 result=0\n"], False, None),
    ],
)
def test_agi_reply_read_across_segments_and_line_endings(script: list[Chunk], close: bool,
                                                         expected: str | None) -> None:
    assert asyncio.run(_agi_over_tcp(script, close, _env_then_get)) == expected


@pytest.mark.parametrize(
    ("script", "error", "reason"),
    [
        # HANGUP mid-command and then the connection closes: a hang-up, not a result
        ([ENV, b"HANGUP\n"], AgiHangup, "closed"),
        # the reply cut mid-line by the close: never read as a (wrong) result
        ([ENV, b"200 result=1 (4"], AgiHangup, "closed"),
        ([ENV, b"200 result=1"], AgiHangup, "closed"),
        # the environment never ends (no blank line) and the peer closes
        ([b"agi_network: yes\n" * 3], AgiHangup, "environment"),
    ],
)
def test_agi_peer_that_closes_mid_reply(script: list[Chunk], error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        asyncio.run(_agi_over_tcp(script, True, _env_then_get))


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        # CR-only line endings: no line ever ends, the environment deadline cuts it off
        ([b"agi_network: yes\ragi_network_script: collect\r\r200 result=1 (42)\r"], "AGI environment"),
        # the environment never ends: a line every 0.1 s, inside the per-line timeout
        ([b"agi_arg_1: x\n", 0.1] * 40, "not complete within 2 s"),
    ],
)
def test_agi_environment_that_never_ends_is_cut_off(script: list[Chunk], reason: str) -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(AgiTimeout, match=reason):
            await _agi_over_tcp(script, False, _env_then_get)
        assert loop.time() - start < 4.0

    asyncio.run(run())


def test_agi_environment_flood_is_refused() -> None:
    with pytest.raises(AgiError, match="more than 200 lines"):
        asyncio.run(_agi_over_tcp([b"agi_arg_1: x\n" * 5000], False, _env_then_get))
