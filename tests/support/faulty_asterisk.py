"""A FAKE Asterisk for fault tests: the FastAGI client and AudioSocket client sides of a call, with hooks to
inject bytes. Real Asterisk cannot be made to send these faults on demand (tests/e2e is the real proof).

Adapted from the reproductions in ../shared/repro/telephony (sim.py); the bytes are theirs.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
import uuid
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

FRAME = 320
SILENCE = bytes(FRAME)


def pkt(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BH", kind, len(payload)) + payload


def env_bytes(attempt_id: int, port: int, eol: str = "\n") -> bytes:
    env = {
        "network": "yes",
        "network_script": "collect",
        "request": f"agi://127.0.0.1:{port}/collect",
        "channel": f"Local/sim-{attempt_id}@debtor-sim-00000001;2",
        "language": "pt_BR",
        "type": "Local",
        "uniqueid": f"{time.time():.6f}",
        "version": "22.10.1",
        "callerid": "1130000000",
        "context": "ivr-outbound",
        "extension": "s",
        "priority": "1",
    }
    return "".join(f"agi_{k}: {v}{eol}" for k, v in env.items()).encode() + eol.encode()


def loud(frame: bytes) -> bool:
    s = array("h", frame[: len(frame) - len(frame) % 2])
    return max(s, default=0) > 400 or -min(s, default=0) > 400


@dataclass
class Media:
    """One AudioSocket leg, caller side."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    kind: int = 0x10
    frame_bytes: int = FRAME
    bot_frames: int = 0
    bot_spoke: bool = False
    bot_quiet_since: float | None = None
    closed_by_service: bool = False
    stream: bool = True

    async def receive(self) -> None:
        while True:
            try:
                kind, ln = struct.unpack(">BH", await self.reader.readexactly(3))
                payload = await self.reader.readexactly(ln) if ln else b""
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                self.closed_by_service = True
                return
            if kind == 0x10 and loud(payload):
                self.bot_frames += 1
                self.bot_spoke, self.bot_quiet_since = True, None
            elif kind == 0x10 and self.bot_quiet_since is None:
                self.bot_quiet_since = time.monotonic()

    async def pace(self) -> None:
        """Caller audio: a silent frame every 20 ms, as a trunk sends."""
        nxt = time.monotonic()
        while not self.closed_by_service:
            if self.stream:
                try:
                    self.writer.write(pkt(self.kind, bytes(self.frame_bytes)))
                    await self.writer.drain()
                except (ConnectionError, OSError):
                    return
            nxt += 0.02
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))

    async def wait_prompt(self, timeout: float = 40.0, quiet: float = 0.9) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.closed_by_service:
            if self.bot_spoke and self.bot_quiet_since is not None and time.monotonic() - self.bot_quiet_since >= quiet:
                self.bot_spoke = False
                return True
            await asyncio.sleep(0.05)
        return False

    async def wait_closed(self, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.closed_by_service:
                return True
            await asyncio.sleep(0.05)
        return False

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


MediaScript = Callable[[Media], Awaitable[Any]]


async def press9_after_prompt(m: Media) -> bool:
    if not await m.wait_prompt():
        return False
    await m.send(pkt(0x03, b"9"))
    return await m.wait_closed(60)


@dataclass
class FakeCall:
    """One call as Asterisk would place it: the AGI session, and the media leg when EXEC AudioSocket comes."""

    agi_port: int
    attempt_id: int
    media_script: MediaScript | None = press9_after_prompt
    env: bytes | None = None
    reply_override: Callable[[FakeCall, str, int], str | None] | None = None
    media_kind: int = 0x10
    media_frame_bytes: int = FRAME
    rcvbuf: int | None = None
    """SO_RCVBUF of the media socket (small: a peer that stops reading back-pressures the service at once)."""
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    media: Media | None = None
    media_result: Any = None
    timed_out: bool = False

    async def run(self, timeout: float = 120.0) -> FakeCall:
        try:
            await asyncio.wait_for(self._agi(), timeout)
        except TimeoutError:
            self.timed_out = True
        return self

    async def _agi(self) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", self.agi_port)
        w.write(self.env if self.env is not None else env_bytes(self.attempt_id, self.agi_port))
        await w.drain()
        n = 0
        try:
            while line := await r.readline():
                cmd = line.decode("utf-8", "replace").rstrip("\n")
                self.commands.append(cmd)
                n += 1
                reply = self.reply_override(self, cmd, n) if self.reply_override else None
                if reply is None:
                    reply = await self._default(cmd)
                w.write(reply.encode())
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    async def _default(self, cmd: str) -> str:
        if cmd.startswith("GET VARIABLE IVR_ATTEMPT_ID"):
            return f"200 result=1 ({self.attempt_id})\n"
        if cmd.startswith("GET VARIABLE"):
            return "200 result=0\n"
        if cmd.startswith("SET VARIABLE"):
            m = re.match(r'SET VARIABLE (\S+) "(.*)"$', cmd)
            if m:
                self.variables[m.group(1)] = m.group(2)
            return "200 result=1\n"
        if cmd.startswith("EXEC AudioSocket"):
            m = re.match(r'EXEC AudioSocket "([0-9a-f-]{36}),([^:"]+):(\d+)"$', cmd)
            if m and self.media_script is not None:
                await self._media(uuid.UUID(m.group(1)), m.group(2), int(m.group(3)))
            return "200 result=0\n"
        return "200 result=1\n"

    async def _media(self, cid: uuid.UUID, host: str, port: int) -> None:
        sock = socket.socket()
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        r, w = await asyncio.open_connection(sock=sock)
        m = Media(r, w, self.media_kind, self.media_frame_bytes)
        self.media = m
        w.write(pkt(0x01, cid.bytes))
        await w.drain()
        rx = asyncio.create_task(m.receive())
        tx = asyncio.create_task(m.pace())
        try:
            assert self.media_script is not None
            self.media_result = await self.media_script(m)
        finally:
            for t in (tx, rx):
                t.cancel()
            await asyncio.gather(tx, rx, return_exceptions=True)
            w.close()
