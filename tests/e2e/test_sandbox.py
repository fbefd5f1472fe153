"""Proof that the sandbox's pipes work, before any service exists: AMI Originate to a simulated phone,
AMD, FastAGI into a tiny in-test server, AudioSocket media both ways with DTMF, the phone's recording,
the voicemail branch, and the OriginateResponse reasons of phones that do not answer.

The AMI, FastAGI and AudioSocket ends here are deliberately minimal test doubles of the call service."""

from __future__ import annotations

import math
import socket
import struct
import threading
import time
import uuid
import wave
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.e2e.conftest import AsteriskSandbox

pytestmark = pytest.mark.asterisk

KEYPAD_PHONE = "11990000001"
BUSY_PHONE = "11990000004"
SILENT_PHONE = "11990000005"
MACHINE_PHONE = "11990000006"
CONGESTED_PHONE = "11990000008"
INVALID_PHONE = "11999999999"

Message = dict[str, str]


class Ami:
    """A raw-socket AMI session: one reader thread collects every message for wait_for()."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.settimeout(None)
        self._file = self._sock.makefile("rb")
        banner = self._file.readline()
        assert banner.startswith(b"Asterisk Call Manager"), banner
        self.messages: list[Message] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        msg: Message = {}
        try:
            for raw in self._file:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line:
                    key, _, value = line.partition(": ")
                    msg.setdefault(key, value)
                    continue
                with self._cond:
                    self.messages.append(msg)
                    self._cond.notify_all()
                msg = {}
        except (OSError, ValueError):  # the session was closed under the reader: that is its end
            return

    def send(self, **fields: str) -> None:
        self._sock.sendall("".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n")

    def wait_for(self, match: Callable[[Message], bool], timeout: float) -> Message:
        with self._cond:
            found: list[Message] = []

            def ready() -> bool:
                found[:] = [m for m in self.messages if match(m)]
                return bool(found)

            if not self._cond.wait_for(ready, timeout):
                raise AssertionError(f"no matching AMI message within {timeout} s; last: {self.messages[-5:]}")
            return found[0]

    def login(self, user: str, secret: str) -> None:
        self.send(Action="Login", Username=user, Secret=secret, ActionID="login")
        reply = self.wait_for(lambda m: m.get("ActionID") == "login", 5)
        assert reply.get("Response") == "Success", reply

    def originate(self, number: str, attempt_id: str, timeout_ms: int = 30000) -> None:
        self.send(
            Action="Originate",
            Channel=f"Local/{number}@debtor-sim",
            Context="ivr-outbound",
            Exten="s",
            Priority="1",
            Variable=f"IVR_ATTEMPT_ID={attempt_id}",
            ActionID=attempt_id,
            Async="true",
            Timeout=str(timeout_ms),
            CallerID='"Central de Atendimento" <1130000000>',
        )

    def user_event(self, name: str, attempt_id: str, timeout: float) -> Message:
        return self.wait_for(
            lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == name and m.get("AttemptId") == attempt_id,
            timeout,
        )

    def close(self) -> None:
        try:
            self.send(Action="Logoff", ActionID="logoff")
            self.wait_for(lambda m: m.get("ActionID") == "logoff", 5)
        except (OSError, AssertionError):
            pass  # a session that cannot say goodbye is closed all the same
        finally:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._reader.join(5)
            self._file.close()
            self._sock.close()


@dataclass
class AgiCall:
    """What the in-test FastAGI server saw of one call."""

    script: str
    env: dict[str, str]
    replies: dict[str, str] = field(default_factory=dict)


AgiHandler = Callable[[AgiCall, Callable[[str], str]], None]
"""Drives one AGI call: gets the call and a function that sends a command and returns Asterisk's reply."""


class AgiServer:
    """A FastAGI server on a free loopback port; `handler(call, command)` drives each call."""

    def __init__(self, handler: AgiHandler) -> None:
        self.handler = handler
        self.calls: list[AgiCall] = []
        self.errors: list[BaseException] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            env: dict[str, str] = {}
            for raw in reader:
                line = raw.decode().rstrip("\n")
                if not line:
                    break
                key, _, value = line.partition(": ")
                env[key] = value
            call = AgiCall(script=env.get("agi_network_script", ""), env=env)
            self.calls.append(call)

            def command(text: str) -> str:
                conn.sendall(text.encode() + b"\n")
                reply = reader.readline().decode().strip()
                call.replies[text] = reply
                return reply

            try:
                self.handler(call, command)
            except BaseException as exc:  # recorded for the test thread, which re-raises it
                self.errors.append(exc)

    def close(self) -> None:
        self._stop.set()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(30)
        self._listener.close()


@dataclass
class MediaLeg:
    """What the in-test AudioSocket server saw of one connection."""

    uuid: str = ""
    audio_frames: int = 0
    dtmf: str = ""
    frame_types: list[int] = field(default_factory=list)


def tone_frames(seconds: float, hz: float = 1000.0, rate: int = 8000) -> Iterator[bytes]:
    """Signed 16-bit little-endian mono PCM in 20 ms frames (160 samples, 320 bytes)."""
    total = int(seconds * rate)
    for start in range(0, total, 160):
        samples = array("h", (int(8000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(start, start + 160)))
        yield samples.tobytes()


class AudioSocketServer:
    """Accepts one AudioSocket connection: reads UUID/audio/DTMF frames, sends 1 s of tone then silence at
    real-time pace until a DTMF digit arrives, then closes the socket so the AGI's EXEC AudioSocket returns."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(30)
        self.port: int = self._listener.getsockname()[1]
        self.leg = MediaLeg()
        self.errors: list[BaseException] = []
        self._got_dtmf = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read_frames(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                header = reader.read(3)
                if len(header) < 3:
                    return
                kind, length = header[0], struct.unpack(">H", header[1:])[0]
                payload = reader.read(length)
                self.leg.frame_types.append(kind)
                if kind == 0x01:
                    self.leg.uuid = str(uuid.UUID(bytes=payload))
                elif kind == 0x10:
                    self.leg.audio_frames += 1
                elif kind == 0x03:
                    self.leg.dtmf += payload.decode()
                    self._got_dtmf.set()
                elif kind == 0x00:
                    return
        except OSError:
            return
        finally:
            reader.close()

    def _run(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except TimeoutError as exc:
            self.errors.append(exc)
            return
        with conn:
            reader = threading.Thread(target=self._read_frames, args=(conn,), daemon=True)
            reader.start()
            next_at = time.monotonic()
            silence = bytes(320)
            frames = tone_frames(1.0)
            deadline = next_at + 20
            # Like a real line, the stream never stops: silence after the tone until the phone keys a digit.
            while not self._got_dtmf.is_set() and time.monotonic() < deadline:
                frame = next(frames, silence)
                conn.sendall(b"\x10" + struct.pack(">H", len(frame)) + frame)
                next_at += 0.02
                time.sleep(max(0.0, next_at - time.monotonic()))
            conn.shutdown(socket.SHUT_RDWR)
            reader.join(5)

    def close(self) -> None:
        self._thread.join(40)
        self._listener.close()


def rms_windows(path: Path, window_ms: int = 20) -> list[float]:
    """RMS of each window of a 16-bit mono WAV."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        rate = wav.getframerate()
        samples = array("h", wav.readframes(wav.getnframes()))
    size = rate * window_ms // 1000
    return [
        math.sqrt(sum(s * s for s in samples[i : i + size]) / size) for i in range(0, len(samples) - size + 1, size)
    ]


def wait_for_file(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), f"{path} was not written"


@pytest.fixture
def ami(asterisk_sandbox: AsteriskSandbox) -> Iterator[Ami]:
    session = Ami(asterisk_sandbox.ami_host, asterisk_sandbox.ami_port)
    try:
        session.login(asterisk_sandbox.ami_user, asterisk_sandbox.ami_secret)
        yield session
    finally:
        session.close()


@pytest.fixture
def serve_agi(asterisk_sandbox: AsteriskSandbox) -> Iterator[Callable[[AgiHandler], AgiServer]]:
    """Start an in-test FastAGI server and point the dialplan's IVR_AGI_PORT global at it; at the end
    stop it, restore the global, and fail on any error the handler raised."""
    before = next(
        line.split("=", 1)[1].strip()
        for line in asterisk_sandbox.cli("dialplan show globals").splitlines()
        if line.strip().startswith("IVR_AGI_PORT=")
    )
    servers: list[AgiServer] = []

    def start(handler: AgiHandler) -> AgiServer:
        server = AgiServer(handler)
        servers.append(server)
        asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {server.port}")
        return server

    yield start
    asterisk_sandbox.cli(f"dialplan set global IVR_AGI_PORT {before}")
    for server in servers:
        server.close()
    errors = [e for server in servers for e in server.errors]
    assert not errors, errors


def test_ami_user_has_only_its_rights(ami: Ami, asterisk_sandbox: AsteriskSandbox) -> None:
    ami.send(Action="Getvar", Variable="IFMODULE(app_audiosocket.so)", ActionID="mod-as")
    ami.send(Action="Getvar", Variable="IFMODULE(res_agi.so)", ActionID="mod-agi")
    ami.send(Action="Getvar", Variable="IFMODULE(app_amd.so)", ActionID="mod-amd")
    ami.send(Action="Getvar", Variable="IFMODULE(app_no_such_thing.so)", ActionID="mod-none")
    ami.send(Action="ModuleLoad", Module="app_amd.so", LoadType="unload", ActionID="unload")
    values = {
        a: ami.wait_for(lambda m, a=a: m.get("ActionID") == a, 5) for a in ("mod-as", "mod-agi", "mod-amd", "mod-none")
    }
    assert [values[a].get("Value") for a in ("mod-as", "mod-agi", "mod-amd", "mod-none")] == ["1", "1", "1", "0"]
    refused = ami.wait_for(lambda m: m.get("ActionID") == "unload", 5)
    assert refused.get("Response") == "Error" and "Permission denied" in refused.get("Message", "")
    assert "Running" in asterisk_sandbox.cli("module show like app_amd.so")


@pytest.mark.parametrize(
    ("number", "reason"),
    [(BUSY_PHONE, "5"), (SILENT_PHONE, "3"), (CONGESTED_PHONE, "8"), (INVALID_PHONE, "0"), ("+55" + BUSY_PHONE, "5")],
)
def test_unanswered_phones_give_originate_reasons(
    ami: Ami, asterisk_sandbox: AsteriskSandbox, number: str, reason: str
) -> None:
    attempt = f"unans-{uuid.uuid4().hex[:8]}"
    ami.originate(number, attempt, timeout_ms=3000)
    response = ami.wait_for(lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == attempt, 15)
    assert (response["Response"], response["Reason"]) == ("Failure", reason)
    asterisk_sandbox.wait_no_channels()


def test_human_call_runs_agi_and_audiosocket(
    ami: Ami, asterisk_sandbox: AsteriskSandbox, serve_agi: Callable[[AgiHandler], AgiServer]
) -> None:
    media = AudioSocketServer()
    leg_uuid = str(uuid.uuid4())

    def collect(call: AgiCall, command: Callable[[str], str]) -> None:
        command("GET VARIABLE IVR_ATTEMPT_ID")
        command("GET VARIABLE IVR_AMD_STATUS")
        command(f"EXEC AudioSocket {leg_uuid},127.0.0.1:{media.port}")
        command("SET VARIABLE IVR_OUTCOME proof")

    agi = serve_agi(collect)
    attempt = f"proof-{uuid.uuid4().hex[:8]}"
    try:
        ami.originate(KEYPAD_PHONE, attempt)
        answered = ami.wait_for(lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == attempt, 15)
        assert answered["Response"] == "Success", answered
        amd = ami.user_event("IvrAmd", attempt, 15)
        hangup = ami.user_event("IvrHangup", attempt, 60)
    finally:
        media.close()
    assert not media.errors, media.errors

    assert amd["Status"] == "HUMAN", amd
    [call] = agi.calls
    assert call.script == "collect"
    assert call.replies["GET VARIABLE IVR_ATTEMPT_ID"] == f"200 result=1 ({attempt})"
    assert call.replies["GET VARIABLE IVR_AMD_STATUS"] == "200 result=1 (HUMAN)"
    # EXEC returns only after the media server closed its socket, and the call is still up for AGI.
    assert call.replies[f"EXEC AudioSocket {leg_uuid},127.0.0.1:{media.port}"].startswith("200 result=0")
    assert call.replies["SET VARIABLE IVR_OUTCOME proof"] == "200 result=1"

    leg = media.leg
    assert leg.frame_types[0] == 0x01 and leg.uuid == leg_uuid
    assert leg.audio_frames > 50, "Asterisk sent no caller audio"
    assert leg.dtmf.startswith("1"), f"the keypad phone's digit did not arrive: {leg.frame_types[-20:]}"

    assert hangup["Outcome"] == "proof" and hangup["AgiStatus"] == "SUCCESS" and hangup["Stage"] == "collect", hangup
    asterisk_sandbox.wait_no_channels()

    heard = asterisk_sandbox.recordings_dir / f"sim-{KEYPAD_PHONE}-{attempt}-heard.wav"
    both = asterisk_sandbox.recordings_dir / f"sim-{KEYPAD_PHONE}-{attempt}.wav"
    wait_for_file(heard)
    wait_for_file(both)
    loud = [r for r in rms_windows(heard) if r > 1000]
    # The phone heard the bot's 1 s tone (50 frames of 20 ms), give or take jitter at the edges.
    assert 40 <= len(loud) <= 60, f"{len(loud)} loud 20 ms windows in {heard}"


def test_machine_gets_the_voicemail_agi(
    ami: Ami, asterisk_sandbox: AsteriskSandbox, serve_agi: Callable[[AgiHandler], AgiServer]
) -> None:
    def voicemail(call: AgiCall, command: Callable[[str], str]) -> None:
        command("GET VARIABLE IVR_AMD_STATUS")

    agi = serve_agi(voicemail)
    attempt = f"vm-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    ami.originate(MACHINE_PHONE, attempt)
    amd = ami.user_event("IvrAmd", attempt, 15)
    hangup = ami.user_event("IvrHangup", attempt, 60)
    assert amd["Status"] == "MACHINE", amd
    [call] = agi.calls
    assert call.script == "voicemail"
    assert call.replies["GET VARIABLE IVR_AMD_STATUS"] == "200 result=1 (MACHINE)"
    # The neutral message waits for the greeting (about 10 s) and the beep to end.
    assert time.monotonic() - started > 9
    assert (hangup["Stage"], hangup["Outcome"], hangup["AgiStatus"]) == ("voicemail", "voicemail", "SUCCESS")
    asterisk_sandbox.wait_no_channels()


def test_transfer_goes_to_the_queue_with_its_context(
    ami: Ami, asterisk_sandbox: AsteriskSandbox, serve_agi: Callable[[AgiHandler], AgiServer]
) -> None:
    transfer = "debtor=42;reason=agent;promised=2026-03-15"

    def collect(call: AgiCall, command: Callable[[str], str]) -> None:
        command("SET VARIABLE IVR_OUTCOME transferred")
        command(f'SET VARIABLE IVR_TRANSFER "{transfer}"')

    serve_agi(collect)
    attempt = f"xfer-{uuid.uuid4().hex[:8]}"
    ami.originate(KEYPAD_PHONE, attempt)
    event = ami.user_event("IvrTransfer", attempt, 20)
    hangup = ami.user_event("IvrHangup", attempt, 30)
    assert event["Transfer"] == transfer
    # The sandbox queue has no agents: the caller is told so and the hang-up says why.
    assert (hangup["Stage"], hangup["Outcome"]) == ("transfer", "transferred")
    assert hangup["QueueStatus"] in {"JOINEMPTY", "LEAVEEMPTY"}, hangup
    asterisk_sandbox.wait_no_channels()


def test_unreachable_service_ends_the_call_politely(
    ami: Ami, asterisk_sandbox: AsteriskSandbox, serve_agi: Callable[[AgiHandler], AgiServer]
) -> None:
    agi = serve_agi(lambda call, command: None)
    agi.close()  # the global now names a port nobody listens on
    attempt = f"down-{uuid.uuid4().hex[:8]}"
    ami.originate(KEYPAD_PHONE, attempt)
    hangup = ami.user_event("IvrHangup", attempt, 30)
    assert (hangup["Stage"], hangup["AgiStatus"], hangup["Cause"]) == ("collect", "FAILURE", "16")
    asterisk_sandbox.wait_no_channels()
    heard = asterisk_sandbox.recordings_dir / f"sim-{KEYPAD_PHONE}-{attempt}-heard.wav"
    wait_for_file(heard)
    # The phone heard the neutral technical-difficulty prompt, not silence.
    assert sum(1 for r in rms_windows(heard) if r > 300) > 50
