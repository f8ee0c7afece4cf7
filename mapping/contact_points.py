"""Email addresses and phone numbers: the ways back to a contact.

Both parsers raise :class:`ValueRejected` with a reason that never quotes the value; the
rules are listed in :mod:`mapping.coerce`. An email address is also the contact's identity
(:func:`mapping.apply.normalise_email`).
"""

from __future__ import annotations

import re
import unicodedata

from mapping.errors import ValueRejected, describe_shape

# Zero-width characters that copy-and-paste leaves around a value.
EDGE_INVISIBLES = "\u200b\u200c\u200d\u2060\ufeff"
_EMAIL_LOCAL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^[^\W_]+(?:-+[^\W_]+)*$")
_PHONE_SEPARATORS = frozenset(" .-/()\t\u00a0\u2009\u202f\u2010\u2011\u2012\u2013")


def parse_email(value: str) -> str:
    """The normalised address, or :class:`ValueRejected` saying what is wrong with it."""
    email = value.strip().strip(EDGE_INVISIBLES).strip().lower()
    if any(c.isspace() for c in email):
        raise ValueRejected("it contains spaces")
    if len(email) > 254:
        raise ValueRejected(f"it has {len(email)} characters, more than 254")
    if email.count("@") != 1:
        raise ValueRejected("it has no @" if "@" not in email else "it has more than one @")
    local, domain = email.split("@")
    labels = domain.split(".")
    if not local or len(local) > 64 or not _EMAIL_LOCAL.match(local):
        raise ValueRejected("the part before the @ is empty, too long or has invalid characters")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(x) and len(x) <= 63 for x in labels):
        raise ValueRejected("the domain is not a name with a dot (e.g. example.com)")
    if len(labels[-1]) < 2 or labels[-1].isdigit():
        raise ValueRejected("the domain does not end in a valid top-level domain")
    return email


def parse_phone(value: str) -> str:
    """``+`` and digits only, or :class:`ValueRejected` describing the value's shape."""
    text = value.strip()
    if text.startswith("+"):
        text = text.replace("(0)", "", 1)
    plus = text.startswith("+")
    digits = []
    for char in text[1:] if plus else text:
        if char.isdecimal():
            digits.append(str(unicodedata.decimal(char)))
        elif char not in _PHONE_SEPARATORS:
            raise ValueRejected(f"it is not made of digits ({describe_shape(value.strip())})")
    number = "".join(digits)
    if not plus and number.startswith("00"):
        plus, number = True, number[2:]
    if not 6 <= len(number) <= 20:
        raise ValueRejected(f"it has {len(number)} digits, not 6 to 20")
    return f"+{number}" if plus else number
