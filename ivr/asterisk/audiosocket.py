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
    """signed linear 16-bit little-endian mono, 8 kHz"""
    AUDIO_12K = 0x11
    AUDIO_16K = 0x12
    AUDIO_24K = 0x13
    AUDIO_32K = 0x14
    AUDIO_44K = 0x15
    AUDIO_48K = 0x16
    AUDIO_96K = 0x17
    AUDIO_192K = 0x18
    ERROR = 0xFF


AUDIO_RATES: dict[Kind, int] = {
    Kind.AUDIO: 8000,
    Kind.AUDIO_12K: 12000,
    Kind.AUDIO_16K: 16000,
    Kind.AUDIO_24K: 24000,
    Kind.AUDIO_32K: 32000,
    Kind.AUDIO_44K: 44100,
    Kind.AUDIO_48K: 48000,
    Kind.AUDIO_96K: 96000,
    Kind.AUDIO_192K: 192000,
}
"""Hertz of each audio kind: 0x10 is slin (8 kHz); 0x11-0x18 are slin12 ... slin192, which newer Asterisk
(app_audiosocket / chan_audiosocket, asterisk/asterisk PR #1492) sends for a wideband channel. All are signed
16-bit little-endian mono. The service replies in 0x10 (8 kHz): Asterisk translates what it receives."""


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
        """The call's UUID; ``ProtocolError`` if this is not a 16-byte UUID packet."""
        if self.kind is not Kind.UUID or len(self.payload) != 16:
            raise ProtocolError(f"not a UUID packet (type 0x{int(self.kind):02x}, {len(self.payload)} bytes)")
        return uuid.UUID(bytes=self.payload)

    @property
    def rate(self) -> int | None:
        """Hertz for an audio packet, None for any other kind."""
        return AUDIO_RATES.get(self.kind)

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
