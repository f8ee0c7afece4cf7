"""``/api/forms/{id}/reconciliation``: for each day, what LinkedIn holds of the form's leads
against what its push brought (see :mod:`sinks.reconciliation`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from admin.dependencies import AccountScopeDep
from admin.error_responses import ErrorBody, not_found
from sinks.forms import form_exists
from sinks.reconciliation import reconciliation

router = APIRouter(tags=["forms"])


class ReconciliationDay(BaseModel):
    day: date = Field(description="The day the leads were submitted (UTC).")
    on_linkedin: int = Field(description="Leads the pulls found on LinkedIn.")
    by_push: int = Field(description="Leads at least one push notification came for.")
    only_by_pull: int = Field(
        description="Leads the pulls found and no push announced: the push lost them."
    )
    duplicates: int = Field(
        description="Push notifications beyond the first for a lead, absorbed by leadsync."
    )


class Reconciliation(BaseModel):
    form_id: int
    days: list[ReconciliationDay] = Field(
        description="Each day of the period, oldest first, today (UTC) last; days without"
        " leads have zeros. A day no pull has covered yet shows on_linkedin 0."
    )


@router.get(
    "/forms/{form_id}/reconciliation",
    summary="Per day: leads on LinkedIn (pulled), by push, only by pull, duplicates",
    responses={404: {"model": ErrorBody}},
)
async def get_reconciliation(
    form_id: int,
    scope: AccountScopeDep,
    days: Annotated[int, Query(ge=1, le=366, description="How many days, today included.")] = 30,
) -> Reconciliation:
    async with scope.connection() as conn:
        if not await form_exists(conn, form_id):
            raise not_found("form", form_id)
        rows = await reconciliation(conn, form_id, days)
    return Reconciliation(
        form_id=form_id,
        days=[
            ReconciliationDay(
                day=r.day,
                on_linkedin=r.on_linkedin,
                by_push=r.by_push,
                only_by_pull=r.only_by_pull,
                duplicates=r.duplicates,
            )
            for r in rows
        ],
    )
