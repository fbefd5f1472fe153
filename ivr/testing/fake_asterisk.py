"""Asterisk's side of FastAGI and AudioSocket, played by a program: for the load benchmark and service tests.

A simulated call connects to the service's FastAGI port as Asterisk would, answers its commands, opens the
AudioSocket leg when told to, streams caller audio in real-time 20 ms frames (silence between replies, like
a trunk), and plays a scripted debtor: it waits for the bot to finish a prompt, then speaks (PCM) or keys
DTMF. It measures what a caller would notice: time to the first bot audio, the turn latency from the end of
its reply to the bot's next sound, and gaps in the bot's audio stream.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from array import array
from dataclasses import dataclass, field

from ivr.asterisk.audiosocket import FRAME_BYTES, Kind, audio_packet, dtmf_packet, read_packet, uuid_packet

SPEECH_PEAK = 400
"""A received frame with a sample louder than this is bot speech."""
END_OF_PROMPT_S = 0.9
"""Bot silence that means the prompt is over and the caller may answer."""
LATE_FRAME_S = 0.030
"""A bot speech frame arriving later than its 20 ms slot plus this is a gap the caller hears."""
SILENT = bytes(FRAME_BYTES)


@dataclass(frozen=True)
class Reply:
    """One debtor turn: speech audio (8 kHz s16le), DTMF digits, or silence (say nothing)."""

    pcm: bytes = b""
    digits: str = ""
    label: str = ""


@dataclass
class CallResult:
    attempt_id: int
    variables: dict[str, str] = field(default_factory=dict)
    answer_to_first_audio_ms: float | None = None
    turn_latencies_ms: list[float] = field(default_factory=list)
    turn_kinds: list[str] = field(default_factory=list)
    """Parallel to ``turn_latencies_ms``: ``speech`` or ``dtmf``, what the caller's reply was (a speech turn
    includes the service's end-of-utterance silence, a keypad turn does not)."""
    underruns: int = 0
    bot_frames: int = 0
    protocol_errors: list[str] = field(default_factory=list)
    replies_sent: int = 0
    completed: bool = False
    heard_pcm: bytearray = field(default_factory=bytearray)


def _is_speech(frame: bytes) -> bool:
    samples = array("h", frame)
    return max(samples, default=0) > SPEECH_PEAK or -min(samples, default=0) > SPEECH_PEAK


class _CallerHungUp(Exception):
    pass


class SimulatedCall:
    """One call as Asterisk would drive it, from answer to the end of the AGI script."""

    def __init__(self, agi_host: str, agi_port: int, attempt_id: int, replies: list[Reply],
                 keep_audio: bool = False, think_s: float = 0.4) -> None:
        self.hung_up = False
        self.agi_host = agi_host
        self.agi_port = agi_port
        self.replies = list(replies)
        self.keep_audio = keep_audio
        self.think_s = think_s
        self.hang_up_after_replies: int | None = None
        """Hang up (close the media and AGI connections) after this many replies, once the bot answers."""
        self.result = CallResult(attempt_id)

    async def run(self, timeout: float = 180.0) -> CallResult:
        try:
            await asyncio.wait_for(self._agi(), timeout)
            self.result.completed = True
        except TimeoutError:
            self.result.protocol_errors.append("call did not finish in time")
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
            self.result.protocol_errors.append(f"connection: {exc}")
        return self.result

    async def _agi(self) -> None:
        reader, writer = await asyncio.open_connection(self.agi_host, self.agi_port)
        self.answered_at = time.monotonic()
        uid = f"{time.time():.6f}"
        env = {
            "network": "yes", "network_script": "collect", "request": f"agi://{self.agi_host}/collect",
            "channel": f"Local/sim-{self.result.attempt_id}@debtor-sim-00000001;2", "language": "pt_BR",
            "type": "Local", "uniqueid": uid, "version": "22.0.0", "callerid": "1130000000",
            "context": "ivr-outbound", "extension": "s", "priority": "1", "enhanced": "0.0",
        }
        writer.write("".join(f"agi_{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        await writer.drain()
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                command = line.decode().strip()
                writer.write((await self._answer(command) + "\n").encode())
                await writer.drain()
        except _CallerHungUp:
            writer.write(b"HANGUP\n200 result=-1\n")  # what Asterisk says when the channel goes away
        finally:
            writer.close()

    async def _answer(self, command: str) -> str:
        if command.startswith("GET VARIABLE"):
            name = command.split()[2]
            if name == "IVR_ATTEMPT_ID":
                return f"200 result=1 ({self.result.attempt_id})"
            return "200 result=0"
        if command.startswith("SET VARIABLE"):
            m = re.match(r'SET VARIABLE (\S+) "(.*)"$', command)
            if not m:
                self.result.protocol_errors.append(f"bad SET VARIABLE: {command}")
                return "520 Invalid command syntax."
            self.result.variables[m.group(1)] = m.group(2)
            return "200 result=1"
        if command.startswith("EXEC AudioSocket"):
            m = re.match(r'EXEC AudioSocket "([0-9a-f-]{36}),([^:"]+):(\d+)"$', command)
            if not m:
                self.result.protocol_errors.append(f"bad EXEC AudioSocket: {command}")
                return "200 result=-2"
            await self._media(uuid.UUID(m.group(1)), m.group(2), int(m.group(3)))
            if self.hung_up:
                raise _CallerHungUp
            return "200 result=0"
        if command.startswith(("VERBOSE", "ANSWER", "HANGUP", "NOOP")):
            return "200 result=1"
        self.result.protocol_errors.append(f"unexpected AGI command: {command}")
        return "510 Invalid or unknown command"

    async def _media(self, call_uuid: uuid.UUID, host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(uuid_packet(call_uuid))
        await writer.drain()
        self._bot_quiet_since: float | None = None
        self._bot_spoke = False
        self._reply_end: float | None = None
        self._reply_kind = "dtmf"
        self._expected_at: float | None = None
        receiver = asyncio.create_task(self._receive(reader))
        try:
            await self._talk(writer, receiver)
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        r = self.result
        while True:
            packet = await read_packet(reader)
            if packet is None or packet.kind is Kind.HANGUP:
                return
            if packet.kind is not Kind.AUDIO:
                r.protocol_errors.append(f"unexpected packet from service: {packet.kind.name}")
                continue
            if len(packet.payload) != FRAME_BYTES:
                r.protocol_errors.append(f"audio frame of {len(packet.payload)} bytes")
            now = time.monotonic()
            if self.keep_audio:
                r.heard_pcm += packet.payload
            if _is_speech(packet.payload):
                r.bot_frames += 1
                if r.answer_to_first_audio_ms is None:
                    r.answer_to_first_audio_ms = (now - self.answered_at) * 1000
                if self._reply_end is not None:
                    r.turn_latencies_ms.append((now - self._reply_end) * 1000)
                    r.turn_kinds.append(self._reply_kind)
                    self._reply_end = None
                if self._expected_at is not None and now - self._expected_at > LATE_FRAME_S:
                    r.underruns += 1
                self._expected_at = (self._expected_at + 0.020) if self._expected_at and now - self._expected_at < 0.5 \
                    else now + 0.020
                self._bot_spoke = True
                self._bot_quiet_since = None
            else:
                self._expected_at = None
                if self._bot_quiet_since is None:
                    self._bot_quiet_since = now

    def _prompt_over(self) -> bool:
        return (self._bot_spoke and self._bot_quiet_since is not None
                and time.monotonic() - self._bot_quiet_since >= END_OF_PROMPT_S)

    async def _talk(self, writer: asyncio.StreamWriter, receiver: asyncio.Task[None]) -> None:
        """Stream caller audio at real time; answer each prompt with the next scripted reply."""
        next_at = time.monotonic()
        queue: list[bytes] = []
        replies = list(self.replies)
        waiting_since: float | None = None
        while not receiver.done():
            if (self.hang_up_after_replies is not None and self.result.replies_sent >= self.hang_up_after_replies
                    and not queue and self._reply_end is None and self._bot_spoke):
                self.hung_up = True
                return
            if not queue and self._reply_end is None and self._prompt_over():
                if waiting_since is None:
                    waiting_since = time.monotonic()
                elif time.monotonic() - waiting_since >= self.think_s and replies:
                    reply = replies.pop(0)
                    self.result.replies_sent += 1
                    self._bot_spoke = False
                    waiting_since = None
                    self._reply_kind = "dtmf" if reply.digits else "speech"
                    if reply.digits:
                        for d in reply.digits:
                            writer.write(dtmf_packet(d))
                            await writer.drain()
                            await asyncio.sleep(0.12)
                        self._reply_end = time.monotonic()
                    elif reply.pcm:
                        queue = [reply.pcm[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
                                 for i in range(0, len(reply.pcm), FRAME_BYTES)]
                    # else silence: say nothing and let the bot time out
            frame = queue.pop(0) if queue else SILENT
            writer.write(audio_packet(frame))
            if queue == [] and frame is not SILENT and self._reply_end is None:
                self._reply_end = time.monotonic()
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                return
            next_at += 0.020
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
