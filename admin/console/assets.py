"""The console's own CSS and script (``static/``), and from ``node_modules`` (installed from
the npm registry by ``make install``, pinned by package-lock.json; never copied into the
repository): htmx for the pages, Swagger UI for the API's documentation (``/docs``,
:mod:`admin.api_docs`).

Both are served from this origin, never from a CDN: a script from elsewhere would run with
the signed-in user's cookie on every same-origin request it makes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
HTMX = NODE_MODULES / "htmx.org" / "dist"
SWAGGER_UI = NODE_MODULES / "swagger-ui-dist"
SWAGGER_UI_URL = "/console/vendor/swagger-ui"


def install(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    if HTMX.is_dir():
        app.mount("/console/vendor/htmx", StaticFiles(directory=HTMX), name="console-htmx")
    else:
        # The pages work without htmx (plain links and forms); only live updates stop.
        log.error("htmx is missing (%s): run `make install` (npm ci); live updates are off", HTMX)
    if SWAGGER_UI.is_dir():
        app.mount(SWAGGER_UI_URL, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    else:
        # /openapi.json still describes the API; only its browsable page is missing.
        log.error("swagger-ui-dist is missing (%s): run `make install`; /docs is off", SWAGGER_UI)
