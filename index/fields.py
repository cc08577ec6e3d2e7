"""From a loosely shaped record (a JSON object, a CSV row) to an `Article`.

News dumps disagree on field names ("body" vs "content", "date" vs "published_at"), on types
(numbers, nulls, author lists) and on date formats. This module absorbs those differences in one
place so every loader yields the same clean `Article`, and dates come out as ISO 8601 so the
store can filter on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from index.articles import new_article
from index.dates import parse_date
from index.errors import NewsdeskError, clip
from index.types import Article

# Aliases in priority order: when a record has several, the first non-empty one wins.
TEXT_FIELDS = ("body", "text", "content", "article", "story")
TITLE_FIELDS = ("title", "headline")
DATE_FIELDS = ("published_at", "date", "published", "pubdate", "publication_date", "datetime")
SOURCE_FIELDS = ("source", "publisher", "outlet", "site", "sitename")
URL_FIELDS = ("url", "link")
AUTHOR_FIELDS = ("author", "byline", "authors")
CATEGORY_FIELDS = ("category", "section")


def build_article(record: Mapping | Iterable[tuple[str, object]], origin: str) -> Article:
    """The `Article` a record describes, or a `NewsdeskError` saying which field to fix.

    Accepts (key, value) pairs as well as a mapping so a CSV with duplicate column names keeps
    every column rather than the last one.
    """
    index = _index_keys(record)
    text = _text(index)
    return new_article(
        title=_pick(index, TITLE_FIELDS, " ")[1] or "",
        text=text,
        source=_pick(index, SOURCE_FIELDS, ", ")[1] or "",
        url=_pick(index, URL_FIELDS, " ")[1] or "",
        author=_pick(index, AUTHOR_FIELDS, ", ")[1] or "",
        category=_pick(index, CATEGORY_FIELDS, ", ")[1] or "",
        published_at=_date(index),
        origin=origin,
    )


def has_text_field(keys: Iterable[object]) -> bool:
    """Whether any of these column/key names is an accepted text field (case-insensitive)."""
    return any(str(key).strip().lower() in TEXT_FIELDS for key in keys)


def _index_keys(record: Mapping | Iterable[tuple[str, object]]) -> dict[str, list]:
    """Lower-cased key -> [(original key, value), ...], so "Body" and "BODY" both count."""
    pairs = record.items() if isinstance(record, Mapping) else record
    index: dict[str, list] = {}
    for key, value in pairs:
        index.setdefault(str(key).strip().lower(), []).append((str(key), value))
    return index


def _pick(index: dict[str, list], names: tuple[str, ...], joiner: str) -> tuple[str | None, str]:
    """(key, text) of the first alias holding a non-empty value.

    Falls back to the first alias present at all (with empty text) so an error can name it; the
    key is None when no alias is present.
    """
    first_present: str | None = None
    for name in names:
        for key, value in index.get(name, ()):
            text = as_text(value, joiner)
            if text is None:
                continue
            if text.strip():
                return key, text
            first_present = first_present or key
    return first_present, ""


def as_text(value: object, joiner: str = ", ") -> str | None:
    """A field value as text, or None when it holds nothing usable.

    null and non-finite numbers are missing; numbers are written out; lists (of authors, of
    paragraphs) are joined; an object such as NewsAPI's {"id": .., "name": ..} gives its name.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        parts = [as_text(item, joiner) for item in value if not isinstance(item, list | tuple)]
        parts = [part.strip() for part in parts if part and part.strip()]
        return joiner.join(parts) if parts else None
    if isinstance(value, Mapping):
        name = value.get("name")
        return name if isinstance(name, str) else None
    return None


def _text(index: dict[str, list]) -> str:
    """The article body; the one field a record cannot do without."""
    key, text = _pick(index, TEXT_FIELDS, "\n\n")
    if text.strip():
        return text
    if key is None:
        unusable = _first_unusable(index, TEXT_FIELDS)
        if unusable:
            bad_key, bad_value = unusable
            raise NewsdeskError(
                f"field '{clip(bad_key, 30)}' holds a JSON {json_kind(bad_value)}, not text; "
                "put the article body there as a string"
            )
        found = ", ".join(clip(k, 30) for k in list(index)[:12]) or "none"
        raise NewsdeskError(
            f"no article text: none of the fields {', '.join(TEXT_FIELDS)} is present "
            f"(found: {found}); put the article body in one of them"
        )
    raise NewsdeskError(
        f"empty article text in field '{clip(key, 30)}'; put the article body there or remove "
        "the record"
    )


def _first_unusable(index: dict[str, list], names: tuple[str, ...]) -> tuple[str, object] | None:
    """A text alias present with a value `as_text` cannot read (an object, a nested list)."""
    for name in names:
        for key, value in index.get(name, ()):
            if value is not None and as_text(value, "\n\n") is None:
                return key, value
    return None


def json_kind(value: object) -> str:
    """The JSON name of a value's type, for messages a JSON author will recognise."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def _date(index: dict[str, list]) -> str:
    """The first usable date alias, parsed; numbers are kept as numbers for epoch handling."""
    for name in DATE_FIELDS:
        for _key, value in index.get(name, ()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                parsed = parse_date(value)
            else:
                text = as_text(value)
                parsed = parse_date(text) if text else ""
            if parsed:
                return parsed
    return ""
