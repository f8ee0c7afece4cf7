"""The admin API in-process, as an authenticated HTTP client sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from admin.app import create_app
from leadsync.settings import Settings


@asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the admin token; the app's Kafka producer and database pools are
    closed afterwards (the ASGI transport runs no lifespan)."""
    app = create_app(settings)
    token = settings.admin_token.get_secret_value()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://admin.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client
    finally:
        app.state.request_publisher.close()
        await app.state.database.close()
