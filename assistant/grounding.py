"""Is the model's direct answer in the sentences it was given? And is a date or name it gives
whole?

The model answers from numbered sentences, but a 1.5B model also answers from what it
remembers, or names an entity of a neighbouring fact: on RGB's negative passages (on the
question's topic, without its answer) it wrote "Emma Stone" from a cast-list heading that names
no one, and "July 21, 2024" from "slated for July ...". A direct answer none of whose words
occur in the sentences (their text, outlet and date) is such a guess: the answer becomes an
abstention with the sentences shown as the closest ones. Yes/No answers are not checked here:
their words are not in the sentences by nature, and their justification is verified like any
model sentence (`assistant.verify`).

A date answer without its year ("April 29") is completed from the sentence that gives it with
one ("... on April 29, 2015."), quoting that sentence's own words: a date asked for is a whole
date, and small models drop the year as often as they keep it. Likewise a surname ("Swift") is
completed to the full name the cited articles give ("Taylor Swift"): measured on the
MultiHop-RAG dev questions with the packaged 1.5B model, 4 of 130 answers were a bare
surname, and 2 of them became right.

Word matching, not a model: no NLI or QA model ships as a package here (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.nlp import load_nlp, stop_words
from assistant.types import Citation

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH_WORD = {m[:3]: m[:3] for m in _MONTHS} | {m: m[:3] for m in _MONTHS} | {"sept": "sep"}
_YEAR_RE = re.compile(r"\b(?:1[89]|20)\d\d\b")
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
# What numbers and dates carry around them in one text and not in another: "20th", "$1.65".
_SUFFIXES = frozenset({"st", "nd", "rd", "th", "s"})
# At least this share of the answer's words must occur in the sentences: a name given in full
# where a sentence has the surname ("Gal Gadot" / "Gadot reprises her role") is grounded, a
# date of which only the month occurs ("July 21, 2024" / "slated for July") is not.
MIN_SHARE = 0.5


def _words(text: str) -> list[str]:
    """Content words, months as three letters, other words by their first five letters, as
    `assistant.verify` compares an answer sentence with the sentence it cites: "Europe" is
    grounded in "the European Union"."""
    out = []
    ignored = stop_words()
    for token in _TOKEN_RE.findall(text.lower()):
        if token in _MONTH_WORD:  # before the stop words: "may" is one
            out.append(_MONTH_WORD[token])
        elif token not in ignored and token not in _SUFFIXES:
            out.append(token if token[0].isdigit() else token[:5])
    return out


def _date_words(iso: str) -> list[str]:
    """An outlet's ISO date as the words an answer may use for it ("2023-12-15" -> dec 15
    2023): a temporal answer often gives the date from the source line, not the sentence."""
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not match:
        return []
    year, month, day = match.groups()
    return [year, _MONTHS[int(month) - 1][:3], str(int(day))]


def evidence_words(citations: Iterable[Citation]) -> set[str]:
    words: set[str] = set()
    for c in citations:
        words.update(_words(f"{c.text} {c.source} {c.title}"))
        words.update(_date_words(c.published_at))
    return words


def is_grounded(lead: str, citations: Sequence[Citation]) -> bool:
    """True when at least `MIN_SHARE` of the direct answer's content words occur in the
    sentences it was written from (or it has no content word to check)."""
    words = _words(lead)
    if not words:
        return True
    found = evidence_words(citations)
    return sum(w in found for w in words) >= MIN_SHARE * len(words)


def complete_date(lead: str, texts: Iterable[str]) -> str:
    """A date answer without a year, given with one in a sentence, as that sentence gives it
    ("November 12" -> "November 12, 2020"); any other answer unchanged."""
    if (not lead or _YEAR_RE.search(lead)
            or not any(t in _MONTH_WORD for t in _TOKEN_RE.findall(lead.lower()))):
        return lead
    pattern = re.compile(
        r"\s+".join(re.escape(part) for part in lead.split())
        + r"(?:st|nd|rd|th)?,?\s+(?:of\s+)?(?:1[89]|20)\d\d\b", re.IGNORECASE)
    for text in texts:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return lead


# A name's words: capitalised, letters with inner hyphens or apostrophes ("Bankman-Fried").
_NAME_WORD = re.compile(r"[A-Z][\w'’.-]*")
_NAME_LABELS = frozenset({"PERSON", "ORG"})
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")


def complete_name(lead: str, texts: Iterable[str]) -> str:
    """A surname or a short name ("Swift", "Vikings"), given in full in the cited sentences,
    their paragraphs or headlines ("Taylor Swift", "Minnesota Vikings"), as they give it.

    A name asked for is a whole name, as a date is a whole date: the model copies the form a
    sentence happens to use ("While Swift has attended ..."), and a reader (and a scorer) wants
    the person. Only spaCy's person and organisation names count, so a capitalised word that
    opens a sentence ("While Swift") never becomes part of a name; the longest name that ends
    with the lead's words and is met most often wins."""
    words = lead.split()
    if not 1 <= len(words) <= 3 or not all(_NAME_WORD.fullmatch(w) for w in words):
        return lead
    counts: dict[str, int] = {}
    for doc in load_nlp().pipe(dict.fromkeys(t for t in texts if t and words[-1] in t)):
        for ent in doc.ents:
            if ent.label_ not in _NAME_LABELS:
                continue
            name = ent.text.split()
            if name and name[0] == "The":
                name = name[1:]
            if name:
                name[-1] = _POSSESSIVE.sub("", name[-1])
            extra = name[:-len(words)]
            if (len(name) > len(words) and name[-len(words):] == words
                    and all(_NAME_WORD.fullmatch(w) for w in extra)):
                full = " ".join(name)
                counts[full] = counts.get(full, 0) + 1
    if not counts:
        return lead
    return max(counts, key=lambda full: (counts[full], len(full)))
