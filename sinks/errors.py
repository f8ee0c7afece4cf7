"""The error log as the import pipeline writes it directly (the error topic comes later)."""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection


async def record_internal_error(
    conn: AsyncConnection[Any], raw_ref: dict[str, Any], exc: Exception
) -> None:
    """An error-log line for a record that failed for an unexpected reason (a bug)."""
    message = f"{type(exc).__name__}: {str(exc)[:400]}"
    await conn.execute(
        "INSERT INTO error_log (stage, code, message, raw_ref) VALUES (%s, %s, %s, %s::jsonb)",
        ("import", "internal_error", message, json.dumps(raw_ref, default=str)),
    )
