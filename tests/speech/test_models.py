"""The model manager against a real HTTP server on 127.0.0.1 serving archives made here."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from ivr.cli import cli
from ivr.errors import ModelMissingError
from ivr.speech import models
from ivr.speech.models import ModelDownloadError, ModelSpec, RemoteFile, install

NAME = "vosk-model-test-pt"


@dataclass
class Served:
    files: dict[str, bytes] = field(default_factory=dict)
    break_first: set[str] = field(default_factory=set)
    """Names whose first response stops halfway (connection closed mid-transfer)."""
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    served: Served

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        rng = self.headers.get("Range")
        self.served.requests.append((name, rng))
        data = self.served.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if rng and not self.served.ignore_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.served.break_first:
            self.served.break_first.discard(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()
    handler = type("BoundHandler", (Handler,), {"served": served})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/models", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def make_zip(top: str, files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files.items():
            zf.writestr(f"{top}/{rel}", data)
    return buf.getvalue()


MODEL_FILES = {"am/final.mdl": b"\x01" * 200_000, "conf/model.conf": b"--beam=10\n", "README": b"test model\n"}


def spec_for(archive: bytes, sha: str | None = None, size: int | None = None) -> ModelSpec:
    sha = hashlib.sha256(archive).hexdigest() if sha is None else sha
    rf = RemoteFile(
        f"https://example.invalid/{NAME}.zip", f"{NAME}.zip", sha256=sha, size=len(archive) if size is None else size
    )
    return ModelSpec(NAME, "vosk", "test", (rf,), NAME, archive=True, required=("am/final.mdl", "conf/model.conf"))


def fast(**kw: object) -> dict[str, object]:
    return {"retries": 3, "backoff": 0.01, "timeout": 5.0, **kw}


def test_good_archive_is_unpacked_atomically(server, tmp_path: Path) -> None:
    base, served = server
    archive = make_zip(NAME, MODEL_FILES)
    served.files[f"{NAME}.zip"] = archive
    seen: list[int] = []
    path = install(
        spec_for(archive), tmp_path / "models", base, progress=lambda n, done, total: seen.append(done), **fast()
    )
    assert path == tmp_path / "models" / NAME
    assert (path / "am" / "final.mdl").read_bytes() == MODEL_FILES["am/final.mdl"]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [NAME]  # no temp or partial files
    assert seen and seen[-1] == len(archive)
    assert models.status(spec_for(archive), tmp_path / "models").installed
    # installed: a second install does not download again
    install(spec_for(archive), tmp_path / "models", base, **fast())
    assert len(served.requests) == 1


def test_corrupt_archive_is_rejected_and_leaves_nothing(server, tmp_path: Path) -> None:
    base, served = server
    good = make_zip(NAME, MODEL_FILES)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    served.files[f"{NAME}.zip"] = bytes(bad)
    with pytest.raises(ModelDownloadError, match="SHA-256"):
        install(spec_for(good), tmp_path / "models", base, **fast())
    assert list((tmp_path / "models").iterdir()) == []


def test_broken_transfer_is_resumed_with_range(server, tmp_path: Path) -> None:
    base, served = server
    archive = make_zip(NAME, {**MODEL_FILES, "am/final.mdl": bytes(range(256)) * 4000})
    served.files[f"{NAME}.zip"] = archive
    served.break_first.add(f"{NAME}.zip")
    path = install(spec_for(archive), tmp_path / "models", base, **fast())
    assert (path / "am" / "final.mdl").stat().st_size == 256 * 4000
    assert len(served.requests) == 2
    assert served.requests[0][1] is None
    resumed_at = int(served.requests[1][1].removeprefix("bytes=").rstrip("-"))  # type: ignore[union-attr]
    assert 0 < resumed_at < len(archive)


def test_broken_transfer_restarts_when_the_server_ignores_range(server, tmp_path: Path) -> None:
    base, served = server
    archive = make_zip(NAME, MODEL_FILES)
    served.files[f"{NAME}.zip"] = archive
    served.break_first.add(f"{NAME}.zip")
    served.ignore_range = True
    path = install(spec_for(archive), tmp_path / "models", base, **fast())
    assert (path / "conf" / "model.conf").read_bytes() == MODEL_FILES["conf/model.conf"]


def test_missing_file_on_server_is_an_error_without_leftovers(server, tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(ModelDownloadError, match="404"):
        install(spec_for(b"x"), tmp_path / "models", base, **fast())
    assert list((tmp_path / "models").iterdir()) == []


def test_archive_without_the_model_directory_is_rejected(server, tmp_path: Path) -> None:
    base, served = server
    archive = make_zip("something-else", MODEL_FILES)
    served.files[f"{NAME}.zip"] = archive
    with pytest.raises(ModelDownloadError, match="no top directory"):
        install(spec_for(archive), tmp_path / "models", base, **fast())
    assert list((tmp_path / "models").iterdir()) == []


def test_zip_slip_is_refused(server, tmp_path: Path) -> None:
    base, served = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{NAME}/am/final.mdl", b"x")
        zf.writestr("../../evil.txt", b"x")
    served.files[f"{NAME}.zip"] = buf.getvalue()
    with pytest.raises(ModelDownloadError, match="unsafe path"):
        install(spec_for(buf.getvalue()), tmp_path / "models", base, **fast())
    assert not (tmp_path / "evil.txt").exists() and list((tmp_path / "models").iterdir()) == []


def test_single_files_are_verified_by_size_and_sha(server, tmp_path: Path) -> None:
    base, served = server
    onnx, cfg = b"\x08\x01" * 5000, b'{"audio": {"sample_rate": 22050}}'
    served.files.update({"voice.onnx": onnx, "voice.onnx.json": cfg})
    spec = ModelSpec(
        "voice",
        "piper",
        "test",
        (
            RemoteFile("https://example.invalid/voice.onnx", "voice.onnx", hashlib.sha256(onnx).hexdigest(), len(onnx)),
            RemoteFile("https://example.invalid/voice.onnx.json", "voice.onnx.json"),
        ),
        "voice.onnx",
    )
    install(spec, tmp_path / "models", base, **fast())
    assert (tmp_path / "models" / "voice.onnx").read_bytes() == onnx
    assert models.status(spec, tmp_path / "models", check_hash=True).installed
    (tmp_path / "models" / "voice.onnx").write_bytes(b"\x00" * len(onnx))  # same size, damaged
    assert "SHA-256" in models.status(spec, tmp_path / "models", check_hash=True).problem


def test_registry_has_the_official_homes_and_the_faber_checksum() -> None:
    faber = models.get_spec("pt_BR-faber-medium").files[0]
    assert (
        faber.url
        == "https://huggingface.co/rhasspy/piper-voices/resolve/main/pt/pt_BR/faber/medium/pt_BR-faber-medium.onnx"
    )
    assert (faber.sha256, faber.size) == ("858555e3a064209c57088fe6bd70c4c3dc54d03eaa00c45d5ecaf43a33f95aa7", 63201294)
    vosk = models.get_spec("vosk-model-small-pt-0.3").files[0]
    assert vosk.url == "https://alphacephei.com/vosk/models/vosk-model-small-pt-0.3.zip"
    assert models.get_spec("pt_BR-edresson-low").files[1].url.endswith("/edresson/low/pt_BR-edresson-low.onnx.json")


def test_missing_model_is_one_line_naming_file_and_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as err:
        models.vosk_model_path(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / "vosk-model-small-pt-0.3" / "am" / "final.mdl") in msg
    assert msg.endswith("ivr models download vosk-model-small-pt-0.3")
    with pytest.raises(ModelMissingError, match="ivr models download pt_BR-faber-medium"):
        models.piper_voice_path(tmp_path)


def test_test_models_are_located_and_used_as_announced_fallback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert models.test_vosk_model() is not None and models.test_piper_voice() is not None
    assert models.vosk_model_path(tmp_path, allow_test_fallback=True) == models.test_vosk_model()
    assert models.piper_voice_path(tmp_path, allow_test_fallback=True) == models.test_piper_voice()
    assert "TEST model" in caplog.text and "TEST voice" in caplog.text


def test_cli_download_list_verify_through_a_mirror(server, tmp_path: Path) -> None:
    base, served = server
    served.files["pt_BR-edresson-low.onnx"] = b"onnx" * 100
    served.files["pt_BR-edresson-low.onnx.json"] = b"{}"
    env = {
        "IVR_SPEECH_MODELS_BASE_URL": base,
        "IVR_SPEECH_MODELS_DIR": str(tmp_path / "m"),
        "IVR_DATA_DIR": str(tmp_path),
    }
    runner = CliRunner()
    res = runner.invoke(cli, ["models", "download", "pt_BR-edresson-low"], env=env)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "pt_BR-edresson-low.onnx").read_bytes() == b"onnx" * 100
    res = runner.invoke(cli, ["models", "list"], env=env)
    assert (
        "pt_BR-edresson-low" in res.output
        and "installed" in res.output.split("pt_BR-edresson-low", 1)[1].splitlines()[0]
    )
    res = runner.invoke(cli, ["models", "verify"], env=env)
    assert (
        res.exit_code != 0
        and "pt_BR-faber-medium: not installed (ivr models download pt_BR-faber-medium)" in res.output
    )
    assert "pt_BR-edresson-low: ok" in res.output


def test_a_host_that_does_not_resolve_is_one_line_naming_the_mirror_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No internet (DNS fails): retrying cannot help, so no retry warnings; the line says how to use a mirror."""
    archive = make_zip(NAME, MODEL_FILES)
    with caplog.at_level("WARNING", logger="ivr.speech.models"):
        with pytest.raises(ModelDownloadError) as info:
            install(spec_for(archive), tmp_path / "models", "http://mirror.invalid/ivr-models", **fast(backoff=30))
    assert "cannot resolve mirror.invalid" in str(info.value)
    assert "speech.models_base_url" in str(info.value) and "IVR_SPEECH_MODELS_BASE_URL" in str(info.value)
    assert [r.getMessage() for r in caplog.records] == []
    assert not any((tmp_path / "models").glob("**/*.part"))
