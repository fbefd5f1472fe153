"""Recordings in the ledger: the reported file measured (size, duration, SHA-256, mode), purge by retention,
export with its digest checked, and the CLI (SQLite and PostgreSQL). Audio is made here: PCM by the wave
module, wav49 and Ogg Opus by sox when present (the product only reads their headers)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings, load_settings
from ivr.db import recordings
from ivr.db.models import Attempt, Recording
from ivr.errors import IvrError, NotFoundError
from ivr.testing import factories

NOW = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.timezone.utc)
IVR = str(Path(sys.executable).parent / "ivr")


def pcm_wav(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(int(seconds * rate) * 2))
    return buf.getvalue()


def gsm_wav_header(data_bytes: int) -> bytes:
    """A wav49 header as Asterisk's format_wav_gsm writes it: GSM 6.10 (0x31), 8 kHz, 1625 bytes/s, 65-byte blocks."""
    fmt = struct.pack("<HHIIHHHH", 0x31, 1, 8000, 1625, 65, 0, 2, 320)
    fact = struct.pack("<I", data_bytes // 65 * 320)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + 4 + 8 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", 4)
        + fact
        + b"data"
        + struct.pack("<I", data_bytes)
    )


@pytest.mark.parametrize(
    ("data", "seconds"),
    [
        (pcm_wav(2.5), 2.5),
        (pcm_wav(1.0, 16000), 1.0),
        (gsm_wav_header(1625 * 12) + bytes(1625 * 12), 12.0),
        (gsm_wav_header(0) + bytes(1625 * 3), 3.0),  # header never patched: the bytes present count
        (pcm_wav(4.0)[:44] + bytes(8000 * 2), 1.0),  # cut short: the bytes present count
    ],
)
def test_wav_durations_from_the_header(data: bytes, seconds: float) -> None:
    assert recordings.wav_duration(data) == pytest.approx(seconds, abs=0.01)


@pytest.mark.parametrize("data", [b"", b"RIFF\x00\x00\x00\x00WAVX", b"RIFF\x04\x00\x00\x00WAVEdata\x00\x00\x00\x00"])
def test_not_a_wav_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        recordings.wav_duration(data)


def test_ogg_opus_duration_from_the_last_granule() -> None:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<H", 312) + struct.pack("<I", 8000) + bytes(3)
    page1 = b"OggS" + bytes(2) + struct.pack("<q", 0) + bytes(13) + head
    last = b"OggS" + bytes(2) + struct.pack("<q", 312 + 48000 * 7) + bytes(13)
    assert recordings.ogg_opus_duration(page1 + bytes(100) + last) == pytest.approx(7.0)


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        None,
        env={
            "IVR_DATA_DIR": str(tmp_path),
            "IVR_RECORDINGS_DIR": "/var/spool/asterisk/monitor/ivr",
            "IVR_RECORDINGS_LOCAL_DIR": str(tmp_path / "rec"),
            **env,
        },
    )


def _ended_attempt(
    sessions: sessionmaker[Session], n: int, campaign: int | None = None, ended: dt.datetime = NOW
) -> int:
    camp = campaign or factories.campaign(sessions, name=f"rec-{n}")
    d, p, debt = factories.debtor(sessions, camp, 900 + n)
    aid = factories.attempt(sessions, camp, d, p, debt)
    with sessions.begin() as s:
        row = s.get(Attempt, aid)
        assert row is not None
        row.state, row.answered_at, row.ended_at = "ended", ended - dt.timedelta(seconds=30), ended
    return aid


def test_names_and_paths(tmp_path: Path) -> None:
    st = _settings(tmp_path, IVR_RECORDINGS_FORMAT="wav49")
    assert recordings.asterisk_path(st, 42) == "/var/spool/asterisk/monitor/ivr/ivr-42.WAV"
    assert recordings.local_path(st, "/var/spool/asterisk/monitor/ivr/ivr-42.WAV") == tmp_path / "rec/ivr-42.WAV"
    assert recordings.local_path(st, "/elsewhere/x.wav") == Path("/elsewhere/x.wav")
    assert [recordings.format_of(p) for p in ("a.wav", "a.WAV", "a.opus")] == ["wav", "wav49", "opus"]


def test_reported_file_is_measured_made_0600_and_exported(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    st = _settings(tmp_path)
    aid = _ended_attempt(sessions, 1)
    audio = pcm_wav(30.0)
    (tmp_path / "rec").mkdir()
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(audio)
    os.chmod(f, 0o644)
    os.utime(f, (0, 0))
    reported = recordings.asterisk_path(st, aid)
    assert recordings.note_reported(sessions, st, aid, reported, NOW)
    assert not recordings.note_reported(sessions, st, aid, reported, NOW)  # a replayed event: one row
    os.utime(f)  # just written: still settling
    assert recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=5)).stored == []
    os.utime(f, (0, 0))
    assert recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=5)).stored == [aid]
    with sessions() as s:
        rec = s.scalars(select(Recording).where(Recording.attempt_id == aid)).one()
        assert (rec.status, rec.format, rec.size_bytes) == ("stored", "wav", len(audio))
        assert rec.sha256 == hashlib.sha256(audio).hexdigest() and rec.duration_s == pytest.approx(30.0)
    assert f.stat().st_mode & 0o777 == 0o600
    out = tmp_path / "export" / "gravacao.wav"
    recordings.export(sessions, aid, out)
    assert out.read_bytes() == audio and out.stat().st_mode & 0o777 == 0o600
    f.write_bytes(audio[:-2] + b"\x01\x00")  # changed after the call
    with pytest.raises(recordings.RecordingError, match="does not match the SHA-256"):
        recordings.export(sessions, aid, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()
    with pytest.raises(NotFoundError):
        recordings.export(sessions, 10**9, out)


def test_group_readable_setting_gives_0640(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    st = _settings(tmp_path, IVR_RECORDINGS_GROUP_READABLE="true")
    aid = _ended_attempt(sessions, 2)
    (tmp_path / "rec").mkdir()
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(pcm_wav(1.0))
    os.utime(f, (0, 0))
    recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=5))
    assert f.stat().st_mode & 0o777 == 0o640


def test_a_file_that_never_appears_is_marked_missing(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    st = _settings(tmp_path)
    aid = _ended_attempt(sessions, 3)
    recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    assert recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=10)).missing == []
    assert recordings.measure_pending(sessions, st, NOW + dt.timedelta(minutes=5)).missing == [aid]
    with sessions() as s:
        assert s.scalar(select(Recording.status).where(Recording.attempt_id == aid)) == "missing"


def test_purge_by_campaign_or_global_retention(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    st = _settings(tmp_path, IVR_RECORDINGS_RETENTION_DAYS="30")
    (tmp_path / "rec").mkdir()
    short = factories.campaign(sessions, name="short-keep")
    recordings.set_retention(sessions, "short-keep", 7)
    cases = {  # attempt id → (days ago, expected to be purged)
        _ended_attempt(sessions, 10, short, NOW - dt.timedelta(days=8)): True,  # past the campaign's 7 days
        _ended_attempt(sessions, 11, short, NOW - dt.timedelta(days=6)): False,
        _ended_attempt(sessions, 12, None, NOW - dt.timedelta(days=31)): True,  # past the global 30 days
        _ended_attempt(sessions, 13, None, NOW - dt.timedelta(days=29)): False,
    }
    with sessions() as s:
        ended = {aid: s.get(Attempt, aid).ended_at for aid in cases}  # type: ignore[union-attr]
    for aid in cases:
        (tmp_path / "rec" / f"ivr-{aid}.wav").write_bytes(pcm_wav(0.5))
        recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), ended[aid])
    os.unlink(tmp_path / "rec" / f"ivr-{next(iter(cases))}.wav")  # already gone: not an error
    done = recordings.purge(sessions, st, NOW)
    assert (done.rows, done.files, done.busy) == (2, 1, False)
    with sessions() as s:
        left = set(s.scalars(select(Recording.attempt_id)))
    assert left == {aid for aid, purged in cases.items() if not purged}
    for aid, purged in cases.items():
        assert (tmp_path / "rec" / f"ivr-{aid}.wav").exists() is not purged
    assert recordings.purge(sessions, st, NOW).rows == 0  # idempotent


def test_purge_is_one_at_a_time(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    import fcntl

    st = _settings(tmp_path)
    fd = os.open(tmp_path / "recordings-purge.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert recordings.purge(sessions, st, NOW).busy
    finally:
        os.close(fd)
    assert not recordings.purge(sessions, st, NOW).busy


def test_cli_export_purge_retention(tmp_path: Path) -> None:
    from ivr.db.session import dispose_engines, open_database

    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    sessions = open_database(url)
    st = _settings(tmp_path)
    camp = factories.campaign(sessions, name="cli-rec")
    aid = _ended_attempt(sessions, 20, camp, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
    (tmp_path / "rec").mkdir()
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(pcm_wav(2.0))
    os.utime(f, (0, 0))
    recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid))
    dispose_engines()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(
        {
            "IVR_DATABASE_URL": url,
            "IVR_DATA_DIR": str(tmp_path),
            "IVR_PRIVACY_HMAC_KEY": "k",
            "IVR_RECORDINGS_LOCAL_DIR": str(tmp_path / "rec"),
        }
    )

    def ivr(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([IVR, *args], env=env, capture_output=True, text=True, timeout=60, check=False)

    first = ivr("recordings", "export", str(aid), "--out", str(tmp_path / "copy.wav"))
    assert first.returncode == 1 and first.stderr.count("\n") == 1 and "not stored yet" in first.stderr
    aid2 = _ended_attempt(sessions, 3, campaign=None)  # reported, its file not there yet
    recordings.note_reported(sessions, st, aid2, recordings.asterisk_path(st, aid2))
    dispose_engines()
    measured = ivr("recordings", "measure").stdout
    assert measured.startswith("1 recordings measured, 0 missing, 1 still pending (call not ended"), measured
    done = ivr("recordings", "export", str(aid), "--out", str(tmp_path / "copy.wav"))
    assert done.returncode == 0 and "2.0 s" in done.stdout, done.stderr
    assert (tmp_path / "copy.wav").stat().st_mode & 0o777 == 0o600
    bad = ivr("recordings", "export", "999999", "--out", str(tmp_path / "x.wav"))
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "not in the ledger" in bad.stderr
    assert ivr("recordings", "retention", "cli-rec", "--days", "0").returncode != 0
    assert ivr("recordings", "retention", "nope", "--days", "3").returncode != 0
    assert "kept 1 days" in ivr("recordings", "retention", "cli-rec", "--days", "1").stdout
    purged = ivr("recordings", "purge")
    assert purged.returncode == 0 and "0 recordings" in purged.stdout  # 5 minutes old: kept
    assert f.exists()


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (0, "retention of campaign 'keep': 0 days; give 1 to 36500 (or --default)"),
        (2147483648, "retention of campaign 'keep': 2147483648 days; give 1 to 36500 (or --default)"),
    ],
)
def test_a_retention_no_purge_can_compute_is_refused(sessions: sessionmaker[Session], days: int, message: str) -> None:
    # 2**31 days overflows PostgreSQL's integer and the purge's date arithmetic; the hint names the real option.
    factories.campaign(sessions, name="keep")
    with pytest.raises(IvrError) as err:
        recordings.set_retention(sessions, "keep", days)
    assert str(err.value) == message


def test_a_recording_owned_by_asterisk_is_replaced_by_a_private_copy_FAKED_chmod_refusal(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """In production MixMonitor's file belongs to Asterisk's user and the dialer (group ivr) may not chmod it
    (EPERM); tests run as root, whom chmod never refuses, so the refusal is FAKED here for that one file. The
    dialer must then put its own 0600 copy in place (same bytes, same SHA-256), not leave the file readable."""
    st = _settings(tmp_path)
    aid = _ended_attempt(sessions, 7)
    audio = pcm_wav(5.0)
    (tmp_path / "rec").mkdir()
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(audio)
    os.chmod(f, 0o640)
    os.utime(f, (0, 0))
    inode = f.stat().st_ino
    assert recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    real_fchmod = os.fchmod

    def fchmod_refused_for_recordings(fd: int, mode: int) -> None:
        if os.fstat(fd).st_ino == inode:
            raise PermissionError(1, "Operation not permitted")
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "fchmod", fchmod_refused_for_recordings)
    with caplog.at_level("WARNING"):
        assert recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=5)).stored == [aid]
    assert caplog.records == []
    assert f.stat().st_ino != inode and f.stat().st_mode & 0o777 == 0o600 and f.read_bytes() == audio
    assert sorted(p.name for p in f.parent.iterdir()) == [f.name]  # no temporary file left
    with sessions() as s:
        rec = s.scalars(select(Recording).where(Recording.attempt_id == aid)).one()
        assert rec.sha256 == hashlib.sha256(audio).hexdigest()


def test_an_unreadable_recording_is_logged_once_not_at_every_pass(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    st = _settings(tmp_path)
    aid = _ended_attempt(sessions, 8)
    (tmp_path / "rec").mkdir()
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(pcm_wav(1.0))
    assert recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)

    def denied(path: Path) -> None:  # FAKED: root may read any file
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(recordings, "open_regular", denied)
    with caplog.at_level("WARNING"):
        for _ in range(5):
            recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=5))
    assert [r.getMessage() for r in caplog.records] == [
        f"attempt {aid}: recording {f} cannot be read: Permission denied"
    ]
