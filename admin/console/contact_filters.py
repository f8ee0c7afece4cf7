"""The contact filter as the console's pages show it: a GET form's fields (those of
:class:`sinks.contacts_query.ContactFilter`, the one filter of the API, the audiences and the
contacts page), links that change one condition, the choices the form offers, and the filter
in words ("Contacts who filled “Test Form”, as a test lead").

A filter arrives from URLs that people bookmark or edit: what cannot be used is left out and
said, never an error page. Dates are UTC days, as the form's date fields send them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from admin.console.page import AccountPage
from admin.contact_models import ConsentChoice, ContactFilterChoices, FormChoice, UrnChoice
from sinks import contacts_query
from sinks.contacts_query import ContactFilter

Translate = Callable[..., str]

QUICK_FORMS = 8  # quick-filter chips: the forms that imported most recently
FILTER_FIELDS = tuple(ContactFilter.model_fields)
# A condition across fields that does not hold (ContactFilter's model check): the one of
# these that is given first is left out, until the rest holds.
_DROPPED_FIRST = ("consent_id", "imported_to", "imported_from")
# The form's labels of the filter fields (catalog keys), to say which were left out.
FIELD_LABELS = {
    "imported": "LinkedIn - Imported",
    "imported_from": "Imported from",
    "imported_to": "Imported before",
    "form_id": "Form filled",
    "form_name": "Form filled",
    "ad_account": "Ad account",
    "campaign": "Campaign",
    "test_lead": "Test lead",
    "consent_given": "Consent given",
    "consent_id": "Which consent",
}


def parse_filter(params: Mapping[str, str]) -> tuple[ContactFilter, list[str]]:
    """The filter in ``params`` (a query string or a posted form), and the fields left out
    because their value could not be used (a hand-edited URL, dates in the wrong order).

    A page keeps what it can rather than refusing the whole filter."""
    given = {name: params[name] for name in FILTER_FIELDS if params.get(name, "").strip()}
    if "consent_id" in given and "consent_given" not in given:
        # Picking one consent of the form means "who gave it" until "Consent given" says no.
        given["consent_given"] = "true"
    left_out: list[str] = []
    while True:
        try:
            return ContactFilter.model_validate(given), left_out
        except ValidationError as exc:
            for error in exc.errors():
                field = error["loc"][0] if error["loc"] else None
                if not isinstance(field, str) or field not in given:
                    field = next((f for f in _DROPPED_FIRST if f in given), None)
                if field is None:  # nothing left to blame: no filter at all
                    return ContactFilter(), left_out + list(given)
                del given[field]
                left_out.append(field)


def filter_params(where: ContactFilter, **change: Any) -> dict[str, str]:
    """``where`` (with ``change`` applied; None removes a condition) as query parameters,
    a midnight UTC date as the plain day the form's date fields send."""
    out: dict[str, str] = {}
    for name, value in (where.definition() | change).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif name in ("imported_from", "imported_to"):
            out[name] = form_day(value) or str(value)
        else:
            out[name] = str(value)
    return out


def filter_url(where: ContactFilter, path: str = "/console/contacts", **change: Any) -> str:
    params = filter_params(where, **change)
    return f"{path}?{urlencode(params)}" if params else path


def form_day(value: datetime | str | None) -> str:
    """A date field's value: the day of a midnight UTC moment ("" for another moment)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.date().isoformat() if value.time() == time.min else ""


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers: the account's forms (with their consents), ad accounts
    and campaigns, and the quick filters' forms."""

    forms: list[FormChoice]
    ad_accounts: list[UrnChoice]
    campaigns: list[UrnChoice]
    quick_forms: list[FormChoice]

    def form(self, form_id: int | None) -> FormChoice | None:
        return next((f for f in self.forms if f.id == form_id), None)

    def consents(self, form_id: int | None) -> list[ConsentChoice]:
        form = self.form(form_id)
        return form.consents if form else []

    def ad_account_label(self, urn: str, t: Translate) -> str:
        name = next((a.name for a in self.ad_accounts if a.urn == urn), None)
        return name or owner_label(urn, t)

    def campaign_label(self, urn: str) -> str:
        name = next((c.name for c in self.campaigns if c.urn == urn), None)
        return name or urn.removeprefix("urn:li:sponsoredCampaign:")


def owner_label(urn: str, t: Translate) -> str:
    """An ad account without a name, by its number ("Ad account 1234567")."""
    kind, _, number = urn.removeprefix("urn:li:").partition(":")
    if kind == "sponsoredAccount" and number:
        return t("Ad account {id}", id=number)
    if kind == "organization" and number:
        return t("Organization {id}", id=number)
    return urn


async def filter_choices(page: AccountPage) -> FilterChoices:
    """What the filter form offers, read on one connection (the audiences list asks every
    few seconds): the API's choices, and the ids of the quick filters' forms."""
    async with page.scope.connection() as conn:
        found = await contacts_query.filter_choices(conn)
        # The quick filters: the forms whose leads came in most recently (the form list's
        # last import), named as the filter's choices name them.
        recent = await contacts_query.recently_imported_forms(conn, QUICK_FORMS)
    choices = ContactFilterChoices.model_validate(found)
    by_id = {f.id: f for f in choices.forms}
    quick = [by_id[form_id] for form_id in recent if form_id in by_id]
    return FilterChoices(
        forms=choices.forms,
        ad_accounts=choices.ad_accounts,
        campaigns=choices.campaigns,
        quick_forms=sorted(quick, key=lambda f: (f.name.lower(), f.id)),
    )


def describe_filter(where: ContactFilter, choices: FilterChoices, t: Translate) -> str:
    """The filter in words, e.g. "Contacts who filled “Test Form”, as a test lead"."""
    parts: list[str] = []
    form = choices.form(where.form_id)
    if where.form_id is not None:
        parts.append(t("who filled “{form}”", form=form.name if form else f"#{where.form_id}"))
    elif where.form_name is not None:
        parts.append(t("who filled “{form}”", form=where.form_name))
    elif any(
        getattr(where, name) is not None
        for name in ("ad_account", "campaign", "test_lead", "consent_given")
    ):
        parts.append(t("who filled a form"))
    if where.ad_account:
        parts.append(
            t("through ad account {name}", name=choices.ad_account_label(where.ad_account, t))
        )
    if where.campaign:
        parts.append(t("in campaign {name}", name=choices.campaign_label(where.campaign)))
    if where.test_lead is not None:
        parts.append(t("as a test lead") if where.test_lead else t("not as a test lead"))
    if where.consent_given is not None:
        consent = next(
            (c for c in choices.consents(where.form_id) if c.id == where.consent_id), None
        )
        if where.consent_id is None:
            parts.append(t("giving consent") if where.consent_given else t("giving no consent"))
        else:
            text = consent.text if consent else f"#{where.consent_id}"
            parts.append(
                t("giving the consent “{consent}”", consent=text)
                if where.consent_given
                else t("not giving the consent “{consent}”", consent=text)
            )
    if where.imported is not None:
        parts.append(
            t("imported from LinkedIn") if where.imported else t("not imported from LinkedIn")
        )
    if where.imported_from:
        parts.append(t("imported on or after {day}", day=moment(where.imported_from)))
    if where.imported_to:
        parts.append(t("imported before {day}", day=moment(where.imported_to)))
    if not parts:
        return t("All contacts")
    return t("Contacts {conditions}", conditions=", ".join(parts))


def moment(value: datetime) -> str:
    """A filter's bound: its day when it is midnight UTC, else to the minute."""
    return form_day(value) or when(value)


def when(value: datetime | None) -> str:
    """A moment as the console shows it: UTC, to the minute."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def shown(value: Any, t: Translate) -> str:
    """A field's value as text (custom fields may hold numbers, booleans or lists)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return t("Yes") if value else t("No")
    if isinstance(value, list):
        return ", ".join(shown(item, t) for item in value)
    return str(value)


def filter_context(page: AccountPage, choices: FilterChoices) -> dict[str, Any]:
    """What the templates showing a filter need (the contacts page, an audience's page)."""
    return {
        "choices": choices,
        "describe": lambda where: describe_filter(where, choices, page.t),
        "filter_url": filter_url,
        "filter_params": filter_params,
        "form_day": form_day,
        "when": when,
        "ad_account_label": lambda urn: choices.ad_account_label(urn, page.t),
    }
