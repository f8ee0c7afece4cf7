"""``/api/fields`` and ``/api/forms/{id}/mappings``: the account's field registry and a
form's mappings (through the request's account: another account's form is 404).

A mapping set is saved whole or not at all: every problem
(:mod:`mapping.errors` codes: unknown or deleted field, identity not mapped,
source not on the form, ...) is listed in one 422 answer, so a console can mark them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from admin.dependencies import AccountScopeDep
from admin.error_responses import ApiError, ErrorBody, not_found
from admin.mapping_validation import mapping_problems
from admin.models import (
    ConsentOut,
    ContactFieldOut,
    FieldList,
    FormMappings,
    HiddenFieldOut,
    MappingOut,
    MappingSet,
    Option,
    Problem,
    QuestionOut,
)
from mapping.errors import MappingProblem
from schemas.mappings import FieldMapping, FormVersionSpec
from sinks.form_contexts import load_contact_fields
from sinks.forms import form_exists
from sinks.mappings_store import load_mappings, load_versions, lock_form, replace_mappings

router = APIRouter(tags=["mappings"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


@router.get("/fields", summary="The contact fields mappings can fill")
async def list_fields(scope: AccountScopeDep) -> FieldList:
    async with scope.connection() as conn:
        fields = await load_contact_fields(conn)
    return FieldList(
        fields=[
            ContactFieldOut(
                key=f.key,
                label=f.label,
                type=f.type,
                standard=f.standard,
                choices=list(f.choices) if f.choices is not None else None,
                system=f.system,
                deleted=f.deleted,
            )
            for f in sorted(fields.values(), key=lambda f: (not f.standard, f.key))
        ]
    )


@router.get(
    "/forms/{form_id}/mappings",
    summary="A form's mappings with the questions, consents and hidden fields to map",
    responses=_NOT_FOUND,
)
async def get_mappings(form_id: int, scope: AccountScopeDep) -> FormMappings:
    async with scope.connection() as conn:
        if not await form_exists(conn, form_id):
            raise not_found("form", form_id)
        mappings = await load_mappings(conn, form_id)
        versions = await load_versions(conn, form_id)
        fields = await load_contact_fields(conn)
    problems = mapping_problems(mappings, fields, versions)
    return _form_mappings(form_id, versions[-1] if versions else None, mappings, problems)


@router.put(
    "/forms/{form_id}/mappings",
    summary="Replace a form's mappings (all or nothing)",
    responses={**_NOT_FOUND, 422: {"model": ErrorBody}},
)
async def put_mappings(form_id: int, body: MappingSet, scope: AccountScopeDep) -> FormMappings:
    wanted = [FieldMapping(m.source_kind, m.source_key, m.field_key) for m in body.mappings]
    async with scope.connection() as conn, conn.transaction():
        if not await lock_form(conn, form_id):
            raise not_found("form", form_id)
        fields = await load_contact_fields(conn)
        versions = await load_versions(conn, form_id)
        problems = mapping_problems(wanted, fields, versions)
        if problems:
            raise ApiError(
                422,
                "invalid_mappings",
                _summary(problems),
                [_problem(p).model_dump() for p in problems],
            )
        stored = await replace_mappings(conn, form_id, wanted)
    return _form_mappings(form_id, versions[-1] if versions else None, stored, [])


def _summary(problems: Sequence[MappingProblem]) -> str:
    if len(problems) == 1:
        return f"the mappings were not saved: {problems[0].message}"
    return (
        f"the mappings were not saved: {len(problems)} problems, the first: {problems[0].message}"
    )


def _problem(problem: MappingProblem) -> Problem:
    return Problem(
        code=problem.code, message=problem.message, field=problem.field, source=problem.source
    )


def _form_mappings(
    form_id: int,
    version: FormVersionSpec | None,
    mappings: Sequence[FieldMapping],
    problems: Sequence[MappingProblem],
) -> FormMappings:
    locale = version.locale if version else None
    questions = list(version.questions.values()) if version else []
    return FormMappings(
        form_id=form_id,
        version_id=version.version_id if version else None,
        questions=[
            QuestionOut(
                question_id=q.question_id,
                name=q.name,
                label=q.question.text(locale) or q.name,
                predefined_field=q.predefined_field,
                options=[Option(id=o.id, label=o.text.text(locale)) for o in q.options()],
                source_kind="predefined" if q.predefined_field else "question",
                source_key=q.predefined_field or str(q.question_id),
            )
            for q in questions
        ],
        consents=[
            ConsentOut(
                id=c.id,
                label=c.consent.text(locale),
                check_required=c.check_required,
                source_key=str(c.id),
            )
            for c in (version.consents.values() if version else [])
        ],
        hidden_fields=[
            HiddenFieldOut(name=name, value=value, source_key=name)
            for name, value in (version.hidden_fields.items() if version else [])
        ],
        mappings=[
            MappingOut(
                source_kind=m.source_kind,
                source_key=m.source_key,
                field_key=m.field_key,
                automatic=m.automatic,
            )
            for m in mappings
        ],
        problems=[_problem(p) for p in problems],
    )
