"""coerce(): every field type, its accepted forms, its refusals and their messages."""

from __future__ import annotations

from typing import get_args

import hypothesis
import hypothesis.strategies
import pytest

from mapping.coerce import MAX_TEXT_LENGTH, _clean_text_fully, clean_text, coerce
from mapping.errors import MappingError, describe_shape
from schemas.mappings import ContactField, FieldType, JsonValue

Raw = str | list[str] | bool


def _field(kind: FieldType, choices: tuple[str, ...] | None = None) -> ContactField:
    return ContactField(key=f"my_{kind}", label=kind, type=kind, standard=False, choices=choices)


def _ok(value: Raw, kind: FieldType, choices: tuple[str, ...] | None = None) -> JsonValue:
    return coerce(value, _field(kind, choices))


def _refused(value: Raw, kind: FieldType, choices: tuple[str, ...] | None = None) -> MappingError:
    with pytest.raises(MappingError) as error:
        coerce(value, _field(kind, choices))
    assert error.value.code == "invalid_value"
    assert error.value.field == f"my_{kind}"
    assert f"'my_{kind}'" in error.value.message
    return error.value


# Every type a mapping can target (a relation is never one).
ALL_TYPES: list[FieldType] = [t for t in get_args(FieldType) if t != "relation"]


@pytest.mark.parametrize("kind", ALL_TYPES)
@pytest.mark.parametrize("empty", ["", "   ", "\n\t ", "\u200b", [], ["", "  "], "\x00"])
def test_an_empty_answer_gives_no_value(kind: FieldType, empty: str | list[str]) -> None:
    assert _ok(empty, kind) is None


@pytest.mark.parametrize("value", ["x", ["a"], True])
def test_a_relation_field_is_never_a_target(value: Raw) -> None:
    with pytest.raises(MappingError) as error:
        coerce(value, _field("relation"))
    assert error.value.code == "field_not_mappable"
    assert error.value.field == "my_relation"


# -- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Kevin  ", "Kevin"),
        ("Kevin   van\tDijk", "Kevin van Dijk"),
        ("line one  \r\nline two\rline three", "line one\nline two\nline three"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("nul\x00byte\x07", "nulbyte"),
        ("caf\u0065\u0301", "caf\u00e9"),  # NFC
        ("\ufeffBOM first", "BOM first"),
        ("no\u00a0break", "no break"),
        (["Rosso", "Blu"], "Rosso, Blu"),
        (["  Rosso ", "", "Blu"], "Rosso, Blu"),
        ("x" * MAX_TEXT_LENGTH, "x" * MAX_TEXT_LENGTH),
    ],
)
def test_text_is_tidied(raw: Raw, expected: str) -> None:
    assert _ok(raw, "text") == expected


def test_text_longer_than_the_limit_is_invalid() -> None:
    error = _refused("x" * (MAX_TEXT_LENGTH + 1), "text")
    assert "1,001 characters" in error.message
    assert "xxxx" not in error.message


# -- email --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kevin@Example.COM", "kevin@example.com"),
        ("  a.b+tag@sub.example.co.uk\n", "a.b+tag@sub.example.co.uk"),
        ("\u200bkevin@example.com\u200b", "kevin@example.com"),
        ("o'brien@my-company.ie", "o'brien@my-company.ie"),
        ("jose@bücher.de", "jose@bücher.de"),
        (["kevin@example.com"], "kevin@example.com"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
    ],
)
def test_email_is_normalised(raw: Raw, expected: str) -> None:
    assert _ok(raw, "email") == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("kevin", "no @"),
        ("kevin@@example.com", "more than one @"),
        ("kevin@ex@ample.com", "more than one @"),
        ("kevin @example.com", "spaces"),
        ("@example.com", "before the @"),
        (".kevin@example.com", "before the @"),
        ("kevin.@example.com", "before the @"),
        ("ke..vin@example.com", "before the @"),
        ("kevin<>@example.com", "before the @"),
        ("k" * 65 + "@example.com", "before the @"),
        ("kevin@", "domain"),
        ("kevin@localhost", "domain"),
        ("kevin@example..com", "domain"),
        ("kevin@-example.com", "domain"),
        ("kevin@example-.com", "domain"),
        ("kevin@exa_mple.com", "domain"),
        ("kevin@example.c", "top-level"),
        ("kevin@10.0.0.1", "top-level"),
        ("kevin@" + "a" * 64 + ".com", "domain"),  # a label has at most 63 characters
        ("kevin@" + ("a" * 60 + ".") * 5 + "com", "314 characters, more than 254"),
    ],
)
def test_invalid_email_is_refused_without_quoting_it(raw: str, reason: str) -> None:
    error = _refused(raw, "email")
    assert reason in error.message
    assert "kevin" not in error.message


def test_several_answers_cannot_fill_an_email_field() -> None:
    error = _refused(["a@example.com", "b@example.com"], "email")
    assert "2 answers" in error.message


# -- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+39 02 1234 5678", "+390212345678"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("0039 02.1234.5678", "+390212345678"),
        ("02/1234567", "021234567"),
        ("555\u00a0123\u2013456", "555123456"),
        ("123456", "123456"),
        ("1" * 20, "1" * 20),
        ("\uff10\uff12\uff11\uff12\uff13\uff14\uff15", "0212345"),  # full-width digits
        (["+39 333 1234567"], "+393331234567"),
    ],
)
def test_phone_keeps_plus_and_digits(raw: Raw, expected: str) -> None:
    assert _ok(raw, "phone") == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("call me maybe", "not made of digits (13 characters: 11 letters, 2 others)"),
        ("+39 02 1234 ext 5", "not made of digits"),
        ("02 1234 5678 +", "not made of digits"),
        ("12345", "5 digits, not 6 to 20"),
        ("1" * 21, "21 digits, not 6 to 20"),
        ("+", "0 digits"),
        ("00 12", "2 digits"),
        ("#123456", "not made of digits"),
    ],
)
def test_invalid_phone_is_described_by_its_shape(raw: str, reason: str) -> None:
    error = _refused(raw, "phone")
    assert reason in error.message
    assert raw not in error.message


# -- number -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("\u22127", -7),
        ("007", 7),
        ("12.5", 12.5),
        ("12,5", 12.5),
        ("-0.5", -0.5),
        (".5", 0.5),
        (",25", 0.25),
        ("0.125", 0.125),
        ("0,125", 0.125),
        ("1234.567", 1234.567),
        ("1,234.50", 1234.5),
        ("1.234,50", 1234.5),
        ("1.234.567", 1234567),
        ("1,234,567", 1234567),
        ("1.234.567,89", 1234567.89),
        ("1 234", 1234),
        ("1\u00a0234\u202f567", 1234567),
        ("1 234,567", 1234.567),
        ("1'234'567.25", 1234567.25),
        ("1\u2019234", 1234),
        ("123456789012345", 123456789012345),
        (" 42 ", 42),
        (["42"], 42),
    ],
)
def test_number_forms(raw: Raw, expected: float) -> None:
    value = _ok(raw, "number")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1.234", "ambiguous"),
        ("1,234", "ambiguous"),
        ("-999.000", "ambiguous"),
        ("NaN", "not a number (3 characters: 3 letters)"),
        ("inf", "not a number"),
        ("-Infinity", "not a number"),
        ("1e3", "not a number"),
        ("€ 12", "not a number"),
        ("12%", "not a number"),
        ("twelve", "not a number"),
        ("1..2", "not a number"),
        ("1.2.3", "do not group digits by three"),
        ("1,23,456", "do not group digits by three"),
        ("12,34.5", "do not group digits by three"),
        ("1234,567.8", "do not group digits by three"),
        ("1 234.567 8", "decimal separator is not the last"),
        ("1.234,5,6", "decimal separator is not the last"),
        ("1.5 000", "decimal separator is not the last"),
        ("1234567890123456", "more than 15 significant digits"),
        ("0.1234567890123456", "more than 15 significant digits"),
        ("١٢٣", "not a number"),
        (["1", "2"], "2 answers"),
    ],
)
def test_number_refusals(raw: Raw, reason: str) -> None:
    assert reason in _refused(raw, "number").message


# -- boolean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "true",
        "True",
        "YES",
        "y",
        "1",
        "on",
        "checked",
        "sì",
        "Si",
        "oui",
        "Ja",
        "vero",
        "wahr",
        "verdadero",
        "sim",
        "tak",
        "yes.",
        "Yes!",
    ],
)
def test_boolean_true_words(raw: str) -> None:
    assert _ok(f" {raw} ", "boolean") is True


@pytest.mark.parametrize(
    "raw",
    [
        "false",
        "FALSE",
        "no",
        "N",
        "0",
        "off",
        "unchecked",
        "non",
        "nein",
        "falso",
        "falsch",
        "não",
        "nao",
        "nee",
        "nie",
    ],
)
def test_boolean_false_words(raw: str) -> None:
    assert _ok(raw, "boolean") is False


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please", "-1", "truee", ["Sì", "No"]])
def test_boolean_refusals(raw: Raw) -> None:
    _refused(raw, "boolean")


@pytest.mark.parametrize(
    ("raw", "kind", "choices", "expected"),
    [
        (True, "boolean", None, True),
        (False, "boolean", None, False),
        (True, "text", None, "true"),
        (False, "text", None, "false"),
        (True, "single_choice", None, "true"),
        (True, "single_choice", ("Sì", "No"), "Sì"),
        (False, "single_choice", ("Sì", "No"), "No"),
        (False, "single_choice", ("Opted in", "unchecked"), "unchecked"),
        (["Sì"], "boolean", None, True),
    ],
)
def test_yes_no_answers_fill_yes_no_capable_fields(
    raw: Raw, kind: FieldType, choices: tuple[str, ...] | None, expected: JsonValue
) -> None:
    assert _ok(raw, kind, choices) == expected


@pytest.mark.parametrize(
    ("kind", "choices", "reason"),
    [
        ("number", None, "cannot fill a number field"),
        ("email", None, "cannot fill a email field"),
        ("phone", None, "cannot fill a phone field"),
        ("date", None, "cannot fill a date field"),
        ("datetime", None, "cannot fill a datetime field"),
        ("multiple_choice", ("a", "b"), "cannot fill a multiple_choice field"),
        ("single_choice", ("Red", "Blue"), "no single choice"),
        ("single_choice", ("Yes", "Y", "No"), "no single choice"),
    ],
)
def test_yes_no_answers_refused_by_other_fields(
    kind: FieldType, choices: tuple[str, ...] | None, reason: str
) -> None:
    assert reason in _refused(True, kind, choices).message


# -- date and datetime --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05", "2024-03-05"),
        ("20240305", "2024-03-05"),
        ("2024-03-05T23:30:00-05:00", "2024-03-05"),  # the day as written, not converted
        ("2024-03-05 08:00", "2024-03-05"),
        ("2024/3/5", "2024-03-05"),
        ("2024.03.05", "2024-03-05"),
        ("5.3.2024", "2024-03-05"),
        ("05.03.2024", "2024-03-05"),
        ("13/3/2024", "2024-03-13"),
        ("3/13/2024", "2024-03-13"),
        ("13-03-2024", "2024-03-13"),
        ("5/5/2024", "2024-05-05"),
        ("5 March 2024", "2024-03-05"),
        ("March 5th, 2024", "2024-03-05"),
        ("Dec. 25, 2024", "2024-12-25"),
        ("sept 9 2024", "2024-09-09"),
        ("5 marzo 2024", "2024-03-05"),
        ("25 dic 2024", "2024-12-25"),
        ("1er mai 2024", "2024-05-01"),
        ("14 juillet 2024", "2024-07-14"),
        ("15 août 2024", "2024-08-15"),
        ("5. März 2024", "2024-03-05"),
        ("5 de marzo de 2024", "2024-03-05"),
        ("29 Feb 2024", "2024-02-29"),
        (["2024-03-05"], "2024-03-05"),
    ],
)
def test_date_forms(raw: Raw, expected: str) -> None:
    assert _ok(raw, "date") == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("05/03/2024", "ambiguous"),
        ("5-3-2024", "ambiguous"),
        ("5/3/24", "recognised form"),
        ("2024-02-30", "not a day of the calendar"),
        ("2024-13-01", "not a day of the calendar"),
        ("29 Feb 2023", "not a day of the calendar"),
        ("31.04.2024", "not a day of the calendar"),
        ("5 jui 2024", "month name"),
        ("5 ma 2024", "month name"),
        ("5 Smarch 2024", "month name"),
        ("Tuesday 5 March 2024", "recognised form"),
        ("March 2024", "recognised form"),
        ("5 March", "recognised form"),
        ("tomorrow", "recognised form"),
        ("2024-03-05T25:00", "not a valid ISO 8601"),
    ],
)
def test_date_refusals(raw: str, reason: str) -> None:
    assert reason in _refused(raw, "date").message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05T10:00:00Z", "2024-03-05T10:00:00Z"),
        ("2024-03-05T10:00:00+02:00", "2024-03-05T08:00:00Z"),
        ("2024-03-05 10:00+0530", "2024-03-05T04:30:00Z"),
        ("2024-03-05T23:30:00-01:00", "2024-03-06T00:30:00Z"),
        ("2024-03-05T10:00:00.250+00:00", "2024-03-05T10:00:00.250000Z"),
    ],
)
def test_datetime_becomes_utc(raw: str, expected: str) -> None:
    assert _ok(raw, "datetime") == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2024-03-05T10:00:00", "no time zone"),
        ("2024-03-05", "not an ISO 8601 date and time"),
        ("5 March 2024 10:00", "not an ISO 8601 date and time"),
        ("2024-03-05T10:61:00Z", "not a valid ISO 8601"),
        ("0001-01-01T00:00:00+01:00", "out of the supported range"),
    ],
)
def test_datetime_refusals(raw: str, reason: str) -> None:
    assert reason in _refused(raw, "datetime").message


# -- choices ------------------------------------------------------------------------------

SIZES = ("Small", "Medium business", "Large, enterprise")


@pytest.mark.parametrize(
    ("raw", "choices", "expected"),
    [
        ("small", SIZES, "Small"),
        ("  MEDIUM   business ", SIZES, "Medium business"),
        ("large, Enterprise", SIZES, "Large, enterprise"),
        (["medium business"], SIZES, "Medium business"),
        ("anything  goes", None, "anything goes"),
        ("Sì", ("Si", "Sì"), "Sì"),  # accents are not ignored: they tell choices apart
        ("yes", ("Yes", "YES"), "Yes"),  # choices equal but for case: the first one
    ],
)
def test_single_choice(raw: Raw, choices: tuple[str, ...] | None, expected: str) -> None:
    assert _ok(raw, "single_choice", choices) == expected


@pytest.mark.parametrize(
    ("raw", "choices", "reason"),
    [
        ("Huge", SIZES, "not one of the field's choices"),
        ("Smal", SIZES, "not one of the field's choices"),
        (["Small", "Huge"], SIZES, "2 answers"),
        (["Small", "Medium business"], SIZES, "2 answers"),
        ("x" * (MAX_TEXT_LENGTH + 1), None, "more than 1,000"),
    ],
)
def test_single_choice_refusals(raw: Raw, choices: tuple[str, ...] | None, reason: str) -> None:
    assert reason in _refused(raw, "single_choice", choices).message


@pytest.mark.parametrize(
    ("raw", "choices", "expected"),
    [
        (["small", "Large, enterprise"], SIZES, ["Small", "Large, enterprise"]),
        ("small; medium business", SIZES, ["Small", "Medium business"]),
        ("Small,Medium business", SIZES, ["Small", "Medium business"]),
        ("Small\nMedium business", SIZES, ["Small", "Medium business"]),
        ("large, enterprise", SIZES, ["Large, enterprise"]),  # a whole choice is not split
        ("small, SMALL, small", SIZES, ["Small"]),
        ("Small, , ;", SIZES, ["Small"]),
        ("a, b; c", None, ["a", "b", "c"]),
        (["x  y", "x y"], None, ["x y"]),
        (" , ; ", None, None),
    ],
)
def test_multiple_choice(raw: Raw, choices: tuple[str, ...] | None, expected: JsonValue) -> None:
    assert _ok(raw, "multiple_choice", choices) == expected


@pytest.mark.parametrize(
    "raw", ["Small, Huge", ["Small", "Huge"], "Large", ["Large, enterprise, Small"]]
)
def test_multiple_choice_refusals(raw: Raw) -> None:
    assert "not one of the field's choices" in _refused(raw, "multiple_choice", SIZES).message


# -- messages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("", "empty"),
        ("a", "1 character: 1 letter"),
        ("+39 02", "6 characters: 4 digits, 2 others"),
        ("ab12", "4 characters: 2 digits, 2 letters"),
    ],
)
def test_shape_of_a_value(text: str, shape: str) -> None:
    assert describe_shape(text) == shape


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("kevin.secret@example", "email"),
        ("+39 333 SECRET", "phone"),
        ("SECRET 42", "number"),
        ("SECRET", "boolean"),
        ("SECRET 2024", "date"),
        ("2024-03-05TSECRET", "datetime"),
        ("SECRET", "single_choice"),
    ],
)
def test_messages_never_quote_the_value(raw: str, kind: FieldType) -> None:
    error = _refused(raw, kind, ("a",) if kind == "single_choice" else None)
    assert "SECRET" not in error.message.upper().replace(f"MY_{kind.upper()}", "")


@hypothesis.given(
    hypothesis.strategies.text(
        alphabet=hypothesis.strategies.characters(min_codepoint=0, max_codepoint=0x250)
    )
)
def test_clean_text_shortcut_for_plain_ascii_agrees_with_the_full_cleaning(value: str) -> None:
    assert clean_text(value) == _clean_text_fully(value)


@pytest.mark.parametrize("value", ["", " ", "Ada Lovelace", " padded ", "a  b", "tab\there"])
def test_clean_text_of_plain_ascii_samples(value: str) -> None:
    assert clean_text(value) == _clean_text_fully(value)
