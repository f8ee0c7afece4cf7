"""What routes receive from the app: its settings, its database and its Kafka producer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from admin.request_publisher import RequestPublisher
from leadsync.settings import Settings
from sinks.database import Database


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _request_publisher(request: Request) -> RequestPublisher:
    request_publisher: RequestPublisher = request.app.state.request_publisher
    return request_publisher


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
RequestPublisherDep = Annotated[RequestPublisher, Depends(_request_publisher)]
