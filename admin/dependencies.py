"""What routes receive from the app: its settings, its database and its Kafka producer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from admin.request_publisher import SyncRequests
from leadsync.settings import Settings
from sinks.database import Database


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _sync_requests(request: Request) -> SyncRequests:
    sync_requests: SyncRequests = request.app.state.sync_requests
    return sync_requests


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
SyncRequestsDep = Annotated[SyncRequests, Depends(_sync_requests)]
