"""Serves the admin API (placeholder until the API lands)."""

from __future__ import annotations

from leadsync.settings import Settings


def serve(settings: Settings) -> None:
    raise NotImplementedError("the admin API is not built yet")
