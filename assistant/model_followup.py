"""A follow-up rewritten by the model ("and when did that start?" -> a standalone question).

Used when a model is at hand; the rule-based rewrite (`assistant.followup`) is the fallback
whenever the model fails or its rewrite drops the user's own words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.model_client import GenerationError, Generator
from assistant.prompts import rewrite_messages
from assistant.verify import has_marker

MAX_REWRITE_TOKENS = 64
_WORD_RE = re.compile(r"[^\W_][\w'’-]*")
_STOPWORDS = frozenset(
    "a an the and or but so of to in on at for by with from is are was were be been do does "
    "did it its this that these those they them their he him his she her there what who whom "
    "which when where why how about also then".split())
_QUOTES = "\"'“”‘’`"


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD_RE.findall(text) if w.lower() not in _STOPWORDS}


def rewrite_follow_up(generator: Generator, question: str, history_turns: Sequence
                      ) -> str | None:
    """A standalone version of a follow-up, written by the model; None when the model fails
    or its rewrite drops the user's own words."""
    if not history_turns:
        return None
    try:
        raw = "".join(generator.stream(rewrite_messages(question, history_turns),
                                       MAX_REWRITE_TOKENS))
    except GenerationError:
        return None
    line = next((ln for ln in raw.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:rewritten|standalone)?\s*question\s*:\s*", "", line, flags=re.I)
    line = line.strip().strip(_QUOTES).strip()
    if not line or len(line) > 300 or has_marker(line):
        return None
    own = _content_words(question)
    if own and len(own & _content_words(line)) * 2 < len(own):
        return None
    return line
