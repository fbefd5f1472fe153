"""FastAGI protocol: a pure reply parser and an asyncio session for one call.

Not pyst2: pyst2 is synchronous (blocking file objects, one thread per call) and ends the whole process
with ``sys.exit`` when the channel hangs up, which a server carrying many calls cannot afford. The
protocol is small; it is parsed here with typed errors, as panoramisk does, and tested on literal lines.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

_RESULT = re.compile(r"^200 result=(-?[0-9]{1,18})(?: \((.*?)\))?(?: (.*))?$")
"""``result=`` is a C int in Asterisk; 18 ASCII digits bound it (a 5000-digit value would make ``int()`` fail)."""


class AgiError(Exception):
    """Asterisk refused or failed an AGI command."""


class AgiHangup(AgiError):
    """The channel hung up; no further commands will run."""


class AgiInvalidCommand(AgiError):
    """510: Asterisk does not know the command."""


class AgiUsageError(AgiError):
    """520: the command's arguments were wrong."""


class AgiDeadChannel(AgiError):
    """511: the command is not permitted on a dead channel."""


class AgiTimeout(AgiError):
    """Asterisk sent nothing (or not the whole environment) in time; the message says what was awaited."""


ENV_LINE_TIMEOUT_S = 5.0
"""Seconds allowed between two lines of the AGI environment."""
ENV_DEADLINE_S = 10.0
"""Seconds allowed for the whole environment: a peer trickling one line every few seconds is cut off."""
WRITE_DEADLINE_S = 10.0
"""Seconds a command may wait for the peer to take it (a hung Asterisk that stops reading)."""
ENV_MAX_LINES = 200
"""Asterisk 22 sends about 25 ``agi_*`` lines (plus ``agi_arg_N``); more is not an AGI client."""


@dataclass(frozen=True)
class AgiResult:
    result: int
    """The ``result=`` integer."""
    data: str = ""
    """Text in parentheses, e.g. the value of ``GET VARIABLE`` or ``timeout``."""
    extra: str = ""
    """Anything after, e.g. ``endpos=1234``."""


def parse_agi_result(line: str) -> AgiResult:
    """One AGI reply line → AgiResult, or a typed AgiError. Multi-line 520 replies are joined by the reader."""
    line = line.strip()
    if line == "HANGUP":
        raise AgiHangup("channel hung up")
    if line.startswith("200"):
        m = _RESULT.match(line)
        if not m:
            raise AgiError(f"malformed AGI reply: {line!r}")
        return AgiResult(int(m.group(1)), m.group(2) or "", m.group(3) or "")
    if line.startswith("510"):
        raise AgiInvalidCommand(line)
    if line.startswith("511"):
        raise AgiDeadChannel(line)
    if line.startswith("520"):
        raise AgiUsageError(line)
    raise AgiError(f"unexpected AGI reply: {line!r}")


def parse_agi_env(lines: list[str]) -> dict[str, str]:
    """``agi_channel: PJSIP/...`` lines → {"channel": "PJSIP/..."}."""
    env: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.startswith("agi_"):
            env[key[4:].strip()] = value.strip()
    return env


def quote(value: str) -> str:
    """An AGI argument in double quotes; quotes and backslashes escaped, newlines removed."""
    clean = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{clean}"'


class AgiSession:
    """One FastAGI connection: the environment Asterisk sent, and commands sent one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.env: dict[str, str] = {}
        self.hung_up = False

    async def _readline(self, timeout: float | None, awaited: str) -> bytes:
        """One raw line; ``AgiTimeout`` naming what was awaited, ``AgiError`` for a line over the 64 KiB limit."""
        try:
            return await asyncio.wait_for(self.reader.readline(), timeout)
        except TimeoutError:
            raise AgiTimeout(f"no {awaited} from Asterisk within {timeout:g} s") from None
        except ValueError:  # asyncio.LimitOverrunError, re-raised by readline() as ValueError
            raise AgiError(f"an AGI line longer than the 64 KiB limit while waiting for {awaited}") from None

    async def read_env(self, timeout: float = ENV_LINE_TIMEOUT_S, deadline: float = ENV_DEADLINE_S) -> dict[str, str]:
        """Read ``agi_key: value`` lines up to the blank line (``timeout`` per line, ``deadline`` in all).

        Blank lines before the first ``agi_`` line are skipped; the blank lines some Asterisk versions add
        after the environment are skipped where a reply is awaited (``_read_reply``).
        Raises AgiHangup (peer closed), AgiTimeout, AgiError (not an AGI client).
        """
        lines: list[str] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            left = end - loop.time()
            if left <= 0:
                raise AgiTimeout(
                    f"the AGI environment was not complete within {deadline:.0f} s ({len(lines)} lines received)"
                )
            try:
                raw = await self._readline(min(timeout, left), "AGI environment line")
            except AgiTimeout:
                if left >= timeout:
                    raise
                raise AgiTimeout(
                    f"the AGI environment was not complete within {deadline:g} s ({len(lines)} lines received)"
                ) from None
            if not raw:  # peer closed before the blank line: never spin on EOF
                raise AgiHangup("connection closed while reading the AGI environment")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if lines:
                    break
                continue
            lines.append(line)
            if len(lines) > ENV_MAX_LINES:
                raise AgiError(f"more than {ENV_MAX_LINES} lines of AGI environment; not an Asterisk AGI client")
        self.env = parse_agi_env(lines)
        return self.env

    @property
    def script(self) -> str:
        """The path of ``agi://host:port/<script>``: which service Asterisk asked for."""
        return self.env.get("network_script", "").strip("/")

    async def _read_reply(self, timeout: float | None, awaited: str = "AGI reply") -> str:
        """The next reply line. Blank lines are skipped (Asterisk may end the environment with more than one,
        and a stray one may precede a reply: panoramisk PRs #79 and #103); ``HANGUP`` notices too."""
        while True:
            raw = await self._readline(timeout, awaited)
            if not raw:
                self.hung_up = True
                raise AgiHangup("connection closed")
            if not raw.endswith(b"\n"):  # cut by the close: "200 result=12" may have been "200 result=123"
                self.hung_up = True
                raise AgiHangup(f"connection closed in the middle of the {awaited}")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip():
                continue
            if line == "HANGUP":
                # Asterisk announces a hang-up asynchronously (AGISIGHUP); the command's reply still follows.
                self.hung_up = True
                continue
            if line.startswith("520-"):
                body = [line]
                while not body[-1].startswith("520 ") and len(body) < 100:
                    more = await self._readline(timeout, f"rest of the 520 usage text ({awaited})")
                    if not more:
                        break
                    body.append(more.decode("utf-8", "replace").rstrip("\r\n"))
                return " ".join(body)
            return line

    async def command(self, text: str, timeout: float | None = 10.0) -> AgiResult:
        """Send one command and wait for its reply (``timeout=None`` for EXEC of long applications)."""
        if self.writer.is_closing():
            raise AgiHangup("connection closed")
        self.writer.write(text.encode("utf-8") + b"\n")
        try:
            await asyncio.wait_for(self.writer.drain(), WRITE_DEADLINE_S)
        except TimeoutError:
            raise AgiTimeout(f"Asterisk stopped reading AGI commands ({WRITE_DEADLINE_S:g} s)") from None
        verb = " ".join(text.split()[:2])
        return parse_agi_result(await self._read_reply(timeout, f"reply to {verb}"))

    async def get_variable(self, name: str) -> str | None:
        res = await self.command(f"GET VARIABLE {name}")
        return res.data if res.result == 1 else None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote(value)}")

    async def exec(self, application: str, options: str, timeout: float | None = None) -> AgiResult:
        return await self.command(f"EXEC {application} {quote(options)}", timeout)

    async def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
