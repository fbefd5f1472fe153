"""Uploaded CSV files imported in the background with ``ivr.db.importer.import_file`` (the CLI's importer), so
the page can show a progress bar. Jobs live in this process only. The upload is written 0600 to
``web.uploads_dir`` and deleted once imported; only the rejects file stays there (0600) for download.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db.debtors import has_debtors
from ivr.db.importer import ImportReport, import_file
from ivr.errors import IvrError
from ivr.web.accounts import audit


@dataclass
class ImportJob:
    id: str
    campaign: str
    filename: str
    path: Path
    total_bytes: int
    actor: str
    done_bytes: int = 0
    finished: bool = False
    error: str | None = None
    report: ImportReport | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return min(99, int(100 * self.done_bytes / self.total_bytes)) if self.total_bytes else 0

    def summary(self) -> dict[str, Any]:
        r = self.report
        return {
            "job": self.id,
            "campaign": self.campaign,
            "file": self.filename,
            "finished": self.finished,
            "percent": self.percent,
            "error": self.error,
            "taken": r.taken if r else 0,
            "refused": r.refused if r else 0,
            "debts_new": r.debts_new if r else 0,
            "debts_updated": r.debts_updated if r else 0,
            "debts_unchanged": r.debts_unchanged if r else 0,
            "debtors_new": r.debtors_new if r else 0,
            "rejects": [
                {"line": x.line, "field": x.field, "reason": x.reason} for x in (r.rejects_sample if r else [])
            ],
        }


async def read_upload(file: Any, max_mb: int) -> list[bytes]:
    """The chunks of an ``UploadFile`` (1 MiB each), refused with ``IvrError`` as soon as they pass ``max_mb``
    (``web.max_upload_mb``): an oversized upload is never held in memory whole."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
        if size > max_mb * 1024 * 1024:
            raise IvrError(f"arquivo maior que {max_mb} MB (web.max_upload_mb)")
        chunks.append(chunk)
    return chunks


def _safe_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "arquivo.csv").name).strip("._") or "arquivo"
    return base[:80] if base.lower().endswith(".csv") else base[:76] + ".csv"


class Imports:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.root = Path(settings.web.uploads_dir or Path(settings.data_dir) / "uploads")
        self.jobs: dict[str, ImportJob] = {}

    def save(self, campaign: str, filename: str, chunks: Any, actor: str) -> ImportJob:
        """Write the upload to its own 0700 folder as a 0600 file (it holds personal data)."""
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / job_id
        folder.mkdir(parents=True, mode=0o700)
        path = folder / _safe_name(filename)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        size = 0
        limit = self.settings.web.max_upload_mb * 1024 * 1024
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    fh.close()
                    path.unlink()
                    raise IvrError(f"arquivo maior que {self.settings.web.max_upload_mb} MB (web.max_upload_mb)")
                fh.write(chunk)
        job = ImportJob(job_id, campaign, _safe_name(filename), path, size, actor)
        self.jobs[job_id] = job
        return job

    def run(self, job: ImportJob) -> None:
        """Import in the calling thread (the API waits; the pages call ``start``)."""
        try:
            with self.sessions() as s:
                any_debtor = has_debtors(s)
            key = self.settings.hmac_key(create=not any_debtor)

            def progress(n: int) -> None:
                job.done_bytes += n

            report = import_file(job.path, job.campaign, self.sessions, key, progress=progress)
            if report.rejects_path is not None:
                os.chmod(report.rejects_path, 0o600)
            job.report = report
            with self.sessions.begin() as s:
                audit(
                    s,
                    job.actor,
                    "import",
                    f"campaign:{job.campaign}",
                    f"{job.filename}: {report.taken} taken, {report.refused} refused",
                )
        except IvrError as exc:
            job.error = str(exc).replace(str(job.path), job.filename)
        except Exception as exc:  # the page must say the import failed, not spin forever
            job.error = f"falha inesperada na importação: {type(exc).__name__}"
            raise
        finally:
            job.path.unlink(missing_ok=True)  # the upload holds personal data; the rejects file stays (0600)
            job.finished = True

    def start(self, job: ImportJob) -> None:
        threading.Thread(target=self._run_quietly, args=(job,), name=f"import-{job.id}", daemon=True).start()

    def _run_quietly(self, job: ImportJob) -> None:
        try:
            self.run(job)
        except Exception:
            import logging

            logging.getLogger(__name__).exception("import job %s failed", job.id)
