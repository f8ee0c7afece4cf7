"""LinkedIn Lead Sync payloads as the API returns them (see shared/linkedin-lead-sync.md).

Only the fields leadsync reads are typed; everything else is kept (``extra="allow"``) so that
the raw lead stored on a submission is what LinkedIn sent. Enumerations LinkedIn documents as
open (``predefinedField``, ``leadType``) are plain strings: an unknown value must not break
parsing.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_VERSIONED_FORM = re.compile(
    r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:(?P<form>\d+),(?P<version>\d+)\)$"
)


def versioned_form(urn: str) -> tuple[int, int]:
    """(form id, version id) of a ``versionedLeadGenForm`` URN (whitespace-insensitive)."""
    compact = re.sub(r"\s+", "", urn)
    match = _VERSIONED_FORM.match(compact)
    if not match:
        raise ValueError(f"not a versioned lead gen form URN: {compact!r}")
    return int(match["form"]), int(match["version"])


class LinkedInModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Localized(LinkedInModel):
    localized: dict[str, str] = Field(default_factory=dict)

    def text(self, preferred: str | None = None) -> str:
        """The text in the preferred locale (e.g. ``it_IT``), else any available one."""
        if preferred and preferred in self.localized:
            return self.localized[preferred]
        return next(iter(self.localized.values()), "")


class ChoiceOption(LinkedInModel):
    id: int
    text: Localized = Field(default_factory=Localized)


class FormQuestion(LinkedInModel):
    question_id: int = Field(alias="questionId")
    name: str = ""
    predefined_field: str | None = Field(default=None, alias="predefinedField")
    question: Localized = Field(default_factory=Localized)
    question_details: dict[str, Any] = Field(default_factory=dict, alias="questionDetails")
    response_required: bool = Field(default=False, alias="responseRequired")

    def options(self) -> list[ChoiceOption]:
        return self._options

    @functools.cached_property
    def _options(self) -> list[ChoiceOption]:
        # Read once per question: a form version's questions live in the worker's context
        # cache, and every lead of a multiple-choice question asked for them again.
        details = self.question_details.get("multipleChoiceQuestionDetails") or {}
        return [ChoiceOption.model_validate(o) for o in details.get("options", [])]


class HiddenField(LinkedInModel):
    name: str
    value: str | None = None


class Consent(LinkedInModel):
    id: int
    check_required: bool = Field(default=False, alias="checkRequired")
    consent: Localized = Field(default_factory=Localized)


class LegalInfo(LinkedInModel):
    consents: list[Consent] = Field(default_factory=list)


class FormContent(LinkedInModel):
    # LinkedIn documents "questions" as objects; shortened examples show placeholder strings,
    # which carry no information and are dropped rather than rejected.
    questions: list[FormQuestion | str] = Field(default_factory=list)
    legal_info: LegalInfo | None = Field(default=None, alias="legalInfo")

    def typed_questions(self) -> list[FormQuestion]:
        return [q for q in self.questions if isinstance(q, FormQuestion)]


class LeadForm(LinkedInModel):
    """The ``form:(...)`` projection on a lead, or a ``leadForms`` element."""

    id: int
    version_id: int | None = Field(default=None, alias="versionId")
    name: str = ""
    hidden_fields: list[HiddenField] = Field(default_factory=list, alias="hiddenFields")
    content: FormContent | None = None
    creation_locale: dict[str, str] | None = Field(default=None, alias="creationLocale")

    def locale(self) -> str | None:
        if not self.creation_locale:
            return None
        lang = self.creation_locale.get("language")
        country = self.creation_locale.get("country")
        return f"{lang}_{country}" if lang and country else lang


class LeadFormHeader(LeadForm):
    """A lead's ``form`` projection read without its ``content`` (questions, legal text).

    For the import pipeline, which has a form version's content once it registered the
    version: validating the content of every lead again was two thirds of the time spent
    decoding a lead (bench/pipeline.py). ``content`` is always ``None`` here; the key is
    ignored, not read. The other members are read by their LinkedIn names only.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=False)

    content: FormContent | None = Field(default=None, validation_alias="leadsync:unread")


class AnswerDetails(LinkedInModel):
    text_question_answer: dict[str, Any] | None = Field(default=None, alias="textQuestionAnswer")
    multiple_choice_answer: dict[str, Any] | None = Field(
        default=None, alias="multipleChoiceAnswer"
    )


class Answer(LinkedInModel):
    question_id: int = Field(alias="questionId")
    answer_details: AnswerDetails = Field(default_factory=AnswerDetails, alias="answerDetails")

    def text(self) -> str | None:
        text = self.answer_details.text_question_answer
        value = text.get("answer") if text else None
        return value if isinstance(value, str) else None

    def option_ids(self) -> list[int]:
        choice = self.answer_details.multiple_choice_answer
        return [int(o) for o in (choice or {}).get("options", [])]


class ConsentResponse(LinkedInModel):
    consent_id: int = Field(alias="consentId")
    accepted: bool


class FormResponse(LinkedInModel):
    answers: list[Answer] = Field(default_factory=list)
    consent_responses: list[ConsentResponse] = Field(default_factory=list, alias="consentResponses")


class Lead(LinkedInModel):
    """One ``leadFormResponses`` element: a submitted Lead Gen Form."""

    id: str = Field(min_length=1)
    owner: dict[str, str] = Field(default_factory=dict)
    submitter: str | None = None
    lead_type: str = Field(default="SPONSORED", alias="leadType")
    versioned_lead_gen_form_urn: str = Field(alias="versionedLeadGenFormUrn")
    submitted_at: int = Field(alias="submittedAt", description="epoch milliseconds")
    test_lead: bool = Field(default=False, alias="testLead")
    lead_metadata: dict[str, Any] = Field(default_factory=dict, alias="leadMetadata")
    associated_entity: dict[str, Any] = Field(default_factory=dict, alias="associatedEntity")
    form_response: FormResponse = Field(default_factory=FormResponse, alias="formResponse")
    form: LeadForm | None = None
    owner_info: dict[str, Any] | None = Field(default=None, alias="ownerInfo")
    associated_entity_info: dict[str, Any] | None = Field(
        default=None, alias="associatedEntityInfo"
    )
    lead_metadata_info: dict[str, Any] | None = Field(default=None, alias="leadMetadataInfo")

    def form_version(self) -> tuple[int, int]:
        """(form id, version id) from the versioned form URN (whitespace-insensitive)."""
        return versioned_form(self.versioned_lead_gen_form_urn)

    def owner_urn(self) -> str | None:
        return self.owner.get("sponsoredAccount") or self.owner.get("organization")

    def campaign_urn(self) -> str | None:
        sponsored = self.lead_metadata.get("sponsoredLeadMetadata") or {}
        campaign = sponsored.get("campaign")
        return campaign if isinstance(campaign, str) else None

    def creative_urn(self) -> str | None:
        # Push notifications say "sponsoredCreative", leads say "associatedCreative"; event
        # leads carry an event URN here.
        for key in ("associatedCreative", "sponsoredCreative", "event"):
            value = self.associated_entity.get(key)
            if isinstance(value, str):
                return value
        return None


class ImportedLead(Lead):
    """A :class:`Lead` as the import pipeline reads it: the form without its content, and
    members leadsync does not type left out (the record's text is what gets stored)."""

    model_config = ConfigDict(extra="ignore")

    form: LeadFormHeader | None = None
