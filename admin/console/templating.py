"""Jinja2 templates of the console (autoescaped), with ``_`` translating into the page's
language.

Every template sees ``request``, ``lang``, ``_``, ``page`` (None on the pages shown before
sign-in), ``nav`` (the active tab of the menu, None when none is) and
``language_url(code)`` (this page in another language).
"""

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


def language_url(request: Request, code: str) -> str:
    """This page's path and query with ``lang=code``: the switch keeps filters and tabs."""
    query = request.url.include_query_params(lang=code).query
    return f"{request.url.path}?{query}"


def render(
    request: Request, template: str, *, status_code: int = 200, lang: str = "en", **context: Any
) -> HTMLResponse:
    """``template`` rendered with ``context``; ``page`` (when given) sets the language."""
    page = context.setdefault("page", None)
    context.setdefault("nav", None)
    language: str = getattr(page, "lang", lang)

    def gettext(text: str, **params: Any) -> str:
        return translate(language, text, **params)

    def this_page_in(code: str) -> str:
        return language_url(request, code)

    body = _ENV.get_template(template).render(
        request=request, lang=language, _=gettext, language_url=this_page_in, **context
    )
    return HTMLResponse(body, status_code=status_code)
