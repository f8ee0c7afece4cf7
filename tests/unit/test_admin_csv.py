"""Error-log CSV cells and lines (admin.csv_export)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from admin.csv_export import HEADER, csv_line, filename, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (datetime(2026, 11, 1, 10, tzinfo=UTC), "2026-11-01T10:00:00+00:00"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_quoted(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_a_line_round_trips_through_a_csv_reader() -> None:
    cells = ["a, b", 'say "hi"', "multi\nline", "=cmd"]
    line = csv_line(cells)
    assert line.endswith("\r\n")
    assert next(csv.reader(io.StringIO(line))) == ["a, b", 'say "hi"', "multi\nline", "'=cmd"]


def test_the_header_names_the_columns() -> None:
    assert csv_line(HEADER) == (
        "time,form id,form name,lead id,stage,kind,code,message,field,origin,sync run\r\n"
    )


def test_file_names_say_what_they_hold() -> None:
    now = datetime(2026, 11, 1, 10, 5, 9, tzinfo=UTC)
    assert filename(7, now) == "leadsync-errors-form-7-20261101-100509.csv"
    assert filename(None, now) == "leadsync-errors-all-forms-20261101-100509.csv"
    assert filename(7, now, "connection") == "leadsync-errors-form-7-connection-20261101-100509.csv"
