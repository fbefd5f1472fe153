"""CLI commands for the speech area: ``ivr say``, ``ivr listen`` and the ``ivr models`` group (list, download, verify)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ivr.cli.context import Context, pass_ctx
from ivr.errors import InputError, IvrError


@click.command("say")
@click.argument("text")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="WAV file to write (8 kHz mono 16-bit)."
)
@click.option("--no-cache", is_flag=True, help="Synthesize even when the text is in the audio cache.")
@pass_ctx
def say(ctx: Context, text: str, out: str, no_cache: bool) -> None:
    """Verbalize and synthesize TEXT with the configured engine into an 8 kHz WAV."""
    from ivr.speech.audio import duration_ms, write_wav
    from ivr.speech.tts import make_tts, prepare_text

    folder = Path(out).parent
    if not folder.is_dir():  # as `ivr report --csv`: a typo must not create folders
        raise InputError(f"--out {out}: the folder {folder} does not exist; create it first")
    spoken = prepare_text(text)
    engine = make_tts(ctx.settings, cache=not no_cache)
    engine.start()
    pcm = engine.synthesize_all(spoken)
    if not pcm:
        raise InputError("nothing to say: the text produced no audio")
    write_wav(out, pcm)
    click.echo(f"{out}: {duration_ms(pcm) / 1000:.2f} s, 8000 Hz mono 16-bit ({engine.name}); text: {spoken}")


@click.command("listen")
@click.argument("wav", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object with text, confidence and words.")
@click.option("--grammar", "grammar", default="", help="Comma-separated phrase list to restrict recognition.")
@click.option("--test-model", is_flag=True, help="Use the Korean test model when the Portuguese one is missing.")
@pass_ctx
def listen(ctx: Context, wav: str, as_json: bool, grammar: str, test_model: bool) -> None:
    """Print what the recognizer hears in WAV (any common rate or channel count)."""
    from ivr.speech.asr import AsrModel, recognize_pcm
    from ivr.speech.audio import read_wav_8k
    from ivr.speech.models import vosk_model_path

    if not Path(wav).is_file():
        raise InputError(f"audio file {wav} not found")
    s = ctx.settings.speech
    model = AsrModel(vosk_model_path(s.models_dir, s.vosk_model, allow_test_fallback=test_model))
    pcm = read_wav_8k(wav)
    model.start()
    phrases = [p.strip() for p in grammar.split(",") if p.strip()] or None
    result = recognize_pcm(model, pcm, phrases)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "text": result.text,
                    "confidence": result.confidence,
                    "words": [{"word": w.word, "start": w.start, "end": w.end, "conf": w.conf} for w in result.words],
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"{result.text}\t(confidence {result.confidence:.2f})" if result.text else "(nothing recognized)")


@click.group("models")
def models() -> None:
    """Download, list and verify the speech models."""


def _models_dir(ctx: Context) -> Path:
    return Path(ctx.settings.speech.models_dir)


@models.command("list")
@pass_ctx
def models_list(ctx: Context) -> None:
    """Known models and whether each is installed."""
    from ivr.speech.models import REGISTRY, status

    d = _models_dir(ctx)
    for spec in REGISTRY.values():
        st = status(spec, d)
        mark = "installed" if st.installed else st.problem
        default = " (default)" if spec.default else ""
        click.echo(f"{spec.name:42} {spec.kind:6} {mark:14} {spec.description}{default}")


@models.command("download")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every known model, including the large optional one.")
@click.option("--force", is_flag=True, help="Download again even when installed.")
@pass_ctx
def models_download(ctx: Context, names: tuple[str, ...], all_: bool, force: bool) -> None:
    """Fetch NAMES (default: the Portuguese default recognizer and voice) from their official homes."""
    from ivr.speech.models import REGISTRY, get_spec, install, rich_progress

    if all_:
        specs = list(REGISTRY.values())
    elif names:
        specs = [get_spec(n) for n in names]
    else:
        specs = [s for s in REGISTRY.values() if s.default]
    base = ctx.settings.speech.models_base_url or None
    show = sys.stderr.isatty()
    progress, close = rich_progress() if show else (None, lambda: None)
    try:
        for spec in specs:
            path = install(spec, _models_dir(ctx), base, force=force, progress=progress)
            click.echo(f"{spec.name}: installed at {path}")
    finally:
        close()


@models.command("verify")
@pass_ctx
def models_verify(ctx: Context) -> None:
    """Check installed models' files, sizes and SHA-256; exit non-zero when a default model is missing or bad."""
    from ivr.speech.models import REGISTRY, fetch_command, status

    bad = []
    for spec in REGISTRY.values():
        st = status(spec, _models_dir(ctx), check_hash=True)
        if st.installed:
            click.echo(f"{spec.name}: ok")
        elif spec.default or st.problem != "not installed":
            click.echo(f"{spec.name}: {st.problem} ({fetch_command(spec.name)})")
            bad.append(spec.name)
        else:
            click.echo(f"{spec.name}: not installed (optional)")
    if bad:
        raise ModelsBad(f"{len(bad)} model(s) missing or damaged: {', '.join(bad)}")


class ModelsBad(IvrError):
    exit_code = 4
