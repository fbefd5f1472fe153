"""Bounded, seeded fuzzers of the protocol code (a few seconds each), then a live fuzz of `ivr serve`.

Only the product's typed errors may come out (AgiError family, ProtocolError); anything else fails with one
example. The live fuzz then checks that the service still completes a normal call and holds no extra sockets.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ivr.db.ledger import attempt_id_from
from ivr.asterisk.agi import AgiError, AgiSession, parse_agi_env, parse_agi_result
from ivr.asterisk.ami import AmiClient, parse_message, parse_trace
from ivr.asterisk.audiosocket import ProtocolError, read_packet
from ivr.callservice.call import DtmfCollector
from tests.support.faulty_asterisk import FakeCall, env_bytes, pkt

BUDGET_S = 3.0
"""Seconds per fuzzer."""

AGI_REPLIES = [
    b"200 result=1",
    b"200 result=0 (timeout)",
    b"200 result=-1 (hangup) endpos=25280",
    b"HANGUP",
    b"510 Invalid or unknown command",
    b"511 Command Not Permitted on a dead channel",
    b"520-Invalid command syntax.  Proper usage follows:",
    b"Usage: X",
    b"520 End of proper usage.",
    b"200 result=1 (a (b) c)",
    b"200 result= (timeout)",
    b"100 result=0 Trying...",
    b"",
]
ENV = (
    b"agi_network: yes\nagi_network_script: collect\nagi_request: agi://127.0.0.1/collect\n"
    b"agi_channel: Local/1@x-1;2\nagi_uniqueid: 1.2\nagi_callerid: 1130000000\n\n"
)
AMI = (
    b"Event: OriginateResponse\r\nActionID: ivr-42\r\nResponse: Failure\r\nReason: 5\r\n\r\n"
    b"Event: UserEvent\r\nUserEvent: IvrHangup\r\nAttemptId: 42\r\nCause: 16\r\n\r\n"
)
AUDIOSOCKET = (
    bytes([1, 0, 16])
    + bytes(16)
    + bytes([3, 0, 1])
    + b"9"
    + bytes([0x10, 1, 0x40])
    + bytes(320)
    + bytes([0x12, 2, 0x80])
    + bytes(640)
    + bytes([0xFF, 0, 1, 2])
    + bytes([0, 0, 0])
)


def mutate(rnd: random.Random, b: bytes) -> bytes:
    out = bytearray(b)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(7)
        pos = rnd.randint(0, len(out))
        if op == 0 and out:
            del out[rnd.randrange(len(out))]
        elif op == 1:
            out[pos:pos] = bytes([rnd.randrange(256)])
        elif op == 2 and out:
            out[rnd.randrange(len(out))] = rnd.randrange(256)
        elif op == 3:
            out[pos:pos] = rnd.choice(
                [b"\n", b"\r\n", b"\n\n", b":", b" ", b"(", b")", b"\x00", b"\xc3", b"-", b"9" * 5000, b"x" * 70000]
            )
        elif op == 4:
            out = out[:pos]
        elif op == 5:
            out[pos:pos] = rnd.choice(AGI_REPLIES) + b"\n"
        else:
            out[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 20)))
    return bytes(out)


class Unexpected:
    def __init__(self) -> None:
        self.kinds: dict[str, bytes] = {}
        self.count: collections.Counter[str] = collections.Counter()

    def note(self, where: str, exc: BaseException, sample: bytes) -> None:
        key = f"{where}: {type(exc).__name__}: {str(exc)[:80]}"
        self.kinds.setdefault(key, sample[:200])
        self.count[key] += 1

    def check(self, runs: int) -> None:
        assert runs > 100, "the fuzzer hardly ran"
        assert not self.kinds, "\n".join(f"x{self.count[k]} {k}\n   e.g. {v!r}" for k, v in self.kinds.items())


class _Writer:
    def is_closing(self) -> bool:
        return False

    def write(self, b: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass


def test_fuzz_agi_lines_and_sessions() -> None:
    rnd, bad, runs = random.Random(1), Unexpected(), 0

    async def session(stream: bytes) -> None:
        r = asyncio.StreamReader()
        r.feed_data(stream)
        r.feed_eof()
        s = AgiSession(r, _Writer())  # type: ignore[arg-type]
        try:
            await s.read_env(timeout=0.05)
            for _ in range(4):
                await s.command("NOOP", timeout=0.05)
        except AgiError:
            pass
        except Exception as exc:
            bad.note("AgiSession", exc, stream)

    async def run() -> int:
        n, end = 0, time.monotonic() + BUDGET_S
        while time.monotonic() < end:
            line = mutate(rnd, rnd.choice(AGI_REPLIES)).decode("utf-8", "replace")
            try:
                parse_agi_result(line)
            except AgiError:
                pass
            except Exception as exc:
                bad.note("parse_agi_result", exc, line.encode())
            env_lines = mutate(rnd, ENV).decode("utf-8", "replace").split("\n")
            try:
                parse_agi_env(env_lines)
            except Exception as exc:
                bad.note("parse_agi_env", exc, "\n".join(env_lines).encode())
            await session(mutate(rnd, ENV + b"\n".join(rnd.choice(AGI_REPLIES) for _ in range(4)) + b"\n"))
            c = DtmfCollector(rnd.randint(0, 5), "#")
            try:
                for d in mutate(rnd, b"0123#*").decode("latin-1"):
                    c.press(d, rnd.random() * 10)
                c.expired(rnd.random() * 20)
            except Exception as exc:
                bad.note("DtmfCollector", exc, b"")
            n += 1
        return n

    runs = asyncio.run(run())
    bad.check(runs)


def test_fuzz_ami_events_through_the_client_reader() -> None:
    """Mutated AMI traffic into the real client's read loop: it must never stop, and an intact event sent
    after the garbage (past a blank line) must still arrive (the reader resynchronises)."""
    rnd, bad = random.Random(2), Unexpected()
    sentinel = b"\r\n\r\nEvent: UserEvent\r\nUserEvent: Sentinel\r\nAttemptId: 7\r\n\r\n"

    async def run() -> int:
        n, end = 0, time.monotonic() + BUDGET_S
        while time.monotonic() < end:
            stream = mutate(rnd, AMI)
            text = stream.decode("utf-8", "replace")
            try:
                for m in parse_trace(text):
                    attempt_id_from(m.get("ActionID") or m.get("AttemptId") or m.get("Uniqueid"))
                parse_message(text)
            except Exception as exc:
                bad.note("ami parse/attempt_id_from", exc, stream)
            events: list[dict[str, str]] = []
            client = AmiClient("127.0.0.1", 0, "ivr", "x", events.append)
            reader = asyncio.StreamReader(limit=64 * 1024)
            reader.feed_data(stream + sentinel)
            reader.feed_eof()
            client._reader = reader
            try:
                await asyncio.wait_for(client._read_loop(), 2)
            except Exception as exc:
                bad.note("AmiClient._read_loop", exc, stream)
            if not events or events[-1].get("UserEvent") != "Sentinel":
                bad.note("AmiClient._read_loop", AssertionError("the event after the garbage was lost"), stream)
            n += 1
        return n

    bad.check(asyncio.run(run()))


def test_fuzz_audiosocket_packets() -> None:
    rnd, bad = random.Random(3), Unexpected()

    async def run() -> int:
        n, end = 0, time.monotonic() + BUDGET_S
        while time.monotonic() < end:
            stream = (
                mutate(rnd, AUDIOSOCKET)
                if rnd.random() < 0.7
                else bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 400)))
            )
            r = asyncio.StreamReader()
            r.feed_data(stream)
            r.feed_eof()
            try:
                while (p := await read_packet(r)) is not None:
                    _ = p.digit, p.rate
                    try:
                        _ = p.call_uuid
                    except ProtocolError:
                        pass
            except ProtocolError:
                pass
            except Exception as exc:
                bad.note("read_packet", exc, stream)
            n += 1
        return n

    bad.check(asyncio.run(run()))


# ------------------------------------------------------------------------------------------------ live


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REPLIES = [
    b"200 result=1",
    b"200 result=0",
    b"200 result=-1",
    b"200 result=-1 (hangup)",
    b"HANGUP",
    b"510 Invalid or unknown command",
    b"511 Command Not Permitted on a dead channel or intercept routine",
    b"520-Invalid command syntax.  Proper usage follows:\nUsage: X\n520 End of proper usage.",
    b"",
    b"200 result=1 (\xc3)",
    b"100 result=0 Trying...",
    b"200 result= (timeout)",
    b"garbage",
]


class LiveFuzz:
    """Mutated AGI sessions and AudioSocket streams against a running service, six at a time."""

    def __init__(self, agi_port: int, media_port: int, attempt_ids: list[int], seed: int) -> None:
        self.agi_port, self.media_port, self.ids = agi_port, media_port, attempt_ids
        self.rnd = random.Random(seed)
        self.stats: collections.Counter[str] = collections.Counter()

    def packets(self, call: uuid.UUID | None, frames: int) -> bytes:
        rnd, parts = self.rnd, []
        if call is not None and rnd.random() < 0.8:
            parts.append(pkt(0x01, call.bytes))
        for _ in range(frames):
            r = rnd.random()
            if r < 0.7:
                parts.append(pkt(rnd.choice([0x10, 0x10, 0x10, 0x12]), bytes(rnd.choice([0, 1, 320, 321, 640]))))
            elif r < 0.8:
                parts.append(pkt(0x03, rnd.choice([b"9", b"1", b"#", b"", b"\xc3", b"12"])))
            elif r < 0.85:
                parts.append(pkt(rnd.choice([0x00, 0xFF, 0x01, 0x02, 0x11, 0x18, 0x42]), bytes(rnd.randint(0, 4))))
            else:
                parts.append(mutate(rnd, pkt(0x10, bytes(320))))
        return b"".join(parts)

    async def media_leg(self, call: uuid.UUID, host: str, port: int) -> None:
        r, w = await asyncio.open_connection(host, port)
        try:
            first: uuid.UUID | None = call
            for _ in range(self.rnd.randint(1, 100)):
                w.write(self.packets(first, self.rnd.randint(1, 3)))
                first = None
                await w.drain()
                await asyncio.sleep(self.rnd.choice([0, 0.005, 0.02, 0.05]))
                if r.at_eof():
                    break
        except (ConnectionError, OSError):
            self.stats["media_reset"] += 1
        finally:
            w.close()

    async def agi_session(self) -> None:
        rnd = self.rnd
        aid = rnd.choice(self.ids)
        r, w = await asyncio.open_connection("127.0.0.1", self.agi_port)
        env = env_bytes(aid, self.agi_port)
        w.write(mutate(rnd, env) if rnd.random() < 0.4 else env)
        await w.drain()
        self.stats["agi_sessions"] += 1
        try:
            while line := await asyncio.wait_for(r.readline(), 12):
                cmd = line.decode("utf-8", "replace").strip()
                if rnd.random() < 0.05:
                    break  # Asterisk vanishes
                if cmd.startswith("EXEC AudioSocket"):
                    m = re.search(r'"([0-9a-f-]{36}),([^:"]+):(\d+)"', cmd)
                    if m and rnd.random() < 0.85:
                        await self.media_leg(uuid.UUID(m.group(1)), m.group(2), int(m.group(3)))
                    reply = b"200 result=0" if rnd.random() < 0.7 else rnd.choice(REPLIES)
                elif cmd.startswith("GET VARIABLE"):
                    reply = f"200 result=1 ({aid})".encode() if rnd.random() < 0.8 else mutate(rnd, rnd.choice(REPLIES))
                else:
                    reply = b"200 result=1" if rnd.random() < 0.7 else mutate(rnd, rnd.choice(REPLIES))
                w.write(reply + b"\n")
                await w.drain()
        except (TimeoutError, ConnectionError, OSError):
            self.stats["agi_timeout_or_reset"] += 1
        finally:
            w.close()

    async def direct_media(self) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", self.media_port)
        try:
            data = self.packets(uuid.uuid4() if self.rnd.random() < 0.5 else None, self.rnd.randint(1, 30))
            w.write(data)
            self.stats["direct_media"] += 1
            await w.drain()
            await asyncio.sleep(self.rnd.choice([0, 0.1, 1.0]))
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    async def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline:
                try:
                    if self.rnd.random() < 0.6:
                        await asyncio.wait_for(self.agi_session(), 40)
                    else:
                        await self.direct_media()
                except (TimeoutError, ConnectionError, OSError) as exc:
                    self.stats[f"worker_{type(exc).__name__}"] += 1

        await asyncio.gather(*(worker() for _ in range(6)))


def _service_sockets(pid: int) -> list[str]:
    import psutil

    return [
        f"{c.laddr} {c.raddr} {c.status}"
        for c in psutil.Process(pid).net_connections("tcp")
        if c.status != psutil.CONN_LISTEN
    ]


@pytest.mark.models
def test_live_fuzz_of_ivr_serve_then_a_normal_call(tmp_path: Path) -> None:
    from ivr.db.session import dispose_engines, open_database
    from ivr.testing import factories

    db_path = tmp_path / "ivr.db"
    sessions = open_database(f"sqlite:///{db_path}")
    camp = factories.campaign(sessions, name="fuzz", policy={"listen_timeout_s": 2.5})
    ids = []
    for n in range(12):
        d, p, debt = factories.debtor(sessions, camp, 700 + n)
        ids.append(factories.attempt(sessions, camp, d, p, debt))
    dispose_engines()
    agi_port, media_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "IVR_PRIVACY_HMAC_KEY": "test-key",
        "IVR_DATA_DIR": str(tmp_path),
        "IVR_DATABASE_URL": f"sqlite:///{db_path}",
        "IVR_SERVICE_AGI_PORT": str(agi_port),
        "IVR_SERVICE_AUDIOSOCKET_PORT": str(media_port),
        "IVR_SPEECH_TTS_ENGINE": "espeak",
        "IVR_SPEECH_MODELS_DIR": str(tmp_path / "none"),
        "IVR_SERVICE_MAX_CALL_SECONDS": "30",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "ivr"), "serve", "--test-models"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "FastAGI on" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        before = _service_sockets(proc.pid)
        fuzz = LiveFuzz(agi_port, media_port, ids[:-1], seed=11)

        async def run() -> FakeCall:
            await fuzz.run(8.0)
            await asyncio.sleep(12)  # calls in flight end (media connect 5 s, silence, AGI timeouts)
            return await FakeCall(agi_port, ids[-1]).run(90)

        call = asyncio.run(run())
        time.sleep(1.0)
        after = _service_sockets(proc.pid)
        assert proc.poll() is None, "the service died"
    finally:
        proc.terminate()
        proc.wait(20)
    log_text = log_path.read_text(errors="replace")
    assert fuzz.stats["agi_sessions"] > 20, fuzz.stats
    assert call.variables.get("IVR_OUTCOME") == "transferred", (call.commands, log_text[-3000:])
    assert before == [] and after == [], after
    assert "Traceback" not in log_text, log_text[log_text.index("Traceback") - 300 :][:3000]


def test_live_fuzz_in_process_leaves_no_task_behind(speech: object, tmp_path: Path) -> None:
    """The same fuzz against the service object `ivr serve` runs (in this process, so its task set can be
    seen): afterwards no handler task and no service-side socket may remain, and a normal call completes."""
    import psutil

    from ivr.config import load_settings
    from ivr.db.session import dispose_engines, open_database
    from ivr.callservice.service import CallService
    from ivr.testing import factories

    sessions = open_database(f"sqlite:///{tmp_path / 'ivr.db'}")
    camp = factories.campaign(sessions, name="fuzz-tasks", policy={"listen_timeout_s": 2.5})
    ids = []
    for n in range(8):
        d, p, debt = factories.debtor(sessions, camp, 750 + n)
        ids.append(factories.attempt(sessions, camp, d, p, debt))

    async def run() -> tuple[int, list[str], FakeCall]:
        svc = CallService(
            load_settings(
                None,
                env={
                    "IVR_SERVICE_AGI_PORT": "0",
                    "IVR_SERVICE_AUDIOSOCKET_PORT": "0",
                    "IVR_SERVICE_MAX_CALL_SECONDS": "20",
                },
            ),
            sessions,
            speech,
        )  # type: ignore[arg-type]
        await svc.start()
        ports = {svc.agi_port, svc.audiosocket_port}
        try:
            await LiveFuzz(svc.agi_port, svc.audiosocket_port, ids[:-1], seed=5).run(5.0)
            await asyncio.sleep(12)
            tasks = len(svc._tasks)
            left = [
                f"{c.laddr} {c.raddr} {c.status}"
                for c in psutil.Process().net_connections("tcp")
                if c.laddr and c.laddr[1] in ports and c.status != psutil.CONN_LISTEN
            ]
            call = await FakeCall(svc.agi_port, ids[-1]).run(90)
            return tasks, left, call
        finally:
            await svc.stop()

    tasks, left, call = asyncio.run(run())
    dispose_engines()
    assert tasks == 0 and left == [], (tasks, left)
    assert call.variables.get("IVR_OUTCOME") == "transferred", call.commands
