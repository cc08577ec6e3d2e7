"""Page furniture: lines of a scraped page that are not the story.

Scraped news pages keep their navigation and newsletter furniture: datelines alone on a line
("CNN —"), section heads in capitals ("TODAY'S QUOTE"), sign-up and "Read more" prompts,
photo and contribution credits, lists of state names. They are short, so they win on BM25's
length normalisation and on the similarity of a headline-prefixed fragment, and they crowd
the story out of the ranking. They stay in the stored text (offsets and citations are
verbatim), but retrieval does not rank them.

Two generic tests decide it: the sentence's own shape (this module), and recurrence (the same
line in several articles, counted by the sentence index through `text_key`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Recurring in this many distinct articles makes a short line furniture.
RECURRING_ARTICLES = 3
# Recurrence only marks short lines: a long sentence quoted by several outlets (a wire story,
# a statement) is content.
RECURRING_MAX_WORDS = 25
# Fewer words than this and no closing punctuation: a label, not a statement ("He died." stays).
_MIN_WORDS = 4
_CLOSING = ".!?\"'”’)"

_PROMPTS = re.compile(
    r"\b(?:sign up|subscribe|newsletter|read more|click here|learn more|see more|"
    r"follow us|follow (?:him|her|them) on|download the|get the app|watch:|listen:|"
    r"contributing:|photo(?:graph)? by|photos?:|image:|credit:|getty images|"
    r"all rights reserved|copyright|terms of (?:use|service)|privacy policy|"
    r"advertisement|sponsored|>>>)",
    re.IGNORECASE)
_PROMPT_MAX_WORDS = 30
_LETTER = re.compile(r"[^\W\d_]")


def text_key(sentence: str) -> int:
    """A signed 64-bit key of the sentence's folded text: equal lines in different articles
    share it (case, accents of form, spacing and outer punctuation ignored)."""
    folded = " ".join(unicodedata.normalize("NFKC", sentence).casefold().split())
    folded = folded.strip(" .,;:!?\"'()[]-–—>*•|")
    digest = hashlib.blake2b(folded.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def is_furniture(sentence: str) -> bool:
    """Whether the sentence's shape alone makes it page furniture.

    - a label: under four words and no closing punctuation (a dateline, a name, "Read More",
      a numbered list item);
    - a section head: no lower-case letters at all ("BREAKFAST BROWSE");
    - a prompt or credit: sign-up, "read more", photo/contribution credits, copyright, in a
      short line (a long sentence that mentions a newsletter is still a sentence).
    """
    text = " ".join(sentence.split())
    if not _LETTER.search(text):
        return True
    words = text.split()
    if len(words) < _MIN_WORDS and text[-1] not in _CLOSING:
        return True
    letters = [ch for ch in text if ch.isalpha()]
    if letters and not any(ch.islower() for ch in letters):
        return True
    return len(words) <= _PROMPT_MAX_WORDS and bool(_PROMPTS.search(text))


def short_enough_to_recur(sentence: str) -> bool:
    return len(sentence.split()) <= RECURRING_MAX_WORDS
