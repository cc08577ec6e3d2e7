"""Turning a parsed record into an `Article` with a stable identity.

Two ids matter: `key` names *which* article this is (so an edited version replaces the old
one) and `id` names *this version* of it (so re-indexing identical content is a no-op).
"""

from __future__ import annotations

import hashlib
import unicodedata

from index.headlines import headline
from index.types import Article


def normalise_text(text: str) -> str:
    """Line endings unified and outer whitespace trimmed; everything else kept verbatim.

    The stored text is the normalised one, and every offset points into it, so citations stay
    exact whatever the input's line endings were.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _fold(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


def article_key(*, url: str, source: str, title: str, origin: str) -> str:
    """The identity of an article across versions: its URL, else source+title, else its origin."""
    if url.strip():
        return "url:" + url.strip()
    if title.strip():
        return "title:" + _fold(source) + "|" + _fold(title)
    return "origin:" + origin


def new_article(
    *,
    title: str,
    text: str,
    source: str = "",
    url: str = "",
    author: str = "",
    category: str = "",
    published_at: str = "",
    origin: str = "",
) -> Article:
    text = normalise_text(text)
    # A URL or an empty title is replaced by a derived headline (index/headlines.py): the
    # headline's vector and words stand for the topic of every sentence.
    # The key keeps the record's own title, so identity rules do not depend on derived text.
    key = article_key(url=url, source=source, title=" ".join(title.split()), origin=origin)
    title = headline(title, url, text)
    digest = hashlib.sha256()
    for part in (key, title, source.strip(), url.strip(), author.strip(), category.strip(),
                 published_at.strip(), text):
        digest.update(unicodedata.normalize("NFC", part).encode("utf-8"))
        digest.update(b"\x1f")
    return Article(
        id=digest.hexdigest()[:20],
        key=key,
        title=title,
        text=text,
        source=source.strip(),
        url=url.strip(),
        author=author.strip(),
        category=category.strip(),
        published_at=published_at.strip(),
        origin=origin,
    )
