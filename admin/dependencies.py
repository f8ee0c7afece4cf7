"""What routes receive from the app: its settings and its database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from admin.database import Database
from leadsync.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
