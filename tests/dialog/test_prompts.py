"""The prompt catalog: the shipped file passes the lint, planted problems are caught, `ivr prompts check`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.errors import InputError
from ivr.cli import cli
from ivr.dialog.engine import PROMPT_IDS
from ivr.language.prompts import (
    Catalog,
    catalog_from_dict,
    default_catalog_path,
    lint,
    load_catalog,
    pick_variant,
    split_pauses,
    static_variants,
)

IVR = str(Path(sys.executable).with_name("ivr"))
SHIPPED = Path(__file__).resolve().parents[2] / "ivr" / "prompts" / "catalog.toml"


def test_shipped_catalog_is_clean_and_complete(catalog: Catalog) -> None:
    assert lint(catalog, required=PROMPT_IDS) == []
    assert set(PROMPT_IDS) <= set(catalog.prompts)
    assert all(len(p.variants) >= 2 for p in catalog.prompts.values())


def test_default_path_is_the_repository_catalog() -> None:
    assert default_catalog_path() == SHIPPED


def _one(**fields: object) -> Catalog:
    table = {"disclosure": "none", "placeholders": [], "variants": ["Olá, tudo bem?", "Oi, tudo certo?"], **fields}
    return catalog_from_dict({"prompts": {"p": table}})


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"variants": ["Olá! Isso pode dar prisão.", "Oi!"]}, "forbidden word 'prisão'"),
        ({"variants": ["Olá! Vamos chamar a POLICIA.", "Oi!"]}, "forbidden word 'polícia'"),
        ({"variants": ["Seu nome sujo na praça.", "Oi!"]}, "forbidden word 'nome sujo'"),
        ({"variants": ["Que vergonha, hein.", "Oi!"]}, "forbidden word 'vergonha'"),
        ({"variants": ["Olá, há uma dívida.", "Oi!"]}, "debt word 'dívida'"),
        ({"variants": ["Olá, {valor}.", "Oi, {valor}."], "placeholders": ["valor"]}, "debt placeholder {valor}"),
        ({"variants": ["Olá, {nome}.", "Oi!"]}, "placeholder {nome} is not declared"),
        (
            {"variants": ["Olá, {nome}.", "Oi!"], "placeholders": ["nome"]},
            "variant 2: declared placeholder {nome} is unused",
        ),
        ({"variants": ["Olá, {apelido}.", "Oi, {apelido}."], "placeholders": ["apelido"]}, "unknown placeholder"),
        ({"variants": ["Olá!"]}, "write at least 2"),
        ({"variants": ["Olá! " + "muito " * 50, "Oi!"]}, "keep it at or under 220"),
        ({"disclosure": "secret"}, "disclosure must be one of"),
        ({"variants": ["Digite 1.", "Oi!"]}, "digits in the text"),
        ({"variants": ["Olá <pausa> tudo bem?", "Oi!"]}, "unknown marker"),
    ],
)
def test_lint_catches(fields: dict[str, object], problem: str) -> None:
    problems = lint(_one(**fields))
    assert any(problem in p for p in problems), problems


def test_lint_accepts_debt_words_in_debt_prompts() -> None:
    assert lint(_one(disclosure="debt", variants=["O valor é {valor}.", "São {valor}."], placeholders=["valor"])) == []


def test_lint_names_prompts_the_dialog_needs(catalog: Catalog) -> None:
    assert lint(_one(), required=["greeting"]) == ["greeting: missing (the dialog uses it)"]


def test_voicemail_must_be_neutral() -> None:
    c = catalog_from_dict({"prompts": {"voicemail": {"disclosure": "debt", "variants": ["Olá!", "Oi!"]}}})
    assert any("voicemail" in p for p in lint(c))


def test_render_fills_words_for_the_voice(catalog: Catalog) -> None:
    r = catalog.render("readback", {"valor": Decimal("150.00"), "data": date(2026, 12, 5)}, variant=0)
    assert r.text == "Então fica combinado: cento e cinquenta reais, até sábado, cinco de dezembro. Está certo?"
    assert "<pause>" in r.tts and "<pause>" not in r.text and r.disclosure == "debt"


def test_variant_choice_is_seeded() -> None:
    assert pick_variant("greeting", 3, "a") == pick_variant("greeting", 3, "a")
    assert len({pick_variant("greeting", 3, seed) for seed in range(30)}) == 3


def test_split_pauses() -> None:
    assert split_pauses("Olá! <pause> Tudo bem? <pause 600> Até.") == [("Olá!", 300), ("Tudo bem?", 600), ("Até.", 0)]


def test_static_variants_have_no_placeholders(catalog: Catalog) -> None:
    static = list(static_variants(catalog))
    ids = {pid for pid, _, _ in static}
    assert "goodbye" in ids and "readback" not in ids and "greeting" not in ids
    assert all("{" not in text for _, _, text in static)
    assert ("goodbye", 1, catalog.get("goodbye").variants[1]) in static


def test_prompts_check_passes_on_the_shipped_catalog() -> None:
    result = CliRunner().invoke(cli, ["prompts", "check"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_prompts_check_fails_on_a_planted_threat(tmp_path: Path) -> None:
    planted = tmp_path / "catalog.toml"
    shutil.copy(SHIPPED, planted)
    text = planted.read_text(encoding="utf-8")
    text = text.replace(
        '"Obrigado pela atenção. <pause> Tenha um ótimo dia!"',
        '"Obrigado pela atenção. Se não pagar, pode dar prisão. Tenha um ótimo dia!"',
    )
    planted.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [IVR, "prompts", "check", "--catalog", str(planted)], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert "goodbye variant 1: forbidden word 'prisão'" in proc.stdout


def test_prompts_check_reports_a_missing_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [IVR, "prompts", "check", "--catalog", str(tmp_path / "no.toml")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_load_catalog_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "greeting" in load_catalog()


@pytest.mark.parametrize(
    ("content", "message"), [("[x]\n".encode("utf-16"), "is not UTF-8 text"), (None, "is a directory")]
)
def test_an_unreadable_catalog_is_one_line_naming_it(tmp_path: Path, content: bytes | None, message: str) -> None:
    # `ivr prompts check --catalog` with a catalog saved as UTF-16 was a UnicodeDecodeError traceback.
    catalog = tmp_path / "catalog.toml"
    if content is None:
        catalog.mkdir()
    else:
        catalog.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_catalog(catalog)
    assert str(err.value).startswith(f"prompt catalog {catalog} {message}")
