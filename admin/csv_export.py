"""The error log as CSV: the header, one line per error, cells safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would be
run as a formula by Excel or LibreOffice; such a cell gets a leading ``'`` so it is shown as
text (OWASP "CSV injection"). Error messages and lead ids come from outside, so every cell
is treated this way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

HEADER = (
    "time",
    "form id",
    "form name",
    "lead id",
    "stage",
    "kind",
    "code",
    "message",
    "field",
    "origin",
    "sync run",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_line(cells: Sequence[object]) -> str:
    """One CSV line (RFC 4180 quoting, ``\r\n`` ending) of injection-safe cells."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def filename(form_id: int | None, now: datetime, kind: str | None = None) -> str:
    scope = f"form-{form_id}" if form_id is not None else "all-forms"
    if kind is not None:
        scope += f"-{kind}"
    return f"leadsync-errors-{scope}-{now:%Y%m%d-%H%M%S}.csv"
