"""The prompt catalog: load it, pick a variant, fill its placeholders for speech, and lint it.

The catalog (``ivr/prompts/catalog.toml``, setting ``prompts.catalog`` to use another) holds every sentence the bot can say. Dates and amounts are
filled in as words (via ``ivr.language.verbalize``) so the TTS never has to guess how to read them.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ivr.br.text import fold
from ivr.errors import InputError
from ivr.resources import prompts_catalog

MAX_CHARS = 220
DEFAULT_PAUSE_MS = 300
DISCLOSURE_LEVELS = ("none", "debt")

# Placeholder name -> (how it is spoken, whether it reveals the debt).
PLACEHOLDERS: dict[str, tuple[str, bool]] = {
    "nome": ("text", False),
    "primeiro_nome": ("text", False),
    "credor": ("text", False),
    "quando": ("text", False),
    "cnpj": ("text", False),
    "protocolo": ("text", False),
    "canais": ("text", False),
    "hora": ("time", False),
    "data": ("date_weekday", False),
    "valor": ("amount", True),
    "valor_parcela": ("amount", True),
    "vencimento": ("date", True),
    "data_limite": ("date_weekday", True),
    "parcelas": ("installments", True),
    # offers and how to pay (ivr.dialog.closing)
    "valor_oferta": ("amount", True),
    "desconto": ("amount", True),
    "plano": ("text", True),
    "metodo": ("text", True),
    "onde": ("text", False),
    "meio": ("text", False),
    "vencimento_semana": ("text", True),
}

# Threats, false statements and shaming (CDC art. 71). Matched accent- and case-insensitively on whole words.
FORBIDDEN = (
    "prisão",
    "preso",
    "presa",
    "prender",
    "cadeia",
    "polícia",
    "policia",
    "delegacia",
    "processo criminal",
    "crime",
    "criminoso",
    "justiça",
    "oficial de justiça",
    "penhora",
    "penhorar",
    "bloqueio de bens",
    "nome sujo",
    "sujar o nome",
    "negativar",
    "negativado",
    "negativação",
    "spc",
    "serasa",
    "protesto",
    "protestar",
    "cartório",
    "vergonha",
    "vergonhoso",
    "humilhação",
    "caloteiro",
    "caloteira",
    "calote",
    "mau pagador",
    "má pagadora",
    "vagabundo",
    "irresponsável",
    "último aviso",
    "ameaça",
    "seu chefe",
    "seu patrão",
    "sua empresa",
    "seus vizinhos",
    "sua família",
)

# Words that reveal a debt; never in a prompt whose disclosure is "none" (CDC art. 42/71, LGPD).
DEBT_WORDS = (
    "débito",
    "dívida",
    "divida",
    "valor",
    "vencimento",
    "vencido",
    "vencida",
    "reais",
    "real",
    "r$",
    "centavos",
    "pagamento",
    "pagar",
    "pague",
    "parcela",
    "parcelas",
    "parcelar",
    "cobrança",
    "atraso",
    "atrasado",
    "pendência",
    "pendente",
    "boleto",
    "fatura",
    "acordo",
    "saldo",
    "juros",
    "multa",
    "inadimplente",
)

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PAUSE = re.compile(r"<pause(?:\s+(\d+))?>")


def _fold(text: str) -> str:
    """Lower case without accents, so "Prisao" and "prisão" match alike."""
    return fold(text)


def _has_term(text: str, term: str) -> bool:
    pattern = r"(?<![\w$])" + re.escape(_fold(term)) + r"(?![\w])"
    return re.search(pattern, _fold(text)) is not None


def clean_text(raw: str) -> str:
    """The words of a variant without its pause markers (for transcripts, logs and length checks)."""
    text = _PAUSE.sub(" ", raw)
    return re.sub(r"\s+", " ", text).replace(" ,", ",").replace(" .", ".").strip()


def split_pauses(raw: str) -> list[tuple[str, int]]:
    """A variant as (text, pause after it in ms) pieces, for a TTS that inserts silences."""
    pieces: list[tuple[str, int]] = []
    pos = 0
    for m in _PAUSE.finditer(raw):
        pieces.append((raw[pos : m.start()].strip(), int(m.group(1) or DEFAULT_PAUSE_MS)))
        pos = m.end()
    pieces.append((raw[pos:].strip(), 0))
    return [(text, ms) for text, ms in pieces if text or ms]


@dataclass(frozen=True)
class Prompt:
    id: str
    disclosure: str
    """"none" (safe before identity, to third parties, on voicemail) or "debt"."""
    variants: tuple[str, ...]
    placeholders: tuple[str, ...]
    barge_in: bool = True
    pause_after_ms: int = 0
    """Milliseconds of silence after the prompt."""
    notes: str = ""


@dataclass(frozen=True)
class Rendered:
    """One variant of a prompt with its values filled in, ready to speak."""

    prompt_id: str
    variant: int
    text: str
    """Plain words, no markers: what a transcript shows."""
    tts: str
    """The same words with ``<pause>`` markers kept for the synthesizer."""
    disclosure: str
    barge_in: bool
    pause_after_ms: int


def _spoken(name: str, value: Any) -> str:
    """A placeholder value as words: amounts and dates go through the verbalizer."""
    from ivr.language import verbalize  # lazy: the catalog can be linted without the verbalizer

    kind = PLACEHOLDERS.get(name, ("text", False))[0]
    if isinstance(value, str):
        return value
    if kind == "amount" and isinstance(value, (Decimal, int)):
        return verbalize.say_amount(Decimal(value))
    if kind in ("date", "date_weekday") and isinstance(value, date):
        return verbalize.say_date(value, weekday=kind == "date_weekday")
    if kind == "time" and isinstance(value, time):
        return verbalize.say_time(value)
    if kind == "installments" and isinstance(value, int):
        return verbalize.say_installments(value)
    if isinstance(value, int):
        return verbalize.say_number(value)
    return str(value)


def pick_variant(prompt_id: str, count: int, seed: str | int, said_before: int = 0) -> int:
    """A variant index that is stable for (seed, prompt, how often it was said), so calls vary but tests repeat."""
    if count <= 1:
        return 0
    digest = hashlib.sha256(f"{seed}|{prompt_id}|{said_before}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % count


@dataclass(frozen=True)
class Catalog:
    prompts: Mapping[str, Prompt]
    max_chars: int = MAX_CHARS
    source: str = "<memory>"

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self.prompts

    def get(self, prompt_id: str) -> Prompt:
        try:
            return self.prompts[prompt_id]
        except KeyError:
            raise InputError(f"prompt {prompt_id!r} is not in the catalog {self.source}") from None

    def render(
        self,
        prompt_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        seed: str | int = 0,
        said_before: int = 0,
        variant: int | None = None,
    ) -> Rendered:
        """Fill one variant; ``variant`` forces an index (repeat), else it is picked from the seed."""
        prompt = self.get(prompt_id)
        if not prompt.variants:
            raise InputError(f"prompt {prompt_id!r} has no variants in {self.source}")
        index = pick_variant(prompt_id, len(prompt.variants), seed, said_before) if variant is None else variant
        values = values or {}

        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in values:
                raise InputError(f"prompt {prompt_id!r} needs a value for {{{name}}}")
            return _spoken(name, values[name])

        tts = _PLACEHOLDER.sub(fill, prompt.variants[index])
        return Rendered(
            prompt_id, index, clean_text(tts), tts, prompt.disclosure, prompt.barge_in, prompt.pause_after_ms
        )


def default_catalog_path() -> Path:
    """The catalog shipped in the package (``ivr/prompts/catalog.toml``); the setting ``prompts.catalog``
    (``IVR_PROMPTS_CATALOG``) replaces it where the caller has the settings (CLI, call service)."""
    return prompts_catalog()


def _str_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def catalog_from_dict(data: Mapping[str, Any], source: str = "<memory>") -> Catalog:
    """Build a catalog leniently: missing fields become empty so that ``lint`` can name them."""
    raw_prompts = data.get("prompts", {})
    if not isinstance(raw_prompts, dict):
        raise InputError(f"{source}: [prompts] must be a table of prompt tables")
    prompts: dict[str, Prompt] = {}
    for pid, table in raw_prompts.items():
        if not isinstance(table, dict):
            raise InputError(f"{source}: prompts.{pid} must be a table")
        prompts[pid] = Prompt(
            id=pid,
            disclosure=str(table.get("disclosure", "")),
            variants=_str_tuple(table.get("variants")),
            placeholders=_str_tuple(table.get("placeholders")),
            barge_in=bool(table.get("barge_in", True)),
            pause_after_ms=int(table.get("pause_after_ms", 0)),
            notes=str(table.get("notes", "")),
        )
    meta = data.get("meta", {})
    max_chars = int(meta.get("max_chars", MAX_CHARS)) if isinstance(meta, dict) else MAX_CHARS
    return Catalog(prompts, min(max_chars, MAX_CHARS), source)


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Read a catalog TOML file (default: ``default_catalog_path()``); InputError names the file on failure."""
    p = Path(path) if path else default_catalog_path()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"prompt catalog {p} not found; pass --catalog or set prompts.catalog (IVR_PROMPTS_CATALOG)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"prompt catalog {p}: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"prompt catalog {p} is not UTF-8 text (UTF-16 or binary?); save it as UTF-8 TOML") from None
    except IsADirectoryError:
        raise InputError(f"prompt catalog {p} is a directory; pass --catalog a TOML file") from None
    return catalog_from_dict(data, str(p))


def reveals_debt(prompt: Prompt) -> bool:
    """True when the prompt says debt detail: marked ``debt``, or a debt placeholder ({valor}, {vencimento},
    ...) or a debt word (``DEBT_WORDS``) in any variant whatever its mark. ``ivr flow check`` uses it so
    that a prompt mislabelled "none" cannot slip a debt past the identity guard (CDC art. 42/71, LGPD)."""
    if prompt.disclosure == "debt":
        return True
    if any(PLACEHOLDERS.get(name, ("", False))[1] for name in prompt.placeholders):
        return True
    for variant in prompt.variants:
        if any(PLACEHOLDERS.get(name, ("", False))[1] for name in _PLACEHOLDER.findall(variant)):
            return True
        words = clean_text(variant)
        if any(_has_term(words, term) for term in DEBT_WORDS):
            return True
    return False


def lint(catalog: Catalog, required: Iterable[str] = ()) -> list[str]:
    """Problems in a catalog, one line each; empty when it is fit to ship."""
    problems: list[str] = []
    for pid in sorted(set(required) - set(catalog.prompts)):
        problems.append(f"{pid}: missing (the dialog uses it)")
    for pid, prompt in catalog.prompts.items():
        if prompt.disclosure not in DISCLOSURE_LEVELS:
            problems.append(
                f"{pid}: disclosure must be one of {', '.join(DISCLOSURE_LEVELS)}, not {prompt.disclosure!r}"
            )
        if pid.startswith("voicemail") and prompt.disclosure != "none":
            problems.append(f'{pid}: a voicemail prompt must have disclosure "none"')
        if len(prompt.variants) < 2:
            problems.append(f"{pid}: has {len(prompt.variants)} variant(s); write at least 2")
        neutral = prompt.disclosure != "debt"
        for name in prompt.placeholders:
            if name not in PLACEHOLDERS:
                problems.append(f"{pid}: unknown placeholder {{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})")
            elif neutral and PLACEHOLDERS[name][1]:
                problems.append(f'{pid}: debt placeholder {{{name}}} in a prompt with disclosure "none"')
        for i, variant in enumerate(prompt.variants, 1):
            where = f"{pid} variant {i}"
            used = _PLACEHOLDER.findall(variant)
            for name in sorted(set(used) - set(prompt.placeholders)):
                problems.append(f"{where}: placeholder {{{name}}} is not declared")
            for name in sorted(set(prompt.placeholders) - set(used)):
                problems.append(f"{where}: declared placeholder {{{name}}} is unused")
            if "{" in _PLACEHOLDER.sub("", variant) or "}" in _PLACEHOLDER.sub("", variant):
                problems.append(f"{where}: unbalanced braces")
            words = clean_text(variant)
            if not words:
                problems.append(f"{where}: empty")
            if len(words) > catalog.max_chars:
                problems.append(f"{where}: {len(words)} characters; keep it at or under {catalog.max_chars}")
            for term in FORBIDDEN:
                if _has_term(words, term):
                    problems.append(f"{where}: forbidden word {term!r} (threat or shaming, CDC art. 71)")
            if neutral:
                for term in DEBT_WORDS:
                    if _has_term(words, term):
                        problems.append(f'{where}: debt word {term!r} in a prompt with disclosure "none"')
            if re.search(r"\d", _PLACEHOLDER.sub("", words)):
                problems.append(f"{where}: digits in the text; write numbers as words for the TTS")
            if re.search(r"<(?!pause(?:\s+\d+)?>)", variant):
                problems.append(f"{where}: unknown marker; only <pause> and <pause N> are understood")
    return problems


def lint_rendered(catalog: Catalog, rendered: Rendered, values: Mapping[str, Any]) -> list[str]:
    """Problems in one prompt as it is about to be said: the catalog lint of that prompt, then the filled words
    (with the filled-in values taken out, so a creditor called "Banco Real" is not a debt word) checked for
    forbidden words, and debt words when its disclosure is "none". Used for the voicemail message."""
    pid = rendered.prompt_id
    sub = Catalog({pid: catalog.get(pid)}, catalog.max_chars, catalog.source)
    problems = lint(sub)
    words = rendered.text
    for value in sorted((str(v) for v in values.values() if isinstance(v, str) and v), key=len, reverse=True):
        words = words.replace(value, " ")
    for term in FORBIDDEN:
        if _has_term(words, term):
            problems.append(f"{pid} as said: forbidden word {term!r} (CDC art. 71)")
    if rendered.disclosure != "debt":
        for term in DEBT_WORDS:
            if _has_term(words, term):
                problems.append(f'{pid} as said: debt word {term!r} in a prompt with disclosure "none"')
        if rendered.disclosure != "none":
            problems.append(f'{pid}: disclosure {rendered.disclosure!r}; a message anyone may hear must be "none"')
    return problems


def static_variants(catalog: Catalog | None = None) -> Iterator[tuple[str, int, str]]:
    """(prompt id, variant index, TTS text) for every variant without placeholders: audio that can be pre-rendered."""
    catalog = catalog or load_catalog()
    for pid, prompt in catalog.prompts.items():
        for index, variant in enumerate(prompt.variants):
            if not _PLACEHOLDER.search(variant):
                yield pid, index, variant
