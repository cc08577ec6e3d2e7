"""The question's date: "this week" read against publication dates.

A question may come with the date it is asked (`Assistant.ask(..., as_of=...)`, `newsdesk ask
--as-of`, a suite case's `date`). When the question also carries a time clue ("recently",
"this week", "soon", "latest"), it asks about the news of that moment, and a page published
long before (or after) that date is unlikely to hold the answer even when it is on the same
topic: a same-topic page from years earlier states an older fact. The reranker turns the
distance into a penalty through `staleness`. Without a date or a clue nothing changes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from index.dates import date_sort_key, parse_date

_CLUE = re.compile(
    r"\b(?:recent(?:ly)?|this (?:week|weekend|month|year|season|summer|fall|autumn|winter|"
    r"spring)|last (?:week|weekend|month)|past (?:week|weekend|month|few days)|latest|"
    r"current(?:ly)?|now|today|tonight|yesterday|upcoming|soon|newly|just)\b",
    re.IGNORECASE)
# Distances within this many days cost nothing (a weekly quiz, a story developing over a
# month); the penalty then grows linearly and is full at `FULL_DAYS`.
GRACE_DAYS = 30
FULL_DAYS = 365


def has_time_clue(question: str) -> bool:
    return bool(_CLUE.search(question))


def parse_as_of(value: str | date | datetime | None) -> date | None:
    """A date, or any full date the loaders read (index/dates.py: `2022-06-16`,
    `2022/06/16`, `June 16, 2022`); None when absent. A value that is not a date raises
    ValueError (the caller's input, named in its message)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    moment = date_sort_key(parse_date(value))
    if moment is None:
        raise ValueError(f"as_of {value!r} is not a date (YYYY-MM-DD)")
    return datetime.fromtimestamp(moment, tz=UTC).date()


def staleness(published_ts: float | None, as_of: date) -> float:
    """0 within `GRACE_DAYS` of the question's date (or without a publication date), rising to
    1 at `FULL_DAYS` away, before or after."""
    if published_ts is None:
        return 0.0
    day = datetime.fromtimestamp(published_ts, tz=UTC).date()
    distance = abs((day - as_of).days)
    return min(1.0, max(0.0, (distance - GRACE_DAYS) / (FULL_DAYS - GRACE_DAYS)))
