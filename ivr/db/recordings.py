"""Call recordings: the file Asterisk's MixMonitor wrote for an attempt, measured (size, duration, SHA-256),
kept for the retention period, purged after it, and exported on a consumer's request.

Why recordings at all: SP Lei 14.953/2013 (and RJ law) require collection calls to be recorded and the
consumer may ask for a copy; a notice of a recording that does not exist would be a false statement (CDC
art. 6 III), so the call service says the notice only when Asterisk reports the recording started.

Paths: Asterisk writes ``<recordings.dir>/ivr-<attempt id>.<ext>``; the dialer reads the same file under
``recordings.local_dir`` (a mount of that directory, or the sandbox root). Durations come from the file's own
header, read here with the standard library (RIFF chunks for WAV and wav49, the last Ogg page for Opus):
``wave`` cannot read GSM-in-WAV and libsndfile is not needed for a header.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import logging
import os
import shutil
import stat
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import MAX_RETENTION_DAYS, RECORDING_EXTENSIONS, Settings
from ivr.db.models import Attempt, Campaign, Recording, utcnow
from ivr.errors import IvrError, NotFoundError

log = logging.getLogger(__name__)

SETTLE_S = 2.0
"""Seconds a recording of an ended call must be unchanged before it is measured: MixMonitor closes it when
the channel is destroyed, just after the ``h`` extension reported it."""
MISSING_AFTER_S = 120.0
"""A reported file still absent this long after the call is marked ``missing`` (and logged once)."""


class RecordingError(IvrError):
    """A recording cannot be exported or read; the message says which and why."""


# ------------------------------------------------------------------------------------------------ names


def asterisk_path(settings: Settings, attempt_id: int) -> str:
    """Where Asterisk records attempt ``attempt_id``: ``<recordings.dir>/ivr-<id>.<ext>`` (the Originate variable)."""
    r = settings.recordings
    return f"{r.dir.rstrip('/')}/ivr-{attempt_id}.{r.extension}"


def local_path(settings: Settings, reported: str) -> Path:
    """The dialer host's path of a file Asterisk reports under ``recordings.dir``."""
    r = settings.recordings
    base = r.dir.rstrip("/")
    if r.local_dir and (reported == base or reported.startswith(base + "/")):
        return Path(r.local_dir) / reported[len(base) :].lstrip("/")
    return Path(reported)


def format_of(path: str) -> str:
    """``wav``, ``wav49`` or ``opus`` from the extension MixMonitor was given (``WAV`` is wav49)."""
    ext = path.rsplit(".", 1)[-1] if "." in path else ""
    for name, e in RECORDING_EXTENSIONS.items():
        if ext == e:
            return name
    return ext.lower()[:8] or "wav"


# ------------------------------------------------------------------------------------------------ headers


def wav_duration(data: bytes, file_size: int | None = None) -> float:
    """Seconds of audio in a RIFF/WAVE file (PCM or GSM ``wav49``): data chunk bytes / fmt byte rate.

    ``data`` is the file or its first bytes (up to the data chunk's header), ``file_size`` its full size.
    Raises ValueError when the bytes are not a WAVE file with ``fmt `` and ``data`` chunks.
    A ``data`` size of 0 or past the end (a writer that never patched the header) counts the bytes present.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    total = len(data) if file_size is None else file_size
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            if size < 16:
                raise ValueError("short fmt chunk")
            byte_rate = struct.unpack("<I", data[body + 8 : body + 12])[0]
        elif cid == b"data":
            if not byte_rate:
                raise ValueError("data chunk before fmt chunk")
            present = total - body
            n = present if size == 0 or size > present else size
            return n / byte_rate
        pos = body + size + (size & 1)
    raise ValueError("no data chunk")


def ogg_opus_duration(data: bytes) -> float:
    """Seconds of an Ogg Opus file: (last page granule position - pre-skip) / 48 kHz (RFC 7845 §4)."""
    if data[:4] != b"OggS":
        raise ValueError("not an Ogg file")
    head = data.find(b"OpusHead")
    if head < 0:
        raise ValueError("no OpusHead")
    pre_skip = struct.unpack("<H", data[head + 10 : head + 12])[0]
    last = data.rfind(b"OggS")
    granule = struct.unpack("<q", data[last + 6 : last + 14])[0]
    return max(0, granule - pre_skip) / 48000


def audio_duration(path: Path) -> float:
    """Seconds of audio in a recording (WAV, wav49 or Ogg Opus); ValueError for anything else."""
    with path.open("rb") as fh:
        return audio_duration_of(fh, path.stat().st_size)


def audio_duration_of(fh: BinaryIO, size: int) -> float:
    """``audio_duration`` of an open file of ``size`` bytes (read from its start)."""
    fh.seek(0)
    start = fh.read(4)
    fh.seek(0)
    if start == b"OggS":
        return ogg_opus_duration(fh.read())
    # A WAV header is at the start; its data chunk size says the length without reading the audio.
    head = fh.read(65536)
    if head[:4] == b"RIFF":
        return wav_duration(head, size)
    raise ValueError("unknown recording format")


def sha256_of(path: Path) -> str:
    with path.open("rb") as fh:
        return sha256_of_file(fh)


def sha256_of_file(fh: BinaryIO) -> str:
    """Hex SHA-256 of an open file, from its start."""
    fh.seek(0)
    h = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def replace_with_own_copy(fh: BinaryIO, path: Path, mode: int, digest: str) -> None:
    """Put a copy of the open recording ``fh`` that this user owns, with ``mode``, in place of ``path``.

    MixMonitor's file belongs to Asterisk's user, and only a file's owner may chmod it; the recordings
    directory is the dialer's group's to write (docs/INSTALL.md: asterisk:ivr 2770), so the dialer writes the
    same bytes to a new private file and renames it over the original (a rename replaces the directory entry,
    never what a symlink there would point to). The copy is hashed as it is written: when it is not the
    ``digest`` just stored, nothing is replaced. Raises OSError (directory not writable, disk full)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        fh.seek(0)
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != digest:
            raise OSError(errno.EIO, "the file changed while it was copied")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_WARNED: set[tuple[str, str]] = set()
"""(file, problem) already logged: the dialer measures every few seconds, the journal hears it once."""


def _warn_once(path: Path, problem: str, message: str, *args: object) -> None:
    if (str(path), problem) in _WARNED:
        return
    if len(_WARNED) > 10_000:
        _WARNED.clear()
    _WARNED.add((str(path), problem))
    log.warning(message, *args)


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file itself: a symlink (O_NOFOLLOW), a FIFO (which
    would block: O_NONBLOCK), a directory or a device raises ``RecordingError``; OSError if it cannot be opened.
    Whoever can write to the recordings directory must not make the dialer read, chmod or export another file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RecordingError(f"{path} is a symbolic link, not a recording file") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RecordingError(f"{path} is not a regular file")
    return os.fdopen(fd, "rb")


# ------------------------------------------------------------------------------------------------ ledger


def reported_paths(settings: Settings, attempt_id: int) -> set[str]:
    """The names Asterisk may report for attempt ``attempt_id``: ``asterisk_path`` in each format (the format
    setting may have changed between the Originate and the hang-up, e.g. across a dialer restart)."""
    base = settings.recordings.dir.rstrip("/")
    return {f"{base}/ivr-{attempt_id}.{ext}" for ext in RECORDING_EXTENSIONS.values()}


def note_reported(
    sessions: sessionmaker[Session], settings: Settings, attempt_id: int, reported: str, now: dt.datetime | None = None
) -> bool:
    """The ``h`` event said this attempt was recorded to ``reported`` (Asterisk's path): keep a pending row.

    ``reported`` comes from the dialplan (IvrHangup ``Recording``), so it is trusted only when it is the very
    name the dialer asked for (``reported_paths``): any other value (another file, ``..``, another attempt's
    recording) is ignored with one warning, and the dialer never hashes, chmods, exports or deletes it.
    Idempotent (replayed or broadcast events, several dialers): False when the row already existed or the
    value was refused.
    """
    if reported not in reported_paths(settings, attempt_id):
        log.warning(
            "attempt %d: IvrHangup reported the recording %.120r, not %s the dialer asked for; ignored",
            attempt_id,
            reported,
            asterisk_path(settings, attempt_id),
        )
        return False
    path = str(local_path(settings, reported))
    try:
        with sessions.begin() as s:
            if s.scalar(select(Recording.id).where(Recording.attempt_id == attempt_id)) is not None:
                return False
            if s.get(Attempt, attempt_id) is None:
                return False
            s.add(
                Recording(
                    attempt_id=attempt_id,
                    path=path,
                    format=format_of(reported),
                    status="pending",
                    reported_at=now or utcnow(),
                )
            )
    except IntegrityError:
        return False
    return True


@dataclass
class Measured:
    stored: list[int]
    missing: list[int]


def pending_count(sessions: sessionmaker[Session]) -> int:
    """Recordings reported by Asterisk and not measured yet (call still on, file settling, or unreadable)."""
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Recording).where(Recording.status == "pending")) or 0


def measure_pending(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime | None = None,
    settle_s: float = SETTLE_S,
    missing_after_s: float = MISSING_AFTER_S,
) -> Measured:
    """Measure the pending recordings of ended calls whose file has not changed for ``settle_s`` seconds (wall
    time): size, duration, SHA-256, then mode 0600 (0640 with ``recordings.group_readable``). A file still
    absent ``missing_after_s`` after it was reported is marked ``missing``. Safe from several dialers at once
    (guarded updates); ``now`` is the caller's clock (a dialer's may be shifted), used only against the
    ledger's own timestamps."""
    now = now or utcnow()
    done = Measured([], [])
    with sessions() as s:
        rows = s.execute(
            select(Recording.id, Recording.attempt_id, Recording.path, Recording.reported_at)
            .join(Attempt, Attempt.id == Recording.attempt_id)
            .where(Recording.status == "pending", Attempt.state == "ended")
        ).all()
    for rec_id, attempt_id, path_text, reported_at in rows:
        path = Path(path_text)
        try:
            fh = open_regular(path)
        except FileNotFoundError:
            if (now - reported_at).total_seconds() >= missing_after_s:
                _mark_missing(sessions, rec_id)
                log.warning(
                    "attempt %d: recording %s never appeared (is recordings.local_dir the directory "
                    "Asterisk writes to?)",
                    attempt_id,
                    path,
                )
                done.missing.append(attempt_id)
            continue
        except RecordingError as exc:  # a symlink, FIFO or directory: never followed, read or chmod-ed
            _mark_missing(sessions, rec_id)
            log.warning("attempt %d: %s; marked missing", attempt_id, exc)
            done.missing.append(attempt_id)
            continue
        except OSError as exc:
            _warn_once(path, "open", "attempt %d: recording %s cannot be read: %s", attempt_id, path, exc.strerror)
            continue
        with fh:
            try:
                st = os.fstat(fh.fileno())
                if time.time() - st.st_mtime < settle_s:
                    continue  # MixMonitor may still be writing (it closes the file when the channel is destroyed)
                try:
                    duration: float | None = audio_duration_of(fh, st.st_size)
                except (ValueError, struct.error) as exc:
                    log.warning("attempt %d: recording %s has no readable audio header (%s)", attempt_id, path, exc)
                    duration = None
                digest = sha256_of_file(fh)
            except OSError as exc:
                _warn_once(path, "read", "attempt %d: recording %s cannot be read: %s", attempt_id, path, exc.strerror)
                continue
            mode = settings.recordings.file_mode
            try:
                os.fchmod(fh.fileno(), mode)
            except PermissionError:  # Asterisk's file: a private copy of our own takes its place
                try:
                    replace_with_own_copy(fh, path, mode, digest)
                except OSError as exc:
                    log.warning("attempt %d: cannot make %s mode %o: %s", attempt_id, path, mode, exc.strerror)
            except OSError as exc:
                log.warning("attempt %d: cannot make %s mode %o: %s", attempt_id, path, mode, exc.strerror)
        with sessions.begin() as s:
            row = s.get(Recording, rec_id)
            if row is None or row.status != "pending":
                continue
            row.status, row.size_bytes, row.sha256, row.duration_s = "stored", st.st_size, digest, duration
            row.stored_at = now
        done.stored.append(attempt_id)
    return done


def _mark_missing(sessions: sessionmaker[Session], rec_id: int) -> None:
    with sessions.begin() as s:
        row = s.get(Recording, rec_id)
        if row is not None and row.status == "pending":
            row.status = "missing"


# ------------------------------------------------------------------------------------------------ retention


@dataclass
class Purged:
    files: int = 0
    rows: int = 0
    bytes: int = 0
    busy: bool = False
    """Another purge held the lock; nothing was done."""
    failed: int = 0
    """Files that could not be deleted (logged one line each); their rows are kept for the next run."""


def purge(sessions: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None) -> Purged:
    """Delete recordings (file, then row) older than their campaign's retention, else the global one.

    Safe from cron or a systemd timer: one purge at a time (a lock file in the data directory; a second one
    returns ``busy``), a file already gone is not an error, and a run that dies mid-way is finished by the next.
    """
    now = now or utcnow()
    lock_path = Path(settings.data_dir) / "recordings-purge.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    result = Purged()
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            result.busy = True
            return result
        default_days = settings.recordings.retention_days
        with sessions() as s:
            rows = s.execute(
                select(Recording.id, Recording.path, Recording.reported_at, Campaign.recording_retention_days)
                .join(Attempt, Attempt.id == Recording.attempt_id)
                .join(Campaign, Campaign.id == Attempt.campaign_id)
            ).all()
        for rec_id, path_text, reported_at, days in rows:
            keep = days if days is not None else default_days
            if reported_at > now - dt.timedelta(days=keep):
                continue
            path = Path(path_text)
            try:
                size = path.lstat().st_size
                path.unlink()
                result.files += 1
                result.bytes += size
            except FileNotFoundError:
                pass
            except OSError as exc:  # not ours to delete (permissions, a directory): keep the row, go on
                log.warning("recordings purge: cannot delete %s: %s; kept for the next run", path, exc.strerror)
                result.failed += 1
                continue
            with sessions.begin() as s:
                row = s.get(Recording, rec_id)
                if row is not None:
                    s.delete(row)
                    result.rows += 1
    finally:
        os.close(fd)
    if result.rows:
        log.info(
            "recordings purge: %d files (%d bytes) and %d rows past retention deleted",
            result.files,
            result.bytes,
            result.rows,
        )
    return result


def set_retention(sessions: sessionmaker[Session], campaign: str, days: int | None) -> None:
    """A campaign's own retention in days (None: back to the global ``recordings.retention_days``)."""
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:  # more overflows the purge's date arithmetic
        raise IvrError(
            f"retention of campaign {campaign!r}: {days} days; give 1 to {MAX_RETENTION_DAYS} (or --default)"
        )
    with sessions.begin() as s:
        row = s.scalar(select(Campaign).where(Campaign.name == campaign))
        if row is None:
            raise NotFoundError(f"campaign {campaign!r} not found; see `ivr campaign list`")
        row.recording_retention_days = days


# ------------------------------------------------------------------------------------------------ export


def export(sessions: sessionmaker[Session], attempt_id: int, out: Path) -> Recording:
    """Copy attempt ``attempt_id``'s recording to ``out`` (mode 0600) after checking its SHA-256.

    Raises NotFoundError (no such attempt or no recording), RecordingError (not measured yet, file gone,
    digest mismatch: the file was changed after the call). An existing ``out`` is replaced.
    """
    with sessions() as s:
        if s.get(Attempt, attempt_id) is None:
            raise NotFoundError(f"attempt {attempt_id} is not in the ledger")
        rec = s.scalar(select(Recording).where(Recording.attempt_id == attempt_id))
        if rec is None:
            raise NotFoundError(
                f"attempt {attempt_id} has no recording (its campaign did not record, or the call was not answered)"
            )
        s.expunge(rec)
    if rec.status == "missing":
        raise RecordingError(
            f"attempt {attempt_id}: Asterisk reported a recording but no usable recording file "
            f"appeared at {rec.path} (see the dialer's log); nothing to export"
        )
    if rec.status != "stored" or rec.sha256 is None:
        raise RecordingError(
            f"attempt {attempt_id}: the recording is {rec.status}, not stored yet; a running "
            "dialer measures it seconds after the call (or run `ivr recordings measure`)"
        )
    src = Path(rec.path)
    try:
        fin = open_regular(src)
    except FileNotFoundError:
        raise RecordingError(f"attempt {attempt_id}: the recording file {src} is gone (purged or moved)") from None
    except RecordingError as exc:
        raise RecordingError(f"attempt {attempt_id}: {exc}; not exported") from None
    except OSError as exc:
        raise RecordingError(f"attempt {attempt_id}: cannot read {src}: {exc.strerror}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.unlink(missing_ok=True)  # a stale one, or a link someone planted: never written through
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except BaseException:
        fin.close()
        raise
    try:
        with fin, os.fdopen(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        if sha256_of(tmp) != rec.sha256:
            raise RecordingError(
                f"attempt {attempt_id}: {src} does not match the SHA-256 stored at the call; "
                "the file was changed: not exported"
            )
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return rec
