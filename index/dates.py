"""Dates: loose published dates read as ISO 8601, and ISO dates compared across time zones.

Articles store `published_at` as ISO 8601 when the record held a full date (`parse_date`);
the store, the sentence index and the filters compare dates by `date_sort_key`, a UTC
timestamp, so "2023-09-26T07:26:05+02:00" and "2023-09-26T05:26:05Z" are the same moment.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta, timezone

from dateutil import parser as date_parser

from index.errors import NewsdeskError

# Zone abbreviations common in news datelines that dateutil cannot resolve on its own; without
# them "5pm EST" would silently become a naive time.
_TZ_ABBREVIATIONS = {
    name: timezone(timedelta(hours=hours))
    for name, hours in {
        "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
        "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
    }.items()
}
# Two defaults that differ in every field: whatever differs between the two parses was not in
# the input, which is how a date-only or partial value is told apart from a full timestamp.
_DEFAULT_A = datetime(2000, 1, 1, 0, 0, 0, 0)
_DEFAULT_B = datetime(2001, 2, 2, 1, 1, 1, 1)
_MAX_DATE_CHARS = 100  # no real date is longer; longer values are kept raw without parsing
_EPOCH_MS_THRESHOLD = 1e11  # numeric dates above this are milliseconds, not seconds


def parse_date(value: object) -> str:
    """ISO 8601 when the value is a full date, else the raw value stripped.

    A bad date never fails the record: the article is still worth indexing, it just cannot be
    date-filtered.
    """
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return _epoch_to_iso(value)
    raw = str(value).strip()
    if not raw or len(raw) > _MAX_DATE_CHARS:
        return raw
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = date_parser.parse(raw, default=_DEFAULT_A, tzinfos=_TZ_ABBREVIATIONS)
            second = date_parser.parse(raw, default=_DEFAULT_B, tzinfos=_TZ_ABBREVIATIONS)
    except (ValueError, OverflowError, TypeError, LookupError):
        return raw
    if first.date() != second.date():  # year, month or day missing: not a usable date
        return raw
    if first.hour != second.hour:  # no time of day given
        return first.date().isoformat()
    return first.isoformat()


def _epoch_to_iso(value: float) -> str:
    """Numeric dates in JSON are POSIX timestamps (seconds, or milliseconds if huge)."""
    if not math.isfinite(value):
        return ""
    seconds = value / 1000 if abs(value) > _EPOCH_MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        return str(value)


def date_sort_key(value: str) -> float | None:
    """A UTC POSIX timestamp for an ISO date, so dates in different zones compare correctly.

    Naive and date-only values are taken as UTC; anything else (a raw unparsed date) is None,
    which the store treats as "no date".
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def check_date(value: str, label: str) -> None:
    """A date filter's value (`--since`, "Published until") must be a date: `NewsdeskError`
    naming the field otherwise; an empty value is no filter."""
    if value and date_sort_key(value) is None:
        raise NewsdeskError(f"{label} {value!r} is not a date; use YYYY-MM-DD")
