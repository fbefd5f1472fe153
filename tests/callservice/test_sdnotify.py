"""systemd's notification protocol (sd_notify(3)) as ``ivr serve`` speaks it under ``Type=notify`` and
``WatchdogSec=``: READY=1 only once Asterisk can connect, watchdog pings while the event loop turns,
STOPPING=1 on SIGTERM; with workers, the supervisor answers for them and restarts one whose loop hangs.

systemd's side is played by a real AF_UNIX datagram socket, as systemd binds it (no systemd runs as PID 1
here); the service runs as the unit starts it (the CLI in a subprocess)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ivr.sdnotify import Notifier
from ivr.speech.models import test_vosk_model
from tests.callservice.test_serve_workers import _free_ports, _workers_env

ROOT = Path(__file__).resolve().parents[2]
WATCHDOG_SEC = 2.0
"""The unit's WatchdogSec= in these tests: pings every second; a worker is hung after 4 s without a beat."""


class SystemdSocket:
    """The notification socket systemd creates for a unit; ``messages`` collects what arrived, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[tuple[float, str]] = []

    def collect(self, until: float) -> None:
        while (left := until - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, field: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> float:
        """Collect until a message holding ``field`` arrives; its arrival time."""
        deadline = time.monotonic() + timeout
        while True:
            for at, message in self.messages:
                if field in message.split("\n"):
                    return at
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, (self.messages, log.read_text()[-3000:])
            self.collect(min(deadline, time.monotonic() + 0.5))

    def count(self, field: str, since: float = 0.0) -> int:
        return len(self.times(field, since))

    def times(self, field: str, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [at for at, m in self.messages if since <= at <= until and field in m.split("\n")]

    def longest_watchdog_gap(self, since: float, until: float) -> float:
        """The longest time systemd went without a ping between two instants (what WatchdogSec= bounds)."""
        marks = [since, *self.times("WATCHDOG=1", since, until), until]
        return max(b - a for a, b in zip(marks, marks[1:]))

    def close(self) -> None:
        self.sock.close()


def test_outside_systemd_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier(env={})
    assert not notifier.enabled and notifier.watchdog_s is None
    assert notifier.ready("taking calls") is False


def test_messages_reach_the_socket_and_the_watchdog_interval_is_half_of_watchdog_sec(tmp_path: Path) -> None:
    systemd = SystemdSocket(tmp_path / "notify")
    try:
        env = {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}
        notifier = Notifier(env=env, pid=4242)
        assert notifier.watchdog_s == 15.0
        assert notifier.ready("taking calls") and notifier.stopping()
        systemd.collect(time.monotonic() + 0.2)
        assert [m for _, m in systemd.messages] == [
            "READY=1\nSTATUS=taking calls",
            "STOPPING=1\nSTATUS=stopping",
        ]
        # WATCHDOG_PID names another process (the unit's main one): this one does not ping.
        assert Notifier(env=env, pid=4243).watchdog_s is None
    finally:
        systemd.close()


def test_an_abstract_socket_name_is_understood() -> None:
    name = f"ivr-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        assert Notifier(env={"NOTIFY_SOCKET": "@" + name}).status("up")
        sock.settimeout(2)
        assert sock.recv(100) == b"STATUS=up"
    finally:
        sock.close()


def test_a_vanished_socket_is_one_warning_not_a_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(env={"NOTIFY_SOCKET": str(tmp_path / "gone")})
    with caplog.at_level(logging.WARNING, logger="ivr.sdnotify"):
        assert notifier.ready("x") is False and notifier.status("y") is False
    assert len(caplog.records) == 1 and "NOTIFY_SOCKET" in caplog.records[0].getMessage()


def _serve(tmp_path: Path, systemd: SystemdSocket, *args: str) -> tuple[subprocess.Popen[bytes], Path, int]:
    agi_port, media_base = _free_ports(1), _free_ports(2)
    env = _workers_env(
        tmp_path,
        agi_port,
        media_base,
        IVR_SPEECH_CACHE_DIR=str(tmp_path / "tts"),
        IVR_SPEECH_VOSK_MODEL=str(test_vosk_model()),
        IVR_SPEECH_MODELS_DIR=str(tmp_path / "models"),
        NOTIFY_SOCKET=str(systemd.path),
        WATCHDOG_USEC=str(int(WATCHDOG_SEC * 1e6)),
    )
    for inherited in ("WATCHDOG_PID", "LISTEN_FDS"):  # this test plays systemd: nothing from a real one
        env.pop(inherited, None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from ivr.cli import main; main()", "serve", "--test-models", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log, agi_port


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_one_process_is_ready_only_when_asterisk_can_connect_and_pings_while_its_loop_turns(tmp_path: Path) -> None:
    systemd = SystemdSocket(tmp_path / "notify")
    proc, log, agi_port = _serve(tmp_path, systemd)
    try:
        ready_at = systemd.wait_for("READY=1", 180, proc, log)
        assert _accepts(agi_port), "READY=1 before the FastAGI port listens"
        assert "ASR" in next(m for _, m in systemd.messages if "READY=1" in m)  # STATUS= says what it runs
        systemd.collect(time.monotonic() + 4)
        assert systemd.longest_watchdog_gap(ready_at, time.monotonic()) < WATCHDOG_SEC
        os.kill(proc.pid, signal.SIGSTOP)  # a loop that does not turn does not ping
        systemd.collect(time.monotonic() + 0.3)
        stopped_at = time.monotonic()
        systemd.collect(time.monotonic() + WATCHDOG_SEC + 0.5)
        assert systemd.count("WATCHDOG=1", since=stopped_at) == 0  # systemd would restart it now
        os.kill(proc.pid, signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        systemd.collect(time.monotonic() + 0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
        systemd.close()
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert systemd.count("STOPPING=1") == 1 and systemd.count("READY=1") == 1


def test_with_workers_the_supervisor_answers_and_restarts_a_worker_whose_loop_hangs(tmp_path: Path) -> None:
    systemd = SystemdSocket(tmp_path / "notify")
    proc, log, agi_port = _serve(tmp_path, systemd, "--workers", "2")
    try:
        systemd.wait_for("READY=1", 240, proc, log)
        assert log.read_text().count("ivr serve: FastAGI") == 2, "READY=1 before both workers took calls"
        # multiprocessing's resource tracker is a child too: the workers are the spawned ones.
        workers = [w for w in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(w.cmdline())]
        assert len(workers) == 2, [w.cmdline() for w in workers]
        hung = workers[-1]
        os.kill(hung.pid, signal.SIGSTOP)  # its event loop stops beating
        stopped_at = time.monotonic()
        deadline = stopped_at + 120
        while log.read_text().count("ivr serve: FastAGI") < 3:  # the restarted worker takes calls again
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            systemd.collect(time.monotonic() + 0.5)
        assert not psutil.pid_exists(hung.pid) or psutil.Process(hung.pid).status() == psutil.STATUS_ZOMBIE
        assert "has not turned" in log.read_text()
        # The supervisor kept systemd's watchdog fed all along: the service as a whole was never hung.
        assert systemd.longest_watchdog_gap(stopped_at, time.monotonic()) < WATCHDOG_SEC
        assert _accepts(agi_port)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        systemd.collect(time.monotonic() + 0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        systemd.close()
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert systemd.count("READY=1") == 1 and systemd.count("STOPPING=1") == 1
