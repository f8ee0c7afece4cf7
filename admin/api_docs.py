"""``/docs``: the admin API's browsable documentation (Swagger UI), entirely from this
origin.

Swagger UI comes from npm's ``swagger-ui-dist`` (pinned by package-lock.json, served by
:mod:`admin.console.assets`), its start-up from the console's static files: FastAPI's own
page loads unpinned scripts from a CDN and starts them with an inline script, and on this
origin any script runs with the console user's session cookie on every same-origin request
it makes. The page's Content-Security-Policy allows this origin only (no inline script, no
other host), so a script that is not ours cannot run here even if one were named.

ReDoc (FastAPI's ``/redoc``) is not offered: one documentation page is enough, and it too
would need its script hosted here. ``/openapi.json`` is the document itself.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from admin.console.assets import SWAGGER_UI, SWAGGER_UI_URL

DOCS_PATH = "/docs"
# This origin only. Swagger UI's stylesheet draws a few icons as data: SVG images (an image
# runs no script); it sets styles through the DOM, which style-src 'self' allows.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; base-uri 'self'; object-src 'none';"
    " frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    title = escape(f"{request.app.title} · documentation")
    openapi_url = escape(request.app.openapi_url or "/openapi.json")
    if not SWAGGER_UI.is_dir():
        return HTMLResponse(_missing(title, openapi_url), status_code=503, headers=_HEADERS)
    return HTMLResponse(_page(title, openapi_url), headers=_HEADERS)


def _page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{SWAGGER_UI_URL}/favicon-32x32.png">
  <link rel="stylesheet" href="{SWAGGER_UI_URL}/swagger-ui.css">
  <script src="{SWAGGER_UI_URL}/swagger-ui-bundle.js" defer></script>
  <script src="/console/static/api-docs.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
"""


def _missing(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
  <h1>{title}</h1>
  <p>Swagger UI is not installed on this server (<code>make install</code> runs
  <code>npm ci</code>). The OpenAPI document is at <a href="{openapi_url}">{openapi_url}</a>.</p>
</body>
</html>
"""
