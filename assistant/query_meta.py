"""What a news question says about its sources: outlets named and publication dates given.

"...the report by CBSSports.com on October 12, 2023..." names facts that live in an article's
metadata, not in its sentences; matching them against the catalog is cheap and precise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from index.lexical_store import ArticleInfo

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE_PATTERNS = [
    re.compile(rf"\b(?P<m>{_MONTHS})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b",
               re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{_MONTHS})\.?,?\s+(?P<y>\d{{4}})\b",
               re.I),
    re.compile(r"\b(?P<y>\d{4})-(?P<mn>\d{2})-(?P<d>\d{2})\b"),
]


@dataclass(frozen=True)
class QueryMeta:
    sources: frozenset[str]  # catalog source names the question mentions
    dates: frozenset[date]  # publication dates the question gives


def _month_number(name: str) -> int:
    return datetime.strptime(name[:3].title(), "%b").month


def dates_in(text: str) -> set[date]:
    found: set[date] = set()
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            try:
                month = int(m.group("mn")) if "mn" in m.groupdict() and m.group("mn") else (
                    _month_number(m.group("m")))
                found.add(date(int(m.group("y")), month, int(m.group("d"))))
            except ValueError:
                continue
    return found


def _source_names(source: str) -> list[str]:
    """A source and its short form: "The Roar | Sports Writers Blog" is also "The Roar"."""
    names = [source]
    for sep in (" | ", " - "):
        if sep in source:
            head = source.split(sep)[0].strip()
            if len(head) >= 4:
                names.append(head)
    return names


def match(question: str, outlets: Iterable[str]) -> QueryMeta:
    """The outlets (of the corpus's own source names) and the dates the question names."""
    folded = question.casefold()
    sources = set()
    for source in {s for s in outlets if s}:
        for name in _source_names(source):
            if re.search(r"(?<!\w)" + re.escape(name.casefold()) + r"(?!\w)", folded):
                sources.add(source)
                break
    return QueryMeta(frozenset(sources), frozenset(dates_in(question)))


def published_date(info: ArticleInfo) -> date | None:
    if info.published_ts is None:
        return None
    return datetime.fromtimestamp(info.published_ts, tz=UTC).date()


def meta_score(meta: QueryMeta, info: ArticleInfo) -> tuple[float, float]:
    """(source named, date given) for one article, each 0 or 1."""
    source_hit = 1.0 if info.source in meta.sources else 0.0
    day = published_date(info)
    date_hit = 1.0 if day is not None and any(abs((day - d).days) <= 1 for d in meta.dates) \
        else 0.0
    return source_hit, date_hit


_CLAUSE = re.compile(r"[,;:?]|\b(?:and|while|whereas|but|or|as reported by|according to)\b",
                     re.I)


def question_parts(question: str, min_words: int = 4) -> list[str]:
    """The clauses of a many-part question, each one a sub-question worth matching on its own.

    "Did the article from X on A, and the report by Y on B, both ..." asks for two pieces of
    evidence; the whole question's vector sits between them and matches neither well.
    """
    parts: list[str] = []
    pending = ""
    for piece in _CLAUSE.split(question):
        pending = f"{pending} {piece}".strip() if pending else piece.strip()
        if len(pending.split()) >= min_words:
            parts.append(pending)
            pending = ""
    if pending and parts:
        parts[-1] = f"{parts[-1]} {pending}"
    return parts if len(parts) > 1 else []
