"""Is a question answered by "Yes" or "No"? The answer's first word depends on it.

A rule, not a model: English yes/no questions open a clause with an auxiliary verb ("Did the
article ...?", "After the report by X on October 12, was there ...?"), while every other
question opens with a wh-word somewhere ("..., which company ...?"). A question that offers
alternatives ("consistent or changed?") is a choice, not a yes/no question. On the MultiHop-RAG
dev queries this finds all 75 yes/no questions and takes 3 of the 75 others for yes/no
(choices worded as a list, "a change or consistency in ...?"); none is missed.

What phrase answers a wh-question (`question_type`: a person or organisation for "who", a date
for "when", ...) is read from spaCy's parse: the answer-span rules (`assistant.spans`) mark only
a phrase of that kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.nlp import load_nlp

_AUX = ("is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|"
        "might|must|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|hasn't|haven't|hadn't")
_WH = "who|whom|whose|what|which|when|where|why|how"
_OPENS_WITH_AUX = re.compile(rf"^(?:{_AUX})\b", re.IGNORECASE)
_OPENS_WITH_WH = re.compile(rf"^(?:{_WH})\b", re.IGNORECASE)
# A later clause that asks: ", was there ...", ", did the ...".
_CLAUSE_AUX = re.compile(rf"[,;:]\s*(?:{_AUX})\s+\w", re.IGNORECASE)
_CLAUSE_WH = re.compile(rf"[,;:]\s*(?:{_WH})\b", re.IGNORECASE)
# "... consistent or changed?", "... before or after ...?": the answer is one of the options.
# A list inside a yes/no question ("injuries or roster changes?") names more than one word
# after its "or"; an offered choice names one.
_ALTERNATIVES = re.compile(r"\bor\s+(?:a\s+|an\s+|the\s+)?[\w-]+\s*\?\s*$|\bbefore or after\b",
                           re.IGNORECASE)


def is_yes_no(question: str) -> bool:
    q = " ".join(question.split())
    if not q or _OPENS_WITH_WH.match(q):
        return False
    if _ALTERNATIVES.search(q) and not re.search(r"\bor not\b", q, re.IGNORECASE):
        return False
    if _OPENS_WITH_AUX.match(q):
        return True
    return bool(_CLAUSE_AUX.search(q)) and not _CLAUSE_WH.search(q)


# --- wh-question types ---------------------------------------------------------------------

WHO, WHEN, WHERE, COUNT, NOUN = "who", "when", "where", "count", "noun"

WHO_LABELS = frozenset({"PERSON", "ORG", "NORP"})
WHEN_LABELS = frozenset({"DATE", "TIME"})
WHERE_LABELS = frozenset({"GPE", "LOC", "FAC"})
COUNT_LABELS = frozenset({"CARDINAL", "MONEY", "QUANTITY", "PERCENT"})
# Labels that never name an actor, even when the parser makes them a subject.
NOT_ACTOR_LABELS = WHEN_LABELS | COUNT_LABELS | frozenset({"ORDINAL"})

# "which/what + noun": the noun says which wh-type is really asked. Other nouns are matched
# literally (see `_fits`).
_NOUN_TYPES = {
    WHEN: {"year", "date", "day", "month", "time", "week", "season", "decade", "century",
           "hour", "weekday"},
    WHERE: {"city", "country", "town", "village", "place", "region", "province", "state",
            "capital", "area", "location", "nation", "continent", "island", "stadium",
            "venue", "district", "territory"},
    WHO: {"person", "man", "woman", "people", "player", "minister", "president", "leader",
          "official", "company", "firm", "organisation", "organization", "group", "team",
          "club", "party", "agency", "singer", "ceo", "executive", "founder", "analyst",
          "spokesman", "spokeswoman", "journalist", "judge", "lawyer", "investor", "startup",
          "network", "newspaper", "outlet", "publication", "government", "military",
          "nationality", "athlete", "celebrity", "rapper", "band", "exchange", "bank"},
}

_WH_WORDS = frozenset({"who", "whom", "whose", "when", "where", "which", "what", "how", "why"})


@dataclass(frozen=True)
class QuestionType:
    """What kind of phrase answers the question.

    `kind` is who/when/where/count, or "noun" for a which/what + noun question whose noun maps
    to none of them; `noun` is the asked-for or counted noun's lemma; `object` is set for
    "who(m) did X verb", whose answer is the verb's object rather than its subject.
    """

    kind: str
    noun: str = ""
    object: bool = False


def question_type(question: str, qdoc=None) -> QuestionType | None:
    """Only the first wh-word counts: later ones sit in subordinate clauses ("... when ...").

    Bare "what"/"which", "why" and "how" (without many/much) have no phrase-type answer and
    yes/no questions no wh-word at all: both give None, so no span is marked.
    """
    doc = qdoc if qdoc is not None else load_nlp()(question)
    wh = next((t for t in doc if t.lower_ in _WH_WORDS), None)
    if wh is None:
        return None
    word = wh.lower_
    nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if word in {"who", "whom", "whose"}:
        return QuestionType(WHO, object=wh.dep_ in {"dobj", "pobj", "dative"})
    if word == "when":
        return QuestionType(WHEN)
    if word == "where":
        return QuestionType(WHERE)
    if word == "how" and nxt is not None and nxt.lower_ in {"many", "much"}:
        noun = next((t for t in doc[nxt.i + 1:] if t.pos_ in {"NOUN", "PROPN"}), None)
        return QuestionType(COUNT, noun.lemma_.lower() if noun is not None else "")
    if word not in {"which", "what"}:
        return None
    # which/what + noun: the noun it determines, else the noun right after it.
    noun = wh.head if wh.dep_ == "det" and wh.head.pos_ == "NOUN" else None
    if noun is None:
        noun = next((t for t in doc[wh.i + 1:wh.i + 4] if t.pos_ == "NOUN"), None)
        between = doc[wh.i + 1:noun.i] if noun is not None else []
        if noun is None or any(t.pos_ not in {"ADJ", "PROPN"} for t in between):
            return None
    lemma = noun.lemma_.lower()
    for kind, nouns in _NOUN_TYPES.items():
        if lemma in nouns or noun.lower_ in nouns:
            return QuestionType(kind, lemma)
    return QuestionType(NOUN, lemma)
