"""AudioSocket wire format: 1 byte type, 2 bytes big-endian length, payload (Asterisk app_audiosocket)."""

from __future__ import annotations

import asyncio
import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

FRAME_MS = 20
"""Milliseconds of audio in one frame."""
FRAME_BYTES = 320
"""20 ms of 8 kHz signed 16-bit little-endian mono."""
_HEADER = struct.Struct(">BH")


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


class ProtocolError(Exception):
    """The peer sent something that is not AudioSocket."""


@dataclass(frozen=True)
class Packet:
    kind: Kind
    payload: bytes = b""

    def encode(self) -> bytes:
        return _HEADER.pack(self.kind, len(self.payload)) + self.payload

    @property
    def call_uuid(self) -> uuid.UUID:
        if self.kind is not Kind.UUID or len(self.payload) != 16:
            raise ProtocolError("not a UUID packet")
        return uuid.UUID(bytes=self.payload)

    @property
    def digit(self) -> str:
        return self.payload[:1].decode("ascii", "replace")


def audio_packet(pcm: bytes) -> bytes:
    """Encoded audio packet (the hot path: no dataclass)."""
    return _HEADER.pack(Kind.AUDIO, len(pcm)) + pcm




def uuid_packet(value: uuid.UUID) -> bytes:
    return Packet(Kind.UUID, value.bytes).encode()


def dtmf_packet(digit: str) -> bytes:
    return Packet(Kind.DTMF, digit.encode("ascii")).encode()


async def read_packet(reader: asyncio.StreamReader) -> Packet | None:
    """The next packet, or None when the peer closed the connection cleanly between packets."""
    try:
        header = await reader.readexactly(3)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError("connection closed inside a packet header") from None
        return None
    kind_byte, length = _HEADER.unpack(header)
    try:
        kind = Kind(kind_byte)
    except ValueError:
        raise ProtocolError(f"unknown AudioSocket packet type 0x{kind_byte:02x}") from None
    try:
        payload = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed inside a packet") from None
    return Packet(kind, payload)
