"""Asterisk's side of FastAGI and AudioSocket, played by a program: for the load benchmark and service tests.

A simulated call connects to the service's FastAGI port as Asterisk would, answers its commands, opens the
AudioSocket leg when told to, streams caller audio in real-time 20 ms frames (silence between replies, like
a trunk), and plays a scripted debtor: it waits for the bot to finish a prompt, then speaks (PCM) or keys
DTMF, or it interrupts the prompt (``Reply.barge_in_ms``). It measures what a caller would notice: time to
the first bot audio, the turn latency from the end of its reply to the bot's next sound, and gaps in the
bot's audio stream.

The per-frame path is cheap, because the load generator must not be what limits a load run: every call of
an event loop is paced by ONE shared 20 ms ticker (``_Ticker``: one timer per tick for all calls, which
writes each call's next frame), the packets are built once (silence, and each reply's frames when the
``Reply`` is made), and the media leg is an ``asyncio.Protocol`` that parses what arrives in place (no
coroutine, no packet object per frame; an all-zero frame is recognised as silence by one comparison).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import weakref
from dataclasses import dataclass, field

from ivr.asterisk.audiosocket import FRAME_BYTES, Kind, audio_packet, dtmf_packet, uuid_packet

SPEECH_PEAK = 400
"""A received frame with a sample louder than this is bot speech."""
END_OF_PROMPT_S = 0.9
"""Bot silence that means the prompt is over and the caller may answer."""
LATE_FRAME_S = 0.030
"""A bot speech frame arriving later than its 20 ms slot plus this is a gap the caller hears."""
TICK_S = 0.020
DIGIT_GAP_S = 0.12
"""Between two keypad digits of one reply."""
RESYNC_S = 0.100
"""The shared ticker catches up on late ticks up to this far behind, then starts afresh (never bursts)."""
SILENT = bytes(FRAME_BYTES)
SILENT_PACKET = audio_packet(SILENT)
_AUDIO = int(Kind.AUDIO)
_HANGUP = int(Kind.HANGUP)
_KNOWN_KINDS = frozenset(int(k) for k in Kind)


@dataclass(frozen=True)
class Reply:
    """One debtor turn: speech audio (8 kHz s16le), DTMF digits, or silence (say nothing).

    ``barge_in_ms``: start this many ms after the first audio of the bot's turn instead of after the turn
    ends (the caller interrupts). The service honours it only on prompts that allow barge-in; the latency
    of the turn is still counted from the end of the caller's input.
    """

    pcm: bytes = b""
    digits: str = ""
    label: str = ""
    barge_in_ms: int | None = None
    packets: tuple[bytes, ...] = field(default=(), init=False, repr=False, compare=False)
    """The speech as AudioSocket packets, built once (the per-frame path sends them as they are)."""

    def __post_init__(self) -> None:
        if self.pcm:
            pcm = self.pcm
            frames = (pcm[i : i + FRAME_BYTES].ljust(FRAME_BYTES, b"\0") for i in range(0, len(pcm), FRAME_BYTES))
            object.__setattr__(self, "packets", tuple(audio_packet(f) for f in frames))

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * 8000)


@dataclass
class CallResult:
    attempt_id: int
    variables: dict[str, str] = field(default_factory=dict)
    answer_to_first_audio_ms: float | None = None
    turn_latencies_ms: list[float] = field(default_factory=list)
    turn_kinds: list[str] = field(default_factory=list)
    """Parallel to ``turn_latencies_ms``: ``speech`` or ``dtmf``, what the caller's reply was (a speech turn
    includes the service's end-of-utterance silence, a keypad turn does not)."""
    turn_barge_in: list[bool] = field(default_factory=list)
    """Parallel to ``turn_latencies_ms``: the reply interrupted a prompt."""
    underruns: int = 0
    bot_frames: int = 0
    protocol_errors: list[str] = field(default_factory=list)
    replies_sent: int = 0
    barge_ins: int = 0
    """Replies started while the bot was still talking (``Reply.barge_in_ms``)."""
    barge_ins_stopped: int = 0
    """... of which the bot had gone quiet by the end of the caller's input (the service honoured them)."""
    completed: bool = False
    duration_s: float | None = None
    """From the AGI connection (answer) to the end of the AGI session."""
    heard_pcm: bytearray = field(default_factory=bytearray)


def _is_speech(frame: bytes | memoryview) -> bool:
    samples = memoryview(frame).cast("h")
    return max(samples, default=0) > SPEECH_PEAK or -min(samples, default=0) > SPEECH_PEAK


class _CallerHungUp(Exception):
    pass


class _Ticker:
    """One 20 ms clock for every simulated call of an event loop: one timer per tick, not one per call."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: dict[SimulatedCall, None] = {}  # insertion-ordered set
        self.task: asyncio.Task[None] | None = None

    def add(self, call: SimulatedCall) -> None:
        self.calls[call] = None
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())

    def discard(self, call: SimulatedCall) -> None:
        self.calls.pop(call, None)

    async def _run(self) -> None:
        loop = self.loop
        next_at = loop.time()
        while self.calls:
            now = time.monotonic()
            for call in list(self.calls):
                try:
                    call._tick(now)
                except Exception as exc:  # one broken call must not stop the clock of the others
                    call.result.protocol_errors.append(f"load generator: {exc!r}")
                    self.discard(call)
                    call._media_ended()
            next_at += TICK_S
            delay = next_at - loop.time()
            if delay < -RESYNC_S:
                next_at, delay = loop.time(), 0.0
            await asyncio.sleep(delay if delay > 0 else 0)
        _TICKERS.pop(loop, None)


_TICKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticker] = weakref.WeakKeyDictionary()


def _ticker() -> _Ticker:
    loop = asyncio.get_running_loop()
    ticker = _TICKERS.get(loop)
    if ticker is None or ticker.loop.is_closed():
        ticker = _TICKERS[loop] = _Ticker(loop)
    return ticker


class _Media(asyncio.Protocol):
    """The AudioSocket leg, parsed in place: the caller's ears."""

    def __init__(self, call: SimulatedCall) -> None:
        self.call = call
        self.rest = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.rest:
            data = self.rest + data
        call, now = self.call, time.monotonic()
        size, pos = len(data), 0
        view = memoryview(data)
        while size - pos >= 3:
            kind, length = data[pos], (data[pos + 1] << 8) | data[pos + 2]
            end = pos + 3 + length
            if end > size:
                break
            if kind == _AUDIO:
                if data.startswith(SILENT_PACKET, pos):
                    if call._bot_quiet_since is None or call._expected_at is not None or call.keep_audio:
                        call._heard(SILENT, False, now)  # else: more of the same silence, nothing to note
                else:
                    payload = view[pos + 3 : end]
                    if length != FRAME_BYTES:
                        call.result.protocol_errors.append(f"audio frame of {length} bytes")
                    call._heard(payload, length % 2 == 0 and _is_speech(payload), now)
            elif kind == _HANGUP:
                call._media_ended()
                return
            elif kind in _KNOWN_KINDS:
                call.result.protocol_errors.append(f"unexpected packet from service: {Kind(kind).name}")
            else:
                call.result.protocol_errors.append(f"unknown AudioSocket packet type 0x{kind:02x}")
                call._media_ended()
                return
            pos = end
        self.rest = data[pos:] if pos < size else b""

    def eof_received(self) -> bool | None:
        self.call._media_ended()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.call._media_ended()


class SimulatedCall:
    """One call as Asterisk would drive it, from answer to the end of the AGI script."""

    def __init__(
        self,
        agi_host: str,
        agi_port: int,
        attempt_id: int,
        replies: list[Reply],
        keep_audio: bool = False,
        think_s: float = 0.4,
    ) -> None:
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
        finally:
            if hasattr(self, "answered_at"):
                self.result.duration_s = time.monotonic() - self.answered_at
        return self.result

    async def _agi(self) -> None:
        reader, writer = await asyncio.open_connection(self.agi_host, self.agi_port)
        self.answered_at = time.monotonic()
        uid = f"{time.time():.6f}"
        env = {
            "network": "yes",
            "network_script": "collect",
            "request": f"agi://{self.agi_host}/collect",
            "channel": f"Local/sim-{self.result.attempt_id}@debtor-sim-00000001;2",
            "language": "pt_BR",
            "type": "Local",
            "uniqueid": uid,
            "version": "22.0.0",
            "callerid": "1130000000",
            "context": "ivr-outbound",
            "extension": "s",
            "priority": "1",
            "enhanced": "0.0",
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

    # -- the media leg ---------------------------------------------------------------------------------
    async def _media(self, call_uuid: uuid.UUID, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._ended: asyncio.Future[None] = loop.create_future()
        # What the caller hears (set by _heard) ...
        self._bot_quiet_since: float | None = None
        self._bot_spoke = False
        self._turn_started_at: float | None = None  # first bot speech since the caller's last reply began
        self._expected_at: float | None = None
        # ... and says (advanced by _tick).
        self._reply_end: float | None = None
        self._reply_kind = "dtmf"
        self._reply_barge = False
        self._pending = list(self.replies)
        self._packets: tuple[bytes, ...] = ()
        self._next_packet = 0
        self._digits = ""
        self._next_digit_at = 0.0
        self._waiting_since: float | None = None
        transport, _ = await loop.create_connection(lambda: _Media(self), host, port)
        self._transport = transport
        transport.write(uuid_packet(call_uuid))
        ticker = _ticker()
        ticker.add(self)
        try:
            await self._ended
        finally:
            ticker.discard(self)
            transport.close()

    def _media_ended(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)

    def _heard(self, frame: bytes | memoryview, speech: bool, now: float) -> None:
        r = self.result
        if self.keep_audio:
            r.heard_pcm += frame
        if speech:
            r.bot_frames += 1
            if r.answer_to_first_audio_ms is None:
                r.answer_to_first_audio_ms = (now - self.answered_at) * 1000
            if self._turn_started_at is None:
                self._turn_started_at = now
            if self._reply_end is not None:
                r.turn_latencies_ms.append((now - self._reply_end) * 1000)
                r.turn_kinds.append(self._reply_kind)
                r.turn_barge_in.append(self._reply_barge)
                self._reply_end = None
            expected = self._expected_at
            if expected is not None and now - expected > LATE_FRAME_S:
                r.underruns += 1
            self._expected_at = expected + TICK_S if expected and now - expected < 0.5 else now + TICK_S
            self._bot_spoke = True
            self._bot_quiet_since = None
        else:
            self._expected_at = None
            if self._bot_quiet_since is None:
                self._bot_quiet_since = now

    def _next_reply_due(self, now: float) -> bool:
        """The next scripted reply starts now: after the prompt and a moment's thought, or mid-prompt."""
        if not self._pending:
            return False
        barge_ms = self._pending[0].barge_in_ms
        if barge_ms is not None and self._turn_started_at is not None and self._bot_quiet_since is None:
            return now - self._turn_started_at >= barge_ms / 1000
        if not (
            self._bot_spoke and self._bot_quiet_since is not None and now - self._bot_quiet_since >= END_OF_PROMPT_S
        ):
            self._waiting_since = None
            return False
        if self._waiting_since is None:
            self._waiting_since = now
        return now - self._waiting_since >= self.think_s

    def _start_reply(self, now: float) -> None:
        reply = self._pending.pop(0)
        self.result.replies_sent += 1
        self._waiting_since = None
        self._reply_barge = reply.barge_in_ms is not None and self._bot_quiet_since is None
        if self._reply_barge:
            self.result.barge_ins += 1
        self._bot_spoke = False
        self._turn_started_at = None
        self._reply_kind = "dtmf" if reply.digits else "speech"
        if reply.digits:
            self._digits, self._next_digit_at = reply.digits, now
        elif reply.packets:
            self._packets, self._next_packet = reply.packets, 0
        # else silence: say nothing and let the bot time out

    def _reply_ended(self, now: float) -> None:
        self._turn_started_at = None  # the bot's next turn starts after the caller's input
        if self._reply_barge:
            if self._bot_quiet_since is not None and now - self._bot_quiet_since >= 0.2:
                self.result.barge_ins_stopped += 1
            else:
                return  # the bot talked on (a prompt that must be heard whole): no turn to time
        self._reply_end = now

    def _tick(self, now: float) -> None:
        """This call's part of one 20 ms tick: maybe start a reply, then write the next caller frame."""
        transport = self._transport
        if transport.is_closing():
            self._media_ended()
            return
        busy = self._next_packet < len(self._packets) or bool(self._digits)
        if not busy and self._reply_end is None:
            if (
                self.hang_up_after_replies is not None
                and self.result.replies_sent >= self.hang_up_after_replies
                and self._bot_spoke
            ):
                self.hung_up = True
                self._media_ended()
                return
            if self._next_reply_due(now):
                self._start_reply(now)
        if self._digits and now >= self._next_digit_at:
            transport.write(dtmf_packet(self._digits[0]))
            self._digits = self._digits[1:]
            self._next_digit_at = now + DIGIT_GAP_S
            if not self._digits:
                self._reply_ended(now)
        packets, n = self._packets, self._next_packet
        if n < len(packets):
            transport.write(packets[n])
            self._next_packet = n + 1
            if n + 1 == len(packets):
                self._packets, self._next_packet = (), 0
                self._reply_ended(now)
        else:
            transport.write(SILENT_PACKET)
