"""A stream of leads built to reveal a lost or duplicated import, and what it must produce.

The mix: many people who fill one form once, some who fill two forms (the second lead newer),
and repeated deliveries of lead ids already in the stream. Every email and lead id carries a
token unique to the data set, so its rows can be told apart from other tests' rows. The leads
are the settings' account's (``Expected.account``), keyed "<account>:<lead>" as hydration
publishes them.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field

from harness.operator import switch_import
from leadsync.settings import Settings
from tests.integration.produce import envelope, lead_for, settings_account

FORMS = 4
_BASE_MS = 1_760_000_000_000


@dataclass
class Expected:
    """What the database must hold once the data set went through, derived from the leads."""

    account: int
    forms: list[int]
    lead_ids: set[str] = field(default_factory=set)
    # (email, form id) -> the lead id of the newest submission of that person to that form
    submissions: dict[tuple[str, int], str] = field(default_factory=dict)
    # email -> first name of the person's newest lead (an older lead never overwrites it)
    first_names: dict[str, str] = field(default_factory=dict)
    # email of a person with two forms -> (older lead id, newer lead id)
    two_forms: dict[str, tuple[str, str]] = field(default_factory=dict)
    email_of_lead: dict[str, str] = field(default_factory=dict)


@dataclass
class LeadStream:
    token: str
    records: list[tuple[bytes, bytes]]  # (key, value) in publishing order
    expected: Expected

    def chunks(self, size: int) -> list[list[tuple[bytes, bytes]]]:
        return [self.records[i : i + size] for i in range(0, len(self.records), size)]


def build(settings: Settings, total: int, rng: random.Random) -> LeadStream:
    """``total`` records: a tenth are repeated deliveries, a fifth belong to two-form people.

    The forms are new and have Import switched on before any lead is published.
    """
    token = uuid.uuid4().hex[:8]
    forms = [rng.randrange(100_000_000, 999_999_999) for _ in range(FORMS)]
    switch_import(settings, forms)

    account = settings_account(settings)
    expected = Expected(account, forms)
    envelopes: list[dict[str, object]] = []

    def add(person: int, form_id: int, when_ms: int, name: str) -> str:
        email = f"p{person}-{token}@faults.example.com"
        lead_id = f"{token}-{len(envelopes)}"
        envelopes.append(
            envelope(
                lead_for(lead_id, email, form_id=form_id, submitted_at=when_ms, first_name=name),
                account_id=account,
            )
        )
        expected.lead_ids.add(lead_id)
        expected.submissions[(email, form_id)] = lead_id
        expected.first_names[email] = name
        expected.email_of_lead[lead_id] = email
        return lead_id

    repeats = total // 10
    two_form_people = total // 10
    one_form_people = total - repeats - 2 * two_form_people
    for person in range(one_form_people):
        add(person, forms[person % FORMS], _BASE_MS + person * 1000, f"One{person}")
    for n in range(two_form_people):
        person = one_form_people + n
        first, second = forms[n % FORMS], forms[(n + 1) % FORMS]
        when = _BASE_MS + person * 1000
        older = add(person, first, when, f"Older{person}")
        newer = add(person, second, when + 60_000, f"Newer{person}")
        expected.two_forms[f"p{person}-{token}@faults.example.com"] = (older, newer)
    envelopes += rng.choices(envelopes, k=repeats)  # the same lead delivered again
    rng.shuffle(envelopes)
    records = [(f"{account}:{_lead_id(e)}".encode(), json.dumps(e).encode()) for e in envelopes]
    return LeadStream(token, records, expected)


def _lead_id(value: dict[str, object]) -> object:
    lead = value["lead"]
    assert isinstance(lead, dict)
    return lead["id"]
