"""Fault tests reuse the integration fixtures: the run's own database and topic prefix."""

from __future__ import annotations

from tests.integration.conftest import db, settings

__all__ = ["db", "settings"]
