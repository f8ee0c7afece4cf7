"""The console's routers, one per page module (``admin/console/<page>_pages.py``)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from admin.console import assets

ROUTERS: tuple[APIRouter, ...] = ()


def install(app: FastAPI) -> None:
    assets.install(app)
    for router in ROUTERS:
        app.include_router(router)
