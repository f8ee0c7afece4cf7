"""The console's CSRF tokens as pages carry them: each copy masked afresh (so that a
compressed page gives away nothing of the token's bytes), each copy proving the session's
token, and nothing else proving it."""

from __future__ import annotations

import secrets

from hypothesis import given
from hypothesis import strategies as st

from admin.console import csrf

TOKEN = secrets.token_urlsafe(32)


def test_every_copy_differs_and_none_contains_the_token() -> None:
    copies = {csrf.mask(TOKEN) for _ in range(50)}
    assert len(copies) == 50
    assert not any(TOKEN in copy or TOKEN[:8] in copy for copy in copies)


def test_a_masked_copy_and_the_token_itself_prove_the_token() -> None:
    assert csrf.matches(csrf.mask(TOKEN), TOKEN)
    assert csrf.matches(TOKEN, TOKEN)


def test_another_sessions_token_masked_or_not_proves_nothing() -> None:
    other = secrets.token_urlsafe(32)
    assert not csrf.matches(csrf.mask(other), TOKEN)
    assert not csrf.matches(other, TOKEN)


def test_a_copy_with_one_character_changed_proves_nothing() -> None:
    copy = csrf.mask(TOKEN)
    # Not the last character: part of its bits are base64's padding, which decoding ignores.
    for position in range(len(copy) - 1):
        changed = "A" if copy[position] != "A" else "B"
        tampered = copy[:position] + changed + copy[position + 1 :]
        assert not csrf.matches(tampered, TOKEN), position


def test_an_empty_token_is_proven_by_nothing() -> None:
    assert not csrf.matches("", "")
    assert not csrf.matches(csrf.mask(""), "")


@given(st.text(max_size=200))
def test_anything_sent_is_an_answer_never_an_error(sent: str) -> None:
    assert csrf.matches(sent, TOKEN) is (sent == TOKEN)
