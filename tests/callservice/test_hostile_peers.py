"""Hostile protocol peers over real loopback TCP (a reviewer's adversarial table, issue 15 §3): AGI peers that
split lines across segments, end lines oddly, close mid-line or announce HANGUP mid-command; AMI peers that
interleave events with replies, send a Response with an Event header, skip the banner or send a 70 KiB line;
AudioSocket peers with odd wideband frames, short packets and wrong UUIDs. Each peer is a FAKE Asterisk
written as literal bytes (real Asterisk cannot be made to misbehave on demand)."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable

import pytest

from ivr.config import load_settings
from ivr.db.models import Attempt
from ivr.db.session import dispose_engines, open_database
from ivr.asterisk.agi import AgiError, AgiHangup, AgiSession, AgiTimeout
from ivr.asterisk.ami import AmiClient, AmiError, Message
from ivr.asterisk.audiosocket import AUDIO_RATES, Kind, ProtocolError, read_packet
from ivr.callservice.call import LineResampler, Speech
from ivr.callservice.service import CallService
from ivr.testing import factories
from tests.support.faulty_asterisk import FakeCall, Media, pkt, press9_after_prompt
from tests.callservice.test_bad_peers import _service_side_sockets

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


async def _agi_over_tcp(script: list[Chunk], close: bool, use: Callable[[AgiSession], Awaitable[object]]) -> object:
    """The service side (AgiSession) accepts; a fake Asterisk connects and plays ``script``."""
    result: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            result.set_result(await use(AgiSession(reader, writer)))
        except Exception as exc:
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
def test_agi_reply_read_across_segments_and_line_endings(
    script: list[Chunk], close: bool, expected: str | None
) -> None:
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


# ------------------------------------------------------------------------------------------------ AMI

Reply = Callable[[dict[str, str]], list[Chunk]]
"""A fake manager's answer to one action (its headers): the chunks to send."""


class _Peer:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.ended = asyncio.Event()
        """The client closed its end (the fake read end of stream)."""


async def _ami_server(banner: bytes, reply: Reply) -> tuple[asyncio.Server, int, list[_Peer]]:
    peers: list[_Peer] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _Peer(writer)
        peers.append(peer)
        try:
            await _play(writer, [banner], close=False)
            while True:
                head: dict[str, str] = {}
                while line := (await reader.readline()).decode().strip():
                    k, _, v = line.partition(":")
                    head[k.strip()] = v.strip()
                if not head:
                    return
                await _play(writer, reply(head), close=False)
        except (ConnectionError, OSError):
            return
        finally:
            peer.ended.set()
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], peers


BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def _ok(head: dict[str, str], extra: str = "") -> bytes:
    return f"Response: Success\r\nActionID: {head['ActionID']}\r\n{extra}\r\n".encode()


def _ev(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode() + b"\r\n"


def test_ami_events_interleaved_with_replies_and_event_lookalikes() -> None:
    """Before the Originate's reply: its own OriginateResponse (Response + Event, same ActionID), an event of
    another ActionID, a reply-shaped message of another ActionID, then a 70 KiB line inside an event; after
    it: ordinary events. The reply is the real one and every event is delivered, in order."""

    def reply(head: dict[str, str]) -> list[Chunk]:
        if head["Action"] != "Originate":
            return [_ok(head)]
        aid = head["ActionID"]
        return [
            _ev(f"Event: OriginateResponse\nResponse: Failure\nActionID: {aid}\nReason: 5\n"),
            _ev("Event: UserEvent\nUserEvent: IvrAmd\nActionID: other-1\nAttemptId: 7\n"),
            _ev("Response: Success\nActionID: other-2\nMessage: not yours\n"),
            b"Event: UserEvent\r\nUserEvent: IvrBig\r\nJunk: " + b"x" * 70 * 1024,
            0.05,
            b"\r\nAttemptId: 8\r\n\r\n",
            f"Response: Success\r\nActionID: {aid}\r\nMessage: Originate successfully queued\r\n\r\n".encode(),
            _ev("Event: UserEvent\nUserEvent: IvrHangup\nAttemptId: 9\n"),
        ]

    async def run() -> tuple[Message, list[Message]]:
        server, port, _ = await _ami_server(BANNER, reply)
        events: list[Message] = []
        client = AmiClient("127.0.0.1", port, "ivr", "s", events.append, timeout=5)
        try:
            await client.connect()
            got = await client.action("Originate", [("Channel", "Local/1@x")], action_id="ivr-5")
            for _ in range(50):
                if len(events) >= 4:
                    break
                await asyncio.sleep(0.02)
            assert client.connected
            return got, events
        finally:
            await client.close()
            server.close()

    got, events = asyncio.run(run())
    assert got.get("Message") == "Originate successfully queued"
    assert [e.get("UserEvent") or e["Event"] for e in events] == ["OriginateResponse", "IvrAmd", "IvrBig", "IvrHangup"]
    assert events[2].get("AttemptId") == "8" and "Junk" not in events[2]


@pytest.mark.parametrize(
    ("banner", "reason"),
    [
        (b"Response: Success\r\nMessage: hi\r\n\r\n", "not an Asterisk manager port"),  # no banner at all
        (b"", "no answer within 0.5 s"),  # silent port
        (b"x" * 70 * 1024 + b"\r\n", "cannot reach AMI"),  # a 70 KiB "banner"
    ],
)
def test_ami_without_a_banner_is_refused_and_leaves_no_socket(banner: bytes, reason: str) -> None:
    async def run() -> None:
        server, port, peers = await _ami_server(banner, lambda head: [_ok(head)])
        client = AmiClient("127.0.0.1", port, "ivr", "s", lambda e: None, timeout=0.5)
        try:
            with pytest.raises(AmiError, match=reason):
                await client.connect()
            await client.close()  # what the dialer does before retrying
            # the client's end is closed: the fake manager reads end of stream
            assert peers
            await asyncio.wait_for(peers[0].ended.wait(), 2)
        finally:
            server.close()

    asyncio.run(run())


def test_ami_reconnect_after_the_manager_drops_the_link() -> None:
    """The manager closes the link mid-event: the client says closed, pending actions fail at once, and a new
    client (the dialer's reconnect) logs in again on the same port."""

    async def run() -> None:
        drop = {"n": 0}

        def reply(head: dict[str, str]) -> list[Chunk]:
            if head["Action"] == "Ping" and drop["n"] == 0:
                drop["n"] += 1
                return [b"Event: UserEvent\r\nUserEvent: Ivr"]  # then the fake closes: see below
            return [_ok(head)]

        server, port, peers = await _ami_server(BANNER, reply)
        client = AmiClient("127.0.0.1", port, "ivr", "s", lambda e: None, timeout=2)
        await client.connect()
        ping = asyncio.create_task(client.action("Ping"))
        await asyncio.sleep(0.1)
        peers[0].writer.transport.abort()
        with pytest.raises(AmiError, match="lost|closed"):
            await asyncio.wait_for(ping, 3)
        await asyncio.wait_for(client.closed.wait(), 3)
        assert not client.connected
        await client.close()
        again = AmiClient("127.0.0.1", port, "ivr", "s", lambda e: None, timeout=2)
        await again.connect()
        assert (await again.action("Ping")).get("Response") == "Success"
        await again.close()
        server.close()

    asyncio.run(run())


# ------------------------------------------------------------------------------------------------ AudioSocket


async def _packets(wire: bytes) -> list[tuple[int, int]]:
    reader = asyncio.StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    got: list[tuple[int, int]] = []
    while (p := await read_packet(reader)) is not None:
        got.append((int(p.kind), len(p.payload)))
    return got


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        # every wideband kind, odd lengths (1, 3, 641 bytes) and empty payloads
        (b"".join(struct.pack(">BH", k, n) + bytes(n) for k in range(0x11, 0x19) for n in (1, 3, 0, 641)), None),
        # a length header larger than the payload, then the close
        (struct.pack(">BH", 0x12, 640) + bytes(10), "inside a packet"),
        # a header cut after its first byte
        (b"\x10", "inside a packet header"),
        # an unknown kind
        (struct.pack(">BH", 0x19, 2) + b"\x00\x00", "unknown AudioSocket packet type 0x19"),
    ],
)
def test_audiosocket_packet_table(wire: bytes, error: str | None) -> None:
    if error is None:
        got = asyncio.run(_packets(wire))
        assert [k for k, _ in got] == [k for k in range(0x11, 0x19) for _ in range(4)]
        return
    with pytest.raises(ProtocolError, match=error):
        asyncio.run(_packets(wire))


@pytest.mark.parametrize("payload", [b"", bytes(15), bytes(17), bytes(36)])
def test_uuid_packet_of_the_wrong_length_is_a_protocol_error(payload: bytes) -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(struct.pack(">BH", Kind.UUID, len(payload)) + payload)
        reader.feed_eof()
        p = await read_packet(reader)
        assert p is not None
        p.call_uuid  # noqa: B018 - the property raises

    with pytest.raises(ProtocolError, match=f"not a UUID packet \\(type 0x01, {len(payload)} bytes\\)"):
        asyncio.run(run())


@pytest.mark.parametrize("rate", [12000, 44100, 192000])
def test_odd_wideband_chunks_resample_like_whole_frames(rate: int) -> None:
    """Odd-length packets (an odd byte carried to the next one) give the same 8 kHz audio as whole frames, to
    soxr's rounding (its output depends by a few LSB on how the input was chunked)."""
    import numpy as np

    tone = (np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 6000).astype("<i2").tobytes()
    whole, odd = LineResampler(rate), LineResampler(rate)
    a = b"".join(whole.feed(tone[i : i + rate // 25]) for i in range(0, len(tone), rate // 25))
    b = b"".join(odd.feed(tone[i : i + 333]) for i in range(0, len(tone), 333))
    n = min(len(a), len(b)) // 2
    assert n > 7000
    diff = np.abs(np.frombuffer(a, "<i2")[:n].astype(int) - np.frombuffer(b, "<i2")[:n].astype(int))
    assert diff.max() <= 8  # a byte slip would show as noise of thousands


# ------------------------------------------------------------------------------------------------ live


def test_hostile_media_legs_on_a_live_service(
    tmp_path_factory: pytest.TempPathFactory, speech: Speech, caplog: pytest.LogCaptureFixture
) -> None:
    """Three calls at once against the real CallService: (a) the caller's audio hops between kinds 0x11-0x18
    in odd-length packets and keys 9 after the prompt; (b) keys 9 while the bot is still speaking (DTMF during
    playback); (c) sends a packet whose length header is larger than its payload and closes. (a) and (b) end
    transferred; (c) ends, with its outcome stored; no traceback, no task, no service-side socket left."""
    sessions = open_database(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'ivr.db'}")
    ids = []
    for n in range(3):
        camp = factories.campaign(sessions, name=f"hostile-{n}", policy={"listen_timeout_s": 2.5})
        d, p, debt = factories.debtor(sessions, camp, 700 + n)
        ids.append(factories.attempt(sessions, camp, d, p, debt))

    async def hopping(m: Media) -> bool:
        m.stream = False
        kinds = list(range(0x11, 0x19))

        async def send_hopping() -> None:
            i = 0
            while not m.closed_by_service:
                kind = kinds[i % len(kinds)]
                rate = AUDIO_RATES[Kind(kind)]
                n = rate // 50 * 2 + (1 if i % 3 == 0 else -1)  # 20 ms, one byte more or less
                try:
                    await m.send(pkt(kind, bytes(n)))
                except (ConnectionError, OSError):
                    return
                i += 1
                await asyncio.sleep(0.02)

        sender = asyncio.create_task(send_hopping())
        try:
            return await press9_after_prompt(m)
        finally:
            sender.cancel()

    async def key_while_speaking(m: Media) -> bool:
        end = asyncio.get_running_loop().time() + 40
        while m.bot_frames < 10 and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.02)
        await m.send(pkt(0x03, b"9"))  # the bot is mid-sentence
        return await press9_after_prompt(m)

    async def short_packet(m: Media) -> bool:
        await m.wait_prompt()
        m.stream = False
        await asyncio.sleep(0.05)
        m.writer.write(struct.pack(">BH", 0x10, 640) + bytes(10))
        await m.writer.drain()
        m.writer.close()
        return True

    async def run() -> tuple[list[FakeCall], int, list[str]]:
        svc = CallService(
            load_settings(None, env={"IVR_SERVICE_AGI_PORT": "0", "IVR_SERVICE_AUDIOSOCKET_PORT": "0"}),
            sessions,
            speech,
        )
        await svc.start()
        calls = [
            FakeCall(svc.agi_port, ids[0], media_script=hopping),
            FakeCall(svc.agi_port, ids[1], media_script=key_while_speaking),
            FakeCall(svc.agi_port, ids[2], media_script=short_packet),
        ]
        done = await asyncio.gather(*(c.run(90) for c in calls))
        await asyncio.sleep(0.3)
        left = _service_side_sockets(svc.audiosocket_port) + _service_side_sockets(svc.agi_port)
        tasks = len(svc._tasks)
        await svc.stop()
        return list(done), tasks, left

    with caplog.at_level(logging.INFO, logger="ivr"):
        done, tasks, left = asyncio.run(run())
    dispose_engines()
    assert not any(c.timed_out for c in done), [c.commands for c in done]
    with sessions() as s:
        outcomes = [s.get(Attempt, i).outcome for i in ids]  # type: ignore[union-attr]
    assert outcomes[:2] == ["transferred", "transferred"], (outcomes, [c.commands for c in done])
    assert outcomes[2] is not None
    assert tasks == 0 and left == []
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]
