"""``leadsync sandbox``: placeholder until the sandbox lands."""

from __future__ import annotations

import typer

app = typer.Typer(help="The LinkedIn sandbox.")
