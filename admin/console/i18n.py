"""English and Italian: the catalog's keys are the English texts, the Italian ones live in
``locales/it/*.json`` (one file per page module, so that pages are translated beside the
templates that use them). A text missing from the catalog shows in English.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "it")
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).parent / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every text of ``lang``'s catalog, merged from its files (English: empty)."""
    merged: dict[str, str] = {}
    folder = _LOCALES / lang
    if lang == DEFAULT_LANGUAGE or not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(lang: str, text: str, **params: Any) -> str:
    """``text`` in ``lang``, with ``{name}`` placeholders filled from ``params``."""
    translated = catalog(lang).get(text, text)
    return translated.format(**params) if params else translated


def negotiate(accept_language: str | None) -> str:
    """The first of our languages the browser's Accept-Language names, by its q-values."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q <= 0:
            continue  # q=0: "not this one"
        ranked.append((-q, position, tag.strip().lower().split("-")[0]))
    for _q, _position, primary in sorted(ranked):
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE
