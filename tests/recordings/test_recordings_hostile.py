"""Recordings under hostile or broken input: the IvrHangup ``Recording`` value comes from the dialplan (any
string a dialplan, or a channel variable it echoes, can make), so it must never point the dialer at a file
outside the recordings directory; files that are not regular files, vanish or are truncated; purge run twice
at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import recordings
from ivr.db.models import Recording
from ivr.errors import NotFoundError
from ivr.testing import factories
from tests.recordings.test_recordings import IVR, NOW, _ended_attempt, _settings, pcm_wav

LATER = NOW + dt.timedelta(days=3650)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "outside" / "secret.txt"
    victim.parent.mkdir(exist_ok=True)
    victim.write_bytes(b"not a recording\n")
    os.chmod(victim, 0o644)
    os.utime(victim, (0, 0))
    return victim


@pytest.mark.parametrize(
    "hostile",
    [
        "{victim}",  # an absolute path anywhere
        "/var/spool/asterisk/monitor/ivr/../../../../..{victim}",  # traversal out of recordings.dir
        "/var/spool/asterisk/monitor/ivr/ivr-{other}.wav",  # another attempt's recording
        "ivr-{aid}.wav",  # relative: the dialer's working directory
        "/var/spool/asterisk/monitor/ivr/ivr-{aid}.wav" + "x" * 600,  # longer than the column
    ],
)
def test_a_hostile_reported_path_never_reaches_a_file_outside_the_recordings(
    sessions: sessionmaker[Session], tmp_path: Path, hostile: str
) -> None:
    st = _settings(tmp_path, IVR_RECORDINGS_RETENTION_DAYS="1")
    victim = _victim(tmp_path)
    (tmp_path / "rec").mkdir()
    aid, other = _ended_attempt(sessions, 1), _ended_attempt(sessions, 2)
    other_file = tmp_path / "rec" / f"ivr-{other}.wav"
    other_file.write_bytes(pcm_wav(1.0))
    os.chmod(other_file, 0o644)
    os.utime(other_file, (0, 0))
    reported = hostile.format(victim=victim, other=other, aid=aid)
    recordings.note_reported(sessions, st, aid, reported, NOW)
    recordings.measure_pending(sessions, st, NOW + dt.timedelta(minutes=5))
    recordings.purge(sessions, st, LATER)
    assert victim.exists() and victim.stat().st_mode & 0o777 == 0o644
    assert other_file.exists() and other_file.stat().st_mode & 0o777 == 0o644
    with sessions() as s:
        paths = list(s.scalars(select(Recording.path)))
    assert all(p == str(tmp_path / "rec" / f"ivr-{aid}.wav") for p in paths), paths


def test_the_reported_path_is_kept_when_it_is_the_one_the_dialer_asked_for(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    st = _settings(tmp_path)
    aid = _ended_attempt(sessions, 3)
    assert recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    with sessions() as s:
        assert s.scalar(select(Recording.path)) == str(tmp_path / "rec" / f"ivr-{aid}.wav")


def test_a_symlink_or_directory_in_place_of_the_recording_is_not_followed(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    st = _settings(tmp_path)
    victim = _victim(tmp_path)
    (tmp_path / "rec").mkdir()
    link, folder = _ended_attempt(sessions, 4), _ended_attempt(sessions, 5)
    (tmp_path / "rec" / f"ivr-{link}.wav").symlink_to(victim)
    (tmp_path / "rec" / f"ivr-{folder}.wav").mkdir()
    os.utime(tmp_path / "rec" / f"ivr-{folder}.wav", (0, 0))
    for aid in (link, folder):
        recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    done = recordings.measure_pending(sessions, st, NOW + dt.timedelta(minutes=5))  # must not raise
    assert done.stored == []
    assert victim.stat().st_mode & 0o777 == 0o644
    with pytest.raises(recordings.RecordingError, match="no usable recording file") as refused:
        recordings.export(sessions, link, tmp_path / "copy.txt")
    assert "measures it seconds after" not in str(refused.value)
    assert not (tmp_path / "copy.txt").exists()


def test_a_fifo_in_place_of_the_recording_does_not_block_the_dialer(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    st = _settings(tmp_path)
    (tmp_path / "rec").mkdir()
    fifo, kept = _ended_attempt(sessions, 6), _ended_attempt(sessions, 7)
    os.mkfifo(tmp_path / "rec" / f"ivr-{fifo}.wav")
    os.utime(tmp_path / "rec" / f"ivr-{fifo}.wav", (0, 0))
    f = tmp_path / "rec" / f"ivr-{kept}.wav"
    f.write_bytes(pcm_wav(1.0))
    os.utime(f, (0, 0))
    for aid in (fifo, kept):
        recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    result: list[recordings.Measured] = []
    worker = threading.Thread(
        target=lambda: result.append(recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=10))),
        daemon=True,
    )
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so the test process can end
        os.close(os.open(tmp_path / "rec" / f"ivr-{fifo}.wav", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("measuring blocked on a FIFO named like the recording")
    assert result[0].stored == [kept] and result[0].missing == [fifo]


def test_truncated_missing_and_unrecorded_exports_fail_with_one_reason(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    st = _settings(tmp_path)
    (tmp_path / "rec").mkdir()
    cut, gone = _ended_attempt(sessions, 8), _ended_attempt(sessions, 9)
    unrecorded = _ended_attempt(sessions, 10)
    for aid in (cut, gone):
        f = tmp_path / "rec" / f"ivr-{aid}.wav"
        f.write_bytes(pcm_wav(2.0))
        os.utime(f, (0, 0))
        recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    assert sorted(recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=10)).stored) == [cut, gone]
    with open(tmp_path / "rec" / f"ivr-{cut}.wav", "r+b") as fh:
        fh.truncate(100)
    os.unlink(tmp_path / "rec" / f"ivr-{gone}.wav")
    with pytest.raises(recordings.RecordingError, match="does not match"):
        recordings.export(sessions, cut, tmp_path / "a.wav")
    with pytest.raises(recordings.RecordingError, match="gone"):
        recordings.export(sessions, gone, tmp_path / "b.wav")
    with pytest.raises(NotFoundError, match="has no recording"):
        recordings.export(sessions, unrecorded, tmp_path / "c.wav")
    assert not any((tmp_path / n).exists() for n in ("a.wav", "b.wav", "c.wav", ".a.wav.partial"))


def test_a_truncated_header_is_measured_without_duration(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    st = _settings(tmp_path)
    (tmp_path / "rec").mkdir()
    aid = _ended_attempt(sessions, 11)
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(pcm_wav(2.0)[:30])  # cut inside the fmt chunk
    os.utime(f, (0, 0))
    recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    assert recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=10)).stored == [aid]
    with sessions() as s:
        rec = s.scalars(select(Recording)).one()
        assert (rec.duration_s, rec.size_bytes) == (None, 30)


def test_two_purges_at_once_from_the_cli(tmp_path: Path) -> None:
    from ivr.db.session import dispose_engines, open_database

    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    sessions = open_database(url)
    st = _settings(tmp_path)
    (tmp_path / "rec").mkdir()
    camp = factories.campaign(sessions, name="purge-twice")
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)
    ids = [_ended_attempt(sessions, 30 + i, camp, old) for i in range(40)]
    for aid in ids:
        f = tmp_path / "rec" / f"ivr-{aid}.wav"
        f.write_bytes(pcm_wav(0.2))
        os.utime(f, (0, 0))
        recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), old)
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
    procs = [
        subprocess.Popen(
            [IVR, "recordings", "purge"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("Traceback" not in err for _, err in outs), outs
    assert not list((tmp_path / "rec").iterdir())
    sessions = open_database(url)
    with sessions() as s:
        assert s.scalar(select(Recording.id)) is None


def test_a_file_purge_cannot_delete_is_kept_with_one_warning(
    sessions: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A directory where the recording should be (root ignores file modes, so a directory stands for any file
    the dialer may not delete): purge goes on with the others, keeps that row for the next run, says so."""
    st = _settings(tmp_path, IVR_RECORDINGS_RETENTION_DAYS="1")
    (tmp_path / "rec").mkdir()
    stuck, fine = _ended_attempt(sessions, 50), _ended_attempt(sessions, 51)
    (tmp_path / "rec" / f"ivr-{stuck}.wav").mkdir()
    (tmp_path / "rec" / f"ivr-{fine}.wav").write_bytes(pcm_wav(0.2))
    for aid in (stuck, fine):
        recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    done = recordings.purge(sessions, st, LATER)  # must not raise
    assert (done.files, done.rows, done.failed) == (1, 1, 1)
    with sessions() as s:
        assert list(s.scalars(select(Recording.attempt_id))) == [stuck]
    assert sum("cannot delete" in r.getMessage() for r in caplog.records) == 1


def test_export_never_writes_through_a_planted_partial_file(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """In a shared export directory someone links ``.copy.wav.partial`` to another file: the export must not
    write the recording through it."""
    st = _settings(tmp_path)
    victim = _victim(tmp_path)
    (tmp_path / "rec").mkdir()
    aid = _ended_attempt(sessions, 60)
    f = tmp_path / "rec" / f"ivr-{aid}.wav"
    f.write_bytes(pcm_wav(1.0))
    os.utime(f, (0, 0))
    recordings.note_reported(sessions, st, aid, recordings.asterisk_path(st, aid), NOW)
    recordings.measure_pending(sessions, st, NOW + dt.timedelta(seconds=10))
    out = tmp_path / "shared" / "copy.wav"
    out.parent.mkdir()
    (out.parent / ".copy.wav.partial").symlink_to(victim)
    recordings.export(sessions, aid, out)
    assert victim.read_bytes() == b"not a recording\n"
    assert out.read_bytes() == f.read_bytes() and not out.is_symlink()
