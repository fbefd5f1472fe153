"""A small asyncio Asterisk Manager Interface client: login, actions with responses, list actions, events.

Why not the ``asterisk-ami`` package: its reader is a thread on a socket with a 3 s timeout, so an idle
connection dies with ``socket.timeout`` unless a second thread keeps pinging; list actions
(``CoreShowChannels``) resolve on the first ``Response`` and their events are not tied to the action;
and its callbacks run on that thread, while the dialer's pacing and reconciliation are asyncio. The
protocol is lines of ``Key: Value`` ended by an empty line, which is a few dozen lines here.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ivr.errors import IvrError

log = logging.getLogger(__name__)

Message = dict[str, str]

LINE_LIMIT = 64 * 1024
"""Bytes in one AMI line; a longer line is skipped (asyncio's own ``readline`` would raise and stop the reader)."""
MESSAGE_MAX_LINES = 2000
"""Lines in one AMI message; beyond it the message is dropped up to its blank line (a peer that never ends one)."""
WRITE_DEADLINE_S = 10.0
"""Seconds an action may wait for the manager to take it."""


class LineTooLong:
    """Marker returned by ``read_bounded_line`` for a line that was skipped; ``size`` in bytes."""

    def __init__(self, size: int) -> None:
        self.size = size


async def read_bounded_line(reader: asyncio.StreamReader) -> bytes | LineTooLong:
    """The next line with its ``\\n``, ``b""`` at end of stream, or ``LineTooLong`` after skipping a line over
    the reader's limit up to and including its newline (resynchronised: the next call reads the next line).

    asyncio's ``readline`` raises ``ValueError`` on such a line and leaves the stream in an unknown place.
    """
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial  # end of stream; a partial last line is returned as is
    except asyncio.LimitOverrunError as exc:
        skipped = 0
        while True:
            # consumed: the newline's offset when it is in the buffer, else the bytes buffered so far.
            await reader.readexactly(exc.consumed)
            skipped += exc.consumed
            try:
                tail = await reader.readuntil(b"\n")
                return LineTooLong(skipped + len(tail))
            except asyncio.IncompleteReadError as inc:
                return LineTooLong(skipped + len(inc.partial))
            except asyncio.LimitOverrunError as again:
                exc = again


class AmiError(IvrError):
    """AMI unreachable, login refused, or an action failed; the message says which."""


class AmiAuthError(AmiError):
    """The AMI refused the login, or no secret was given: retrying cannot help."""


def parse_message(block: str) -> Message:
    """One AMI message (lines ``Key: Value``) → dict; a repeated key keeps its first value."""
    msg: Message = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            msg.setdefault(key.strip(), value.strip())
    return msg


def parse_trace(text: str) -> list[Message]:
    """A recorded AMI trace (messages separated by empty lines) → messages; the banner line is skipped."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [m for m in (parse_message(b) for b in blocks) if m and ("Event" in m or "Response" in m)]


def encode_action(fields: Iterable[tuple[str, str]]) -> bytes:
    """Fields in order (``Variable`` may repeat) → wire bytes; CR/LF in values would inject headers."""
    out = []
    for key, value in fields:
        if any(c in f"{key}{value}" for c in "\r\n"):
            raise ValueError(f"AMI field {key!r} contains a line break")
        out.append(f"{key}: {value}\r\n")
    return ("".join(out) + "\r\n").encode("utf-8")


@dataclass
class _Pending:
    future: asyncio.Future[Message]
    list_events: list[Message] | None = None
    complete_event: str | None = None
    done: asyncio.Future[list[Message]] | None = field(default=None)


class AmiClient:
    """One AMI session. ``on_event`` gets every unsolicited event; ``closed`` resolves when the link drops."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        on_event: Callable[[Message], None],
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.username, self._secret = host, port, username, secret
        self.on_event = on_event
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed: asyncio.Event = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self.closed.is_set()

    async def connect(self) -> None:
        """Open the socket, read the banner and log in; ``AmiError`` with the reason otherwise."""
        if not self._secret:
            raise AmiAuthError("the AMI secret is empty: set IVR_AMI_SECRET")
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=LINE_LIMIT), self.timeout
            )
            self._reader = reader
            banner = await asyncio.wait_for(reader.readline(), self.timeout)
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            why = str(exc) or f"no answer within {self.timeout:g} s"  # TimeoutError's text is empty
            raise AmiError(f"cannot reach AMI at {self.host}:{self.port}: {why}") from None
        if not banner.startswith(b"Asterisk Call Manager"):
            raise AmiError(f"{self.host}:{self.port} is not an Asterisk manager port")
        self.closed = asyncio.Event()
        self._task = asyncio.create_task(self._read_loop(), name="ami-reader")
        reply = await self.action(
            "Login", [("Username", self.username), ("Secret", self._secret), ("Events", "call,user")]
        )
        if reply.get("Response") != "Success":
            await self.close()
            raise AmiAuthError(
                f"AMI login as {self.username!r} refused: {reply.get('Message', 'no reason')}; "
                "check IVR_AMI_SECRET and manager_ivr.conf"
            )

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self._drop_pending("AMI connection closed")
        self.closed.set()

    def _drop_pending(self, why: str) -> None:
        for pending in self._pending.values():
            for fut in (pending.future, pending.done):
                if fut is not None and not fut.done():
                    fut.set_exception(AmiError(why))
        self._pending.clear()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        lines: list[str] = []
        overflow = False
        try:
            while True:
                raw = await read_bounded_line(self._reader)
                if isinstance(raw, LineTooLong):
                    # One line per skipped line, never the content (it may carry personal data).
                    log.warning(
                        "AMI: skipped a %d-byte line (limit %d) in a %s message",
                        raw.size,
                        LINE_LIMIT,
                        parse_message("\n".join(lines)).get("Event", "manager"),
                    )
                    continue
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line:
                    if not overflow:
                        lines.append(line)
                    if len(lines) > MESSAGE_MAX_LINES and not overflow:
                        log.warning("AMI: a message of more than %d lines was dropped", MESSAGE_MAX_LINES)
                        overflow, lines = True, []
                    continue
                if lines:
                    self._dispatch(parse_message("\n".join(lines)))
                lines, overflow = [], False
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("AMI connection lost: %s", exc)
        finally:
            self._drop_pending("AMI connection lost")
            self.closed.set()

    def _dispatch(self, msg: Message) -> None:
        action_id = msg.get("ActionID", "")
        pending = self._pending.get(action_id)
        # A reply is a message with Response and no Event: OriginateResponse carries Response and the
        # Originate's ActionID too, and may overtake the reply (asterisk.io PR #2, NodeJS-AsteriskManager #25).
        if "Response" in msg and "Event" not in msg and pending is not None:
            if not pending.future.done():
                pending.future.set_result(msg)
            if pending.list_events is None or msg.get("Response") != "Success":
                self._pending.pop(action_id, None)
                if pending.done is not None and not pending.done.done():
                    pending.done.set_result([])
            return
        if "Event" in msg and pending is not None and pending.list_events is not None:
            if msg["Event"] == pending.complete_event:
                self._pending.pop(action_id, None)
                if pending.done is not None and not pending.done.done():
                    pending.done.set_result(pending.list_events)
            else:
                pending.list_events.append(msg)
            return
        if "Event" in msg:
            try:
                self.on_event(msg)
            except Exception:  # one bad event must not stop the reader; the ledger recovery covers it
                log.exception("AMI event handler failed on %s", msg.get("Event"))

    async def _send(
        self, name: str, fields: Iterable[tuple[str, str]], action_id: str | None, list_complete: str | None
    ) -> tuple[_Pending, str]:
        if self._writer is None or self.closed.is_set():
            raise AmiError("not connected to AMI")
        action_id = action_id or f"a{next(self._ids)}"
        loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future())
        if list_complete is not None:
            pending.list_events, pending.complete_event, pending.done = [], list_complete, loop.create_future()
        self._pending[action_id] = pending
        self._writer.write(encode_action([("Action", name), ("ActionID", action_id), *fields]))
        try:
            await asyncio.wait_for(self._writer.drain(), WRITE_DEADLINE_S)
        except (OSError, TimeoutError) as exc:
            self._pending.pop(action_id, None)
            raise AmiError(f"AMI write failed: {exc or 'the manager stopped reading'}") from None
        return pending, action_id

    async def action(self, name: str, fields: Iterable[tuple[str, str]] = (), action_id: str | None = None) -> Message:
        """Send an action and wait for its ``Response`` message."""
        pending, action_id = await self._send(name, fields, action_id, None)
        try:
            return await asyncio.wait_for(pending.future, self.timeout)
        except asyncio.TimeoutError:
            self._pending.pop(action_id, None)
            raise AmiError(f"AMI action {name} timed out") from None

    async def action_list(
        self, name: str, complete_event: str, fields: Iterable[tuple[str, str]] = ()
    ) -> list[Message]:
        """A list action (``CoreShowChannels``): its events until ``complete_event``."""
        pending, action_id = await self._send(name, fields, None, complete_event)
        try:
            reply = await asyncio.wait_for(pending.future, self.timeout)
            if reply.get("Response") != "Success":
                raise AmiError(f"AMI {name} failed: {reply.get('Message', '')}")
            assert pending.done is not None
            return await asyncio.wait_for(pending.done, self.timeout)
        except asyncio.TimeoutError:
            self._pending.pop(action_id, None)
            raise AmiError(f"AMI action {name} timed out") from None

    async def live_channel_ids(self) -> set[str]:
        """Uniqueids of every channel Asterisk has now."""
        events = await self.action_list("CoreShowChannels", "CoreShowChannelsComplete")
        return {e.get("Uniqueid", "") for e in events} - {""}
