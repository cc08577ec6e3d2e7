"""A headline for every article: a URL is not one.

Scraped dumps often carry the page URL where the title should be (in RealTimeQA every gold
article does) or no title at all. The headline's vector is searched on its own and mixed into
every sentence's similarity (assistant/rerank.py), and its words are indexed with every
sentence for BM25, so a URL there turns the article's topic signal into noise ("https",
"www", "index", "html"). This module decides, once at load time, what the
headline is: the record's title when it is a real one, else the words of the URL's slug
(`.../harbour-bridge-reopens-2/index.html` -> "Harbour bridge reopens 2"), else the page's
first line when it reads like a heading, else nothing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S*$", re.IGNORECASE)
_EXTENSION = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cms|amp)$", re.IGNORECASE)
_SPLIT = re.compile(r"[-_+]+")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
# A slug word made of digits only and this long is a content id, not part of the headline
# (USA Today's `.../slug-words/7592466001/`, many CMSs' `...-1234567`).
_ID_DIGITS = 6
_MIN_SLUG_WORDS = 2
# A first line reads like a heading when it is short and not a sentence.
_MAX_HEADING_WORDS = 16
_MIN_HEADING_WORDS = 3


def is_url(value: str) -> bool:
    """A bare URL (with a scheme, or starting `www.`) and nothing else."""
    return bool(_URLISH.match(value.strip()))


def slug_headline(url: str) -> str:
    """The words of the URL path segment that reads most like a headline ("" if none does).

    Each segment is stripped of a file extension and split on hyphens and underscores; words
    that are long digit runs (content ids) are dropped; the segment with the most words that
    contain letters wins, the later one on a tie (the slug comes after the section names).
    """
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return ""
    best: list[str] = []
    best_words = 0
    for segment in unquote(path).split("/"):
        segment = _EXTENSION.sub("", segment)
        words = [w for w in _SPLIT.split(segment) if w
                 and not (w.isdigit() and len(w) >= _ID_DIGITS)]
        lettered = sum(1 for w in words if _LETTERS.search(w))
        if lettered >= _MIN_SLUG_WORDS and lettered >= best_words:
            best, best_words = words, lettered
    if not best:
        return ""
    text = " ".join(best)
    return text[:1].upper() + text[1:]


def heading_line(text: str) -> str:
    """The body's first non-empty line when it reads like a heading: a few words, no final
    sentence punctuation ("" otherwise)."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        words = len(line.split())
        if (_MIN_HEADING_WORDS <= words <= _MAX_HEADING_WORDS and not is_url(line)
                and line[-1] not in ".!?:;,-–—"):
            return line
        return ""
    return ""


def headline(title: str, url: str, text: str) -> str:
    """The article's headline: its title unless that is empty or a URL; then the URL's slug
    (the record's URL, or the URL given as title), then a heading-like first line."""
    title = " ".join(title.split())
    if title and not is_url(title):
        return title
    for candidate in (url, title):
        if candidate and (is_url(candidate) or "/" in candidate):
            words = slug_headline(candidate)
            if words:
                return words
    return heading_line(text)
