"""Jinja2 templates of the console (autoescaped), with ``_`` translating into the page's
language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from admin.console.i18n import translate

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,  # a misspelt variable fails the test, not the page silently
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request, template: str, *, status_code: int = 200, lang: str = "en", **context: Any
) -> HTMLResponse:
    """``template`` rendered with ``context``; ``page`` (when given) sets the language."""
    page = context.get("page")
    language: str = getattr(page, "lang", lang)

    def gettext(text: str, **params: Any) -> str:
        return translate(language, text, **params)

    body = _ENV.get_template(template).render(request=request, lang=language, _=gettext, **context)
    return HTMLResponse(body, status_code=status_code)
