"""Text folding for matching what people and spreadsheets write: one definition for the whole project."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents or compatibility forms: ``"Prisão"`` → ``"prisao"``, ``"Nº"`` → ``"no"``.

    NFKD decomposition, combining marks dropped, then ``casefold``. Used for header names, state names,
    NLU matching and the prompt linter, so "São Paulo", "SAO PAULO" and "sao paulo" compare equal everywhere.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
