"""Dates and date-times as people and systems write them.

Dates (the answer is a calendar day, returned as :class:`datetime.date`):

- ISO 8601: ``2024-03-05``, ``20240305``, or an ISO date-time whose date part is taken as
  written (no time zone conversion: the day the person meant);
- year first with ``-``, ``/`` or ``.``: ``2024/3/5``;
- day first with dots: ``5.3.2024`` (dots are never a US month-first form);
- ``5/3/2024`` or ``5-3-2024`` only when unambiguous: one side above 12, or both equal;
  ``05/03/2024`` is 5 March in Europe and May 3 in the US, so it is refused;
- a month name in English, Italian, French, German or Spanish, with a day and a 4-digit
  year in either order: ``5 March 2024``, ``March 5th, 2024``, ``5 de marzo de 2024``,
  ``5. März 2024``; a name may be shortened to any prefix of 3+ letters that names only
  one month (``mar``, ``sept``; ``jui`` is refused: juin or juillet);
- two-digit years are refused (which century?).

Date-times must carry a time zone (``Z`` or an offset), since a naive time is a guess; they
are returned as aware UTC :class:`datetime.datetime`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

from mapping.errors import ValueRejected

_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre"
    " novembre dicembre",
    "fr": "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "de": "januar februar marz april mai juni juli august september oktober november dezember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre"
    " diciembre",
}
_MONTH_NAMES: list[tuple[str, int]] = [
    (name, number)
    for names in _MONTHS.values()
    for number, name in enumerate(names.split(), start=1)
]
# Words that may sit between day, month and year ("5 de marzo", "March 5th", "le 5 mai").
_FILLERS = frozenset({"de", "del", "of", "the", "le", "el", "st", "nd", "rd", "th", "er", "o"})

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d")
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_FIRST = re.compile(r"^(\d{4})([./-])(\d{1,2})\2(\d{1,2})$")
_YEAR_LAST = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})$")
_TOKENS = re.compile(r"[^\W\d_]+|\d+")


def parse_date(text: str) -> date:
    """The calendar day ``text`` names, or :class:`ValueRejected` with a reason."""
    value = text.strip()
    if match := _ISO_DATETIME.match(value):
        parse_datetime(value, require_zone=False)  # the whole value must be valid
        value = match[1]
    if _ISO_DATE.match(value):
        year, month, day = (int(p) for p in value.split("-"))
    elif match := _BASIC.match(value):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := _YEAR_FIRST.match(value):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    elif match := _YEAR_LAST.match(value):
        year = int(match[4])
        day, month = _day_month(int(match[1]), int(match[3]), day_first=match[2] == ".")
    else:
        year, month, day = _with_month_name(value)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueRejected("it is not a day of the calendar") from None


def parse_datetime(text: str, *, require_zone: bool = True) -> datetime:
    """The instant ``text`` names (ISO 8601, in UTC), or :class:`ValueRejected`."""
    value = text.strip()
    if not _ISO_DATETIME.match(value):
        raise ValueRejected("it is not an ISO 8601 date and time (e.g. 2024-03-05T10:00:00Z)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueRejected("it is not a valid ISO 8601 date and time") from None
    if moment.tzinfo is None:
        if require_zone:
            raise ValueRejected("it has no time zone (add Z or an offset such as +02:00)")
        return moment
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueRejected("it is out of the supported range of dates") from None


def _day_month(first: int, second: int, *, day_first: bool) -> tuple[int, int]:
    if day_first or first > 12 or first == second:
        return first, second
    if second > 12:
        return second, first
    raise ValueRejected("it is ambiguous: day and month could be either way round")


def _with_month_name(value: str) -> tuple[int, int, int]:
    plain = unicodedata.normalize("NFKD", value.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    tokens = [t for t in _TOKENS.findall(plain) if t not in _FILLERS]
    words = [t for t in tokens if not t.isdigit()]
    numbers = [t for t in tokens if t.isdigit()]
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(words) != 1 or len(years) != 1 or len(days) != 1 or len(numbers) != 2:
        raise ValueRejected("it is not a date in a recognised form (e.g. 2024-03-05)")
    return int(years[0]), _month(words[0]), int(days[0])


def _month(word: str) -> int:
    months = {number for name, number in _MONTH_NAMES if len(word) >= 3 and name.startswith(word)}
    if len(months) != 1:
        raise ValueRejected("its month name is not recognised")
    return months.pop()
