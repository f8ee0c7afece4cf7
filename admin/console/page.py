"""What a console page handler receives: who is signed in, the account's data, and how to
answer with a template in the user's language.

Handlers take :data:`AccountPageDep` (an account's user; its data through ``page.scope``,
the same :class:`~admin.dependencies.AccountScope` the JSON API's routes take, so a page can
call those route functions or the sinks functions directly) or :data:`OperatorPageDep` (the
platform operator: accounts only, no account's data). Both come from
:mod:`admin.console.session`, which also refuses a state change without the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import HTMLResponse

from admin.console import csrf
from admin.console.i18n import translate
from admin.console.templating import render
from admin.dependencies import AccountScope
from leadsync.settings import Settings
from sinks.database import Database

Role = Literal["admin", "member", "operator"]


@dataclass(frozen=True)
class ConsoleUser:
    id: int
    email: str
    role: Role
    account_id: int | None  # None for the platform operator
    account_name: str | None


@dataclass(frozen=True)
class _Page:
    request: Request
    user: ConsoleUser
    settings: Settings
    csrf_secret: str  # the session's token; pages show it masked (csrf_token)
    lang: str

    @property
    def csrf_token(self) -> str:
        """The session's CSRF token for one place in the page, masked afresh
        (:mod:`admin.console.csrf`)."""
        return csrf.mask(self.csrf_secret)

    def t(self, text: str, **params: Any) -> str:
        """``text`` (English, the catalog's key) in the user's language."""
        return translate(self.lang, text, **params)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status_code=status_code, page=self, **context)


@dataclass(frozen=True)
class AccountPage(_Page):
    """A page of an account's user: ``scope`` is that account and its data, nothing else."""

    scope: AccountScope


@dataclass(frozen=True)
class OperatorPage(_Page):
    """The platform operator's page: the whole database, for the global tables only."""

    db: Database
