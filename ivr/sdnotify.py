"""systemd's service notification protocol, sd_notify(3): ``READY=1``, ``STATUS=…``, ``WATCHDOG=1``,
``STOPPING=1``, so that ``Type=notify`` units start when the service really takes work and
``WatchdogSec=`` restarts a process whose event loop has stopped turning.

Own code, not a library: the protocol is one datagram of newline-separated ``KEY=VALUE`` lines sent to
the ``AF_UNIX`` socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's abstract namespace),
which systemd documents as a stable interface to be reimplemented ("Interface Portability and Stability",
sd_notify(3) NOTES); the PyPI wrappers are either unmaintained (``sdnotify``, last release 2017) or need
libsystemd's headers to build (``systemd-python``). Outside systemd every call is a no-op.

The watchdog (sd_watchdog_enabled(3)): ``$WATCHDOG_USEC`` is the unit's ``WatchdogSec=`` in µs and
``$WATCHDOG_PID``, when set, names the one process meant to ping (children of the service ignore it).
Pinging at half the interval is what the man page recommends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Mapping
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class Notifier:
    """Messages to systemd for this process; ``enabled`` is False outside a ``Type=notify`` unit.

    ``env``: the environment to read (``os.environ`` by default); ``pid``: this process's id (tests).
    """

    def __init__(self, env: Mapping[str, str] | None = None, pid: int | None = None) -> None:
        env = os.environ if env is None else env
        pid = os.getpid() if pid is None else pid
        path = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + path[1:] if path.startswith("@") else path
        self.watchdog_s: float | None = None
        """Seconds between watchdog pings (half of ``WatchdogSec=``), None when the watchdog is off for us."""
        usec, watchdog_pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        if self._address and usec.isdigit() and int(usec) > 0 and watchdog_pid in ("", str(pid)):
            self.watchdog_s = int(usec) / 2e6
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` fields in one datagram; True when systemd's socket took it.

        Never raises: a failed notification is logged once (the service keeps running; systemd then acts
        on its own timeouts)."""
        if not self._address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(fields).encode("utf-8"), self._address)
            return True
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("could not notify systemd on NOTIFY_SOCKET: %s", exc)
            return False

    def ready(self, status: str) -> bool:
        """The service takes work now (``Type=notify`` units count as started from here)."""
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        """Free text ``systemctl status`` shows."""
        return self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> bool:
        """Shutting down: no new work; systemd waits up to ``TimeoutStopSec=``."""
        return self.send("STOPPING=1", f"STATUS={status}")

    async def feed_watchdog(self) -> None:
        """Run as a task on the event loop that must be watched: ``WATCHDOG=1`` every ``watchdog_s``. A loop
        blocked or starved longer than ``WatchdogSec=`` stops the pings and systemd restarts the service.
        Returns at once when the watchdog is off."""
        if self.watchdog_s is None:
            return
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s)

    async def around(self, work: Awaitable[T], status: str) -> T:
        """``READY=1`` now, watchdog pings while ``work`` runs on this loop, ``STOPPING=1`` when it ends
        (however it ends); returns what ``work`` returns. For services ready as soon as their loop runs
        (the dialer: AMI trouble is a pause it reports on /healthz, not a failed start)."""
        self.ready(status)
        watchdog = asyncio.ensure_future(self.feed_watchdog())
        try:
            return await work
        finally:
            watchdog.cancel()
            self.stopping()


__all__ = ["Notifier"]
