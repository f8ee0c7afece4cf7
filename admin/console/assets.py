"""The console's own CSS and script (``static/``) and htmx from ``node_modules`` (installed
from the npm registry by ``make install``; never copied into the repository)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
HTMX = NODE_MODULES / "htmx.org" / "dist"


def install(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    if HTMX.is_dir():
        app.mount("/console/vendor/htmx", StaticFiles(directory=HTMX), name="console-htmx")
    else:
        # The pages work without htmx (plain links and forms); only live updates stop.
        log.error("htmx is missing (%s): run `make install` (npm ci); live updates are off", HTMX)
