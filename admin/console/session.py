"""Console sessions (being built: see the brief). Placeholder interface only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from admin.console.page import AccountPage, OperatorPage


async def account_page(request: Request) -> AccountPage:
    raise NotImplementedError


async def operator_page(request: Request) -> OperatorPage:
    raise NotImplementedError


AccountPageDep = Annotated[AccountPage, Depends(account_page)]
OperatorPageDep = Annotated[OperatorPage, Depends(operator_page)]
