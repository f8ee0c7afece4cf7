"""A form's field mapping (``/console/forms/{form_id}/mapping?version=N``): one row per
question, consent and hidden field of the form version, each mapped to a contact field of
the account, to a new one, or to nothing; examples of recent answers beside each; a preview
of what the mapping, as edited, would write for the last leads; and saving.

Saving is the JSON API's ``PUT /api/forms/{id}/mappings`` (:mod:`admin.mappings_routes`)
with one thing more, the new contact fields: in one transaction the form is locked, the new
fields are created (:mod:`sinks.contact_fields`), the set is checked by the API's rules
(:func:`admin.mapping_validation.mapping_problems`) and replaced. A refused set rolls the
fields back too, and the page shows the API's message for each problem (the identity
field first). A saved set that differs gets a new mapping version; the contacts already
imported change only when the form is imported again with "Sync already-imported contacts
too", which the page says, with a link to the form page.

The preview is a POST too (the edited set travels in the body, with the CSRF token) and
writes nothing. With htmx it replaces only the preview section; without, the whole page
comes back with the edits and the preview.

The examples and the preview read the form's last leads (:func:`ingest.recent_leads.
recent_form_leads`, which a JSON route could call as well): the imported ones and, while
there are fewer than the page shows, the newest of the version read from LinkedIn through
the account's connection. A new form has Import off until it is mapped, so its leads are
seen only so; the page says which leads were not imported, and, when LinkedIn could not be
asked, why, and renders all the same. Saving asks LinkedIn nothing unless it is refused.

Mapping problems are the API's (:func:`admin.mapping_validation.mapping_problems`), said in
the reader's language with the fields and questions named as the page names them
(:func:`admin.console.mapping_sources.problem_text`); field labels are translated as the
contact page translates them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from admin import forms_routes
from admin.console.mapping_preview import PreviewLead, answer_examples, preview
from admin.console.mapping_sources import (
    NEW_FIELD,
    TYPE_LABELS,
    Choice,
    EditedSet,
    Message,
    Source,
    edited_set,
    mapping_token,
    problem_text,
    saved_choices,
    source_token,
    target_fields,
    version_sources,
)
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from admin.error_responses import ApiError
from admin.mapping_validation import mapping_problems
from admin.models import Form
from ingest.recent_leads import RecentLeads, recent_form_leads
from mapping.checks import IDENTITY_FIELD
from mapping.errors import MappingProblem
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec
from sinks.contact_fields import create_contact_field, field_key_for
from sinks.form_contexts import load_contact_fields
from sinks.mappings_store import (
    load_mappings,
    load_versions,
    lock_form,
    mapping_version,
    replace_mappings,
)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class _Mapping:
    """What the page needs of the form, read once per request."""

    form: Form
    versions: list[FormVersionSpec]  # oldest first
    version: FormVersionSpec | None  # the one shown; None when none is known yet
    saved: list[FieldMapping]
    fields: dict[str, ContactField]
    mapping_version: int

    @property
    def sources(self) -> list[Source]:
        return version_sources(self.version) if self.version else []

    @property
    def by_version(self) -> dict[int, FormVersionSpec]:
        return {v.version_id: v for v in self.versions}


class _Refused(Exception):
    """The set cannot be saved: rolls back the transaction (new fields included)."""

    def __init__(self, problems: list[MappingProblem], errors: dict[str, Message]) -> None:
        super().__init__("mapping refused")
        self.problems = problems
        self.errors = errors


@router.get("/console/forms/{form_id}/mapping", response_class=HTMLResponse)
async def mapping_page(
    form_id: int, page: AccountPageDep, version: int | None = None, saved: int | None = None
) -> HTMLResponse:
    data = await _load(page, form_id, version)
    if data is None:
        return _not_found(page)
    choices = saved_choices(data.sources, data.saved)
    problems = mapping_problems(data.saved, data.fields, data.versions)
    recent = await _recent(page, data)
    return _render(page, data, recent, choices, problems, {}, saved_version=saved)


@router.post("/console/forms/{form_id}/mapping", response_class=HTMLResponse)
async def save_mapping(
    form_id: int, request: Request, page: AccountPageDep, version: int | None = None
) -> Response:
    data = await _load(page, form_id, version)
    if data is None or data.version is None:
        return _not_found(page)
    edit = edited_set(_strings(await request.form()), data.sources, data.saved, data.fields)
    planned = {**data.fields, **edit.new_fields}
    problems = mapping_problems(edit.mappings, planned, data.versions)
    if edit.errors or problems:
        recent = await _recent(page, data)
        return _render(
            page, data, recent, edit.choices, problems, edit.errors,
            status_code=422, planned=planned,
        )  # fmt: skip
    try:
        saved_version = await _save(page, form_id, edit)
    except _Refused as refused:
        recent = await _recent(page, data)
        return _render(
            page, data, recent, edit.choices, refused.problems, refused.errors,
            status_code=422, planned=planned,
        )  # fmt: skip
    if saved_version is None:
        return _not_found(page)
    return RedirectResponse(
        f"/console/forms/{form_id}/mapping?version={data.version.version_id}&saved={saved_version}",
        status_code=303,
    )


@router.post("/console/forms/{form_id}/mapping/preview", response_class=HTMLResponse)
async def preview_mapping(
    form_id: int, request: Request, page: AccountPageDep, version: int | None = None
) -> HTMLResponse:
    data = await _load(page, form_id, version)
    if data is None or data.version is None:
        return _not_found(page)
    edit = edited_set(_strings(await request.form()), data.sources, data.saved, data.fields)
    planned = {**data.fields, **edit.new_fields}
    recent = await _recent(page, data)
    shown = preview(recent.leads, data.by_version, data.version, edit.mappings, planned)
    if request.headers.get("HX-Request") == "true":
        return page.render(
            "mapping/_preview.html",
            form_id=form_id,
            preview=shown,
            errors=edit.errors,
            recent=recent,
        )
    problems = mapping_problems(edit.mappings, planned, data.versions)
    return _render(
        page, data, recent, edit.choices, problems, edit.errors,
        preview_leads=shown, planned=planned,
    )  # fmt: skip


async def _load(page: AccountPage, form_id: int, version_id: int | None) -> _Mapping | None:
    try:
        form = await forms_routes.get_form(form_id, page.scope, page.settings)
    except ApiError as error:
        if error.status == 404:
            return None
        raise
    async with page.scope.connection() as conn:
        versions = await load_versions(conn, form_id)
        saved = await load_mappings(conn, form_id)
        fields = await load_contact_fields(conn)
        set_version = await mapping_version(conn, form_id)
    if version_id is None:
        version = versions[-1] if versions else None
    else:
        version = next((v for v in versions if v.version_id == version_id), None)
        if version is None:
            return None
    return _Mapping(form, versions, version, saved, fields, set_version or 1)


async def _recent(page: AccountPage, data: _Mapping) -> RecentLeads:
    """The form's last leads for the examples and the preview (LinkedIn's, for the version
    shown, while few were imported)."""
    version_id = data.version.version_id if data.version else None
    return await recent_form_leads(
        page.settings, page.scope.db, page.scope.id, data.form.id, version_id
    )


async def _save(page: AccountPage, form_id: int, edit: EditedSet) -> int | None:
    """The set saved with its new fields; its mapping version, or ``None`` if the form is
    gone. Raises :class:`_Refused` (nothing written) when the set became invalid meanwhile."""
    async with page.scope.connection() as conn:
        if not await lock_form(conn, form_id):
            return None
        for new in edit.new_fields.values():
            if await create_contact_field(conn, new.key, new.label, new.type) is None:
                taken = Message("A contact field with this name was just created: reload.")
                raise _Refused([], {_token_of(edit, new.key): taken})
        fields = await load_contact_fields(conn)
        problems = mapping_problems(edit.mappings, fields, await load_versions(conn, form_id))
        if problems:
            raise _Refused(problems, {})
        await replace_mappings(conn, form_id, edit.mappings)
        return await mapping_version(conn, form_id)


def _render(
    page: AccountPage,
    data: _Mapping,
    recent: RecentLeads,
    choices: dict[str, Choice],
    problems: list[MappingProblem],
    errors: dict[str, Message],
    *,
    status_code: int = 200,
    saved_version: int | None = None,
    preview_leads: list[PreviewLead] | None = None,
    planned: dict[str, ContactField] | None = None,
) -> HTMLResponse:
    """The page; ``planned``: the fields with the new ones the edited set would create, to
    name them in problems."""
    sources = data.sources
    examples = (
        answer_examples(sources, recent.leads, data.by_version, data.version)
        if data.version
        else {}
    )

    def said(problem: MappingProblem) -> str:
        return problem_text(problem, sources, planned or data.fields, page.t)

    by_row = _row_problems(sources, choices, problems)
    return page.render(
        "mapping/page.html",
        status_code=status_code,
        refused=status_code == 422,
        nav="forms",
        form=data.form,
        versions=[v.version_id for v in data.versions],
        version=data.version,
        sources=sources,
        choices=choices,
        targets={s.token: target_fields(data.fields, s) for s in sources},
        fields=data.fields,
        examples=examples,
        problems=[said(p) for p in problems],
        row_problems={token: [said(p) for p in found] for token, found in by_row.items()},
        errors=errors,
        identity=IDENTITY_FIELD,
        new_field=NEW_FIELD,
        type_labels=TYPE_LABELS,
        kept=len(data.saved) - _shown_saved(sources, data.saved),
        mapping_version=data.mapping_version,
        saved_version=saved_version,
        recent=recent,
        preview=preview_leads,
    )


def _row_problems(
    sources: list[Source], choices: dict[str, Choice], problems: list[MappingProblem]
) -> dict[str, list[MappingProblem]]:
    """Each problem beside the rows it concerns: its source's row, or the rows filling its
    field (two sources filling one field); the identity's absence concerns no row."""
    rows: dict[str, list[MappingProblem]] = {s.token: [] for s in sources}
    for problem in problems:
        for source in sources:
            if problem.source is not None:
                hit = source_token(problem.source) in source.names()
            else:
                hit = problem.field is not None and choices[source.token].field_key == problem.field
            if hit:
                rows[source.token].append(problem)
    return rows


def _shown_saved(sources: list[Source], saved: list[FieldMapping]) -> int:
    names = set().union(*(s.names() for s in sources)) if sources else set()
    return sum(1 for m in saved if mapping_token(m) in names)


def _token_of(edit: EditedSet, field_key: str) -> str:
    """The row that asked for the new field ``field_key``."""
    return next(
        (
            token
            for token, choice in edit.choices.items()
            if choice.field_key == NEW_FIELD and field_key_for(choice.new_name) == field_key
        ),
        field_key,
    )


def _strings(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _not_found(page: AccountPage) -> HTMLResponse:
    """Another account's form answers as one that does not exist."""
    return page.render("not_found.html", status_code=404)
