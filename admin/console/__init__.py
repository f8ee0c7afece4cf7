"""The console: the seed's screens as server-rendered pages on the admin process.

Pages live under ``/console``. They act through the same sinks functions and admin route
functions as the JSON API (one source of truth), for the account of the signed-in user
(:mod:`admin.console.session`); the platform operator's page acts on accounts only. htmx
(from the npm registry, ``make install``) adds live parts; every page works without it.
"""

from __future__ import annotations

from fastapi import FastAPI

from admin.console import routes


def install_console(app: FastAPI) -> None:
    """Add the console's pages, its static files and its vendored scripts to ``app``."""
    routes.install(app)
