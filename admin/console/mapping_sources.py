"""The rows of the field mapping page, what a person chose in them, and the mapping problems
said in the page's words (pure, no I/O).

A form version has four kinds of mapping source: its questions (predefined ones, which
LinkedIn names by ``predefinedField``; custom ones by ``questionId``, multiple-choice among
them), its consents and its hidden fields. The page shows one row per source, each with a
select of the account's contact fields, "not mapped", or a new contact field (name + type).

Mappings belong to the form, not to a version (:mod:`schemas.mappings`): saving the page of
version 2 keeps, untouched, the mappings of sources that only version 1 had. The posted form
names each row by its position and repeats the row's source, so a row whose source is not
the one the page was drawn with is ignored rather than mapped to the wrong question.

A problem (:class:`mapping.checks.DescribedProblem`) is said from its template, translated,
with its placeholders filled as the page names things: a contact field by its label, a
source by its row's label (:func:`problem_text`); the API keeps the English message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mapping.checks import IDENTITY_FIELD, DescribedProblem, ProblemParam
from mapping.coerce import BOOLEAN_TARGETS
from mapping.errors import MappingProblem
from schemas.mappings import ContactField, FieldMapping, FieldType, FormVersionSpec, SourceKind
from sinks.contact_fields import CUSTOM_FIELD_TYPES, field_key_for

# The select's value for "a new contact field" (no field key can look like it).
NEW_FIELD = "__new__"
MAX_FIELD_NAME = 100

# A new field's types as the select names them (English: the catalog's keys).
TYPE_LABELS: dict[FieldType, str] = {
    "text": "Text",
    "email": "Email address",
    "phone": "Phone number",
    "number": "Number",
    "boolean": "Yes/no",
    "date": "Date",
    "datetime": "Date and time",
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
}
# A type a person may give a new field must have its label here (checked at import).
assert set(TYPE_LABELS) == set(CUSTOM_FIELD_TYPES)

# A source no row of the page stands for, by its kind (English: the catalog's keys).
_SOURCE_KINDS = {
    "predefined": "predefined field {key}",
    "question": "question {key}",
    "consent": "consent {key}",
    "hidden": "hidden field {key}",
}

Translate = Callable[..., str]  # (English text, **placeholders) -> the reader's language

Category = Literal["predefined", "question", "choice", "consent", "hidden"]


@dataclass(frozen=True)
class Source:
    """One row: a question, consent or hidden field of the version, as a mapping names it."""

    kind: SourceKind
    key: str
    category: Category
    label: str  # what the member read, in the form's locale (a hidden field: its name)
    name: str = ""  # LinkedIn's own name of a question ("First name", "Custom question 0")
    options: tuple[str, ...] = ()  # a multiple-choice question's option labels
    required: bool = False
    value: str | None = None  # a hidden field's value as defined on the version
    # Other names of this source in saved mappings (a predefined question by its id too).
    aliases: frozenset[str] = frozenset()

    @property
    def token(self) -> str:
        """``kind:key``, as mapping problems and field provenance name a source."""
        return f"{self.kind}:{self.key}"

    def names(self) -> frozenset[str]:
        return self.aliases | {self.token}


@dataclass(frozen=True)
class Message:
    """A text for the person (English: the catalog's key) and its placeholders."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Choice:
    """A row's select: an existing field's key, :data:`NEW_FIELD`, or ``None`` (not mapped)."""

    field_key: str | None = None
    new_name: str = ""
    new_type: str = "text"
    automatic: bool = False  # the saved mapping was made on discovery


@dataclass
class EditedSet:
    """The mapping set as the page would leave it."""

    choices: dict[str, Choice]  # by source token
    mappings: list[FieldMapping]  # the whole set: this version's rows and the others' kept
    new_fields: dict[str, ContactField]  # to create on save, by key
    errors: dict[str, Message]  # by source token: why its new field cannot be made
    kept: int = 0  # mappings of sources this version lacks, kept as they are


def version_sources(version: FormVersionSpec) -> list[Source]:
    """The version's sources in the form's order: questions, consents, hidden fields."""
    locale = version.locale
    rows: list[Source] = []
    for question in version.questions.values():
        label = question.question.text(locale) or question.name
        options = tuple(o.text.text(locale) or str(o.id) for o in question.options())
        if question.predefined_field:
            rows.append(
                Source(
                    "predefined", question.predefined_field, "predefined", label,
                    name=question.name, required=question.response_required,
                    aliases=frozenset({f"question:{question.question_id}"}),
                )
            )  # fmt: skip
        else:
            rows.append(
                Source(
                    "question", str(question.question_id), "choice" if options else "question",
                    label, name=question.name, options=options,
                    required=question.response_required,
                )
            )  # fmt: skip
    for consent in version.consents.values():
        rows.append(
            Source(
                "consent", str(consent.id), "consent", consent.consent.text(locale),
                required=consent.check_required,
            )
        )  # fmt: skip
    for name, value in version.hidden_fields.items():
        rows.append(Source("hidden", name, "hidden", name, value=value))
    return rows


def mapping_token(mapping: FieldMapping) -> str:
    """The mapping's source as :attr:`Source.token` spells it."""
    return source_token(f"{mapping.source_kind}:{mapping.source_key}")


def source_token(name: str) -> str:
    """A ``kind:key`` source name as :attr:`Source.token` spells it: question and consent
    ids compare as numbers ("question:0707" is "question:707")."""
    kind, _, key = name.partition(":")
    if kind in ("question", "consent") and key.isascii() and key.isdigit():
        key = str(int(key))
    return f"{kind}:{key}"


def saved_choices(sources: Sequence[Source], saved: Sequence[FieldMapping]) -> dict[str, Choice]:
    """Each row's select as the saved set has it (a row's own name wins over an alias)."""
    by_token: dict[str, FieldMapping] = {}
    for mapping in saved:
        by_token.setdefault(mapping_token(mapping), mapping)
    choices = {}
    for source in sources:
        found = by_token.get(source.token) or next(
            (by_token[a] for a in sorted(source.aliases) if a in by_token), None
        )
        choices[source.token] = Choice(
            found.field_key if found else None,
            new_type=default_type(source),
            automatic=found.automatic if found else False,
        )
    return choices


def kept_mappings(sources: Sequence[Source], saved: Sequence[FieldMapping]) -> list[FieldMapping]:
    """The saved mappings no row of this page stands for (other versions' sources)."""
    shown = frozenset().union(*(s.names() for s in sources)) if sources else frozenset()
    return [m for m in saved if mapping_token(m) not in shown]


def edited_set(
    posted: Mapping[str, str],
    sources: Sequence[Source],
    saved: Sequence[FieldMapping],
    fields: Mapping[str, ContactField],
) -> EditedSet:
    """The set the posted page describes; new fields are checked here (a name that makes a
    key, not one the account has), the mappings themselves by the API's rules later."""
    choices = saved_choices(sources, saved)
    errors: dict[str, Message] = {}
    new_fields: dict[str, ContactField] = {}
    rows: list[FieldMapping] = []
    for index, source in enumerate(sources):
        if posted.get(f"source_{index}") != source.token:
            # Not the row the page was drawn with (the version changed meanwhile): its
            # saved mapping stays as it is.
            rows += [m for m in saved if mapping_token(m) in source.names()]
            continue
        choice = Choice(
            (posted.get(f"field_{index}") or "").strip() or None,
            (posted.get(f"new_name_{index}") or "").strip(),
            (posted.get(f"new_type_{index}") or "").strip() or default_type(source),
        )
        choices[source.token] = choice
        if choice.field_key == NEW_FIELD:
            made = _new_field(choice, fields, new_fields)
            if isinstance(made, Message):
                errors[source.token] = made
                continue
            new_fields[made.key] = made
            choice_key = made.key
        elif choice.field_key is None:
            continue
        else:
            choice_key = choice.field_key
        rows.append(FieldMapping(source.kind, source.key, choice_key))
    kept = kept_mappings(sources, saved)
    return EditedSet(choices, [*rows, *kept], new_fields, errors, len(kept))


def default_type(source: Source) -> FieldType:
    """A new field's type until the person picks one: a consent is a yes/no."""
    return "boolean" if source.category == "consent" else "text"


def target_fields(fields: Mapping[str, ContactField], source: Source) -> list[ContactField]:
    """The fields a row's select offers: mappable ones, the identity first, then standard
    fields, then the account's own; a consent only those that can hold a yes/no."""
    usable = [
        f
        for f in fields.values()
        if not f.deleted and not f.system and f.type != "relation"
        and (source.kind != "consent" or f.type in BOOLEAN_TARGETS)
    ]  # fmt: skip
    return sorted(usable, key=lambda f: (f.key != IDENTITY_FIELD, not f.standard, f.label.lower()))


def _new_field(
    choice: Choice, fields: Mapping[str, ContactField], planned: Mapping[str, ContactField]
) -> ContactField | Message:
    if not choice.new_name:
        return Message("Give the new contact field a name.")
    if len(choice.new_name) > MAX_FIELD_NAME:
        return Message("A field name has at most {count} characters.", {"count": MAX_FIELD_NAME})
    if "\x00" in choice.new_name:  # PostgreSQL's text cannot hold it
        return Message("A field name cannot contain the NUL character (\\0).")
    if choice.new_type not in CUSTOM_FIELD_TYPES:
        return Message("Choose the new field's type.")
    key = field_key_for(choice.new_name)
    if key is None:
        return Message("A field name needs at least one letter or digit.")
    existing = fields.get(key)
    if existing is not None:
        return Message(
            "The contact field “{label}” already exists: choose it in the list.",
            {"label": existing.label},
        )
    other = planned.get(key)
    if other is not None and other.type != choice.new_type:
        return Message("Another new field has this name with another type.")
    new_type: FieldType = next(t for t in CUSTOM_FIELD_TYPES if t == choice.new_type)
    return ContactField(key=key, label=choice.new_name, type=new_type, standard=False)


def problem_text(
    problem: MappingProblem,
    sources: Sequence[Source],
    fields: Mapping[str, ContactField],
    translate: Translate,
) -> str:
    """A mapping problem in the reader's language, naming what the page shows: a contact
    field by its label (translated as the contact page translates it), a source by its row's
    label; the API's English message when the problem carries no template."""
    if not isinstance(problem, DescribedProblem) or not problem.template:
        return translate(problem.message)
    rows = {name: source for source in sources for name in source.names()}

    def field_name(key: str) -> str:
        found = fields.get(key)
        return f"“{translate(found.label) if found else key}”"

    def source_name(name: str) -> str:
        row = rows.get(source_token(name))
        if row is not None:
            return f"“{row.label or row.name}”"
        kind, _, key = name.partition(":")
        template = _SOURCE_KINDS.get(kind)
        return translate(template, key=key) if template else name

    def shown(name: str, value: ProblemParam) -> str:
        if isinstance(value, tuple):
            return ", ".join(source_name(v) for v in value)
        if name == "field":
            return field_name(value)
        if name == "source":
            return source_name(value)
        if name == "type":
            label = next((label for t, label in TYPE_LABELS.items() if t == value), value)
            return translate(label).lower()
        return value

    params = {name: shown(name, value) for name, value in problem.arguments.items()}
    return translate(problem.template, **params)
