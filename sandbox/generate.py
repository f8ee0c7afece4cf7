"""Realistic leads from a seed: same seed and same calls, same leads.

Names, companies and cities come from Faker in the form's locale, drawn once into pools so
that generating 100,000 leads takes seconds, not minutes. The mix is a setting
(``GenerationConfig``): a share of leads re-uses an earlier person (the same person filling
several forms, or one form twice), a share carries an answer invalid for its field (a
malformed email, a phone number made of words, a text longer than the question allows),
and a share are test leads.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from faker import Faker

from sandbox.catalog import Catalog, FormVersion
from sandbox.config import GenerationConfig
from sandbox.leads import LeadRecord

_POOL = 400
_TOPICS = ["Pricing", "Integrations", "Security review", "A demo for my team", "Roadmap"]


@dataclass(frozen=True)
class Person:
    """Someone who fills forms: their answer to each predefined field, and their URN."""

    submitter: str
    values: dict[str, str]  # predefinedField -> answer


@dataclass(frozen=True)
class _Pools:
    first: list[str]
    last: list[str]
    company: list[str]
    title: list[str]
    city: list[str]
    country: str
    domains: list[str]


class LeadGenerator:
    """Draws people and their answers; its random state is part of the saved state."""

    def __init__(self, catalog: Catalog, seed: int) -> None:
        self._catalog = catalog
        self._seed = seed
        self.rng = random.Random(f"leads-{seed}")  # noqa: S311 - seeded on purpose: replayable
        self._pools: dict[str, _Pools] = {}
        self._people: list[Person] = []

    def _pool(self, locale: str) -> _Pools:
        pools = self._pools.get(locale)
        if pools is None:
            fake = Faker(locale)
            fake.seed_instance(f"{self._seed}-{locale}")
            pools = _Pools(
                first=[fake.first_name() for _ in range(_POOL)],
                last=[fake.last_name() for _ in range(_POOL)],
                company=[fake.company() for _ in range(_POOL // 4)],
                title=[fake.job() for _ in range(_POOL // 4)],
                city=[fake.city() for _ in range(_POOL // 4)],
                country=fake.current_country() if locale != "en_US" else "United States",
                domains=[fake.domain_name() for _ in range(_POOL // 8)],
            )
            self._pools[locale] = pools
        return pools

    def person(self, locale: str, config: GenerationConfig) -> Person:
        """A new person, or (at the configured rate) one who already submitted a form."""
        if self._people and self.rng.random() < config.duplicate_person_rate:
            return self.rng.choice(self._people)
        pools = self._pool(locale)
        rng = self.rng
        first, last = rng.choice(pools.first), rng.choice(pools.last)
        company = rng.choice(pools.company)
        local = f"{_ascii(first)}.{_ascii(last)}"
        work_domain = re.sub(r"[^a-z0-9]+", "", _ascii(company)) or "company"
        person = Person(
            submitter="urn:li:person:" + "".join(rng.choices(_ID_CHARS, k=10)),
            values={
                "FIRST_NAME": first,
                "LAST_NAME": last,
                "EMAIL": f"{local}{rng.randint(1, 999)}@{rng.choice(pools.domains)}",
                "WORK_EMAIL": f"{local}@{work_domain}.example",
                "PHONE_NUMBER": f"+{rng.randint(30, 49)} {rng.randint(300, 399)} "
                f"{rng.randint(1000000, 9999999)}",
                "COMPANY_NAME": company,
                "JOB_TITLE": rng.choice(pools.title),
                "CITY": rng.choice(pools.city),
                "COUNTRY": pools.country,
            },
        )
        self._people.append(person)
        return person

    def lead(
        self,
        version: FormVersion,
        submitted_at: int,
        config: GenerationConfig,
        *,
        test_lead: bool | None = None,
        invalid: bool | None = None,
    ) -> LeadRecord:
        rng = self.rng
        person = self.person(version.locale, config)
        if test_lead is None:
            test_lead = rng.random() < config.test_lead_rate
        if invalid is None:
            invalid = rng.random() < config.invalid_answer_rate
        answers = self._answers(version, person, invalid=invalid)
        consents = [
            {"consentId": c["id"], "accepted": c["checkRequired"] or rng.random() < 0.7}
            for c in version.content["legalInfo"]["consents"]
        ]
        lead_id = f"{uuid.UUID(int=rng.getrandbits(128), version=4)}-{rng.randint(0, 9)}"
        campaign = entity = None
        if version.owner_key == "sponsoredAccount":
            chosen = rng.choice(self._catalog.campaigns[version.owner_urn])
            campaign = (chosen.urn, chosen.name)
            creative = rng.choice(chosen.creatives)
            entity = ("associatedCreative", creative[0], creative[1])
        elif version.lead_type == "EVENT":
            event = self._catalog.events[version.owner_urn]
            entity = ("event", event[0], event[1])
        return LeadRecord(
            id=lead_id,
            owner_key=version.owner_key,
            owner_urn=version.owner_urn,
            owner_name=self._catalog.owner_name(version.owner_urn),
            submitter=person.submitter,
            lead_type=version.lead_type,
            form_urn=version.urn,
            submitted_at=submitted_at,
            test_lead=test_lead,
            campaign=campaign,
            entity=entity,
            answers=answers,
            consents=consents,
        )

    def _answers(
        self, version: FormVersion, person: Person, *, invalid: bool
    ) -> list[dict[str, Any]]:
        rng = self.rng
        answers = []
        questions = version.questions()
        broken = rng.randrange(len(questions)) if invalid else -1
        if invalid:
            # Prefer breaking a field that has a format to break.
            formatted = [
                i
                for i, q in enumerate(questions)
                if q.get("predefinedField") in ("EMAIL", "WORK_EMAIL", "PHONE_NUMBER")
            ]
            broken = rng.choice(formatted) if formatted else broken
        for position, question in enumerate(questions):
            skipped = not question["responseRequired"] and rng.random() < 0.2
            # The broken answer is always given: an invalid lead must carry it (a skipped
            # optional phone made an "invalid" lead valid).
            if skipped and position != broken:
                continue
            details = question["questionDetails"]
            if "multipleChoiceQuestionDetails" in details:
                options = details["multipleChoiceQuestionDetails"]["options"]
                answer: dict[str, Any] = {
                    "multipleChoiceAnswer": {"options": [rng.choice(options)["id"]]}
                }
            else:
                limit = details["textQuestionDetails"]["maxResponseLength"]
                field = question.get("predefinedField")
                text = person.values.get(field) if field else None
                text = text or rng.choice(_TOPICS)
                if position == broken:
                    text = _invalid(field, person, limit)
                answer = {"textQuestionAnswer": {"answer": text}}
            answers.append({"questionId": question["questionId"], "answerDetails": answer})
        return answers

    def state(self) -> dict[str, Any]:
        return {
            "rng": _jsonable(self.rng.getstate()),
            "people": [[p.submitter, p.values] for p in self._people],
        }

    def restore(self, state: dict[str, Any]) -> None:
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self._people = [Person(submitter, values) for submitter, values in state["people"]]


_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def _invalid(field: str | None, person: Person, limit: int) -> str:
    if field in ("EMAIL", "WORK_EMAIL"):
        return person.values[field].replace("@", " at ")
    if field == "PHONE_NUMBER":
        return "call me after lunch"
    return "x" * (limit + 1)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded.lower()) or "lead"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
