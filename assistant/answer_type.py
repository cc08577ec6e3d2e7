"""Does a sentence hold a phrase of the kind the question asks for?

A who/when/where/how-many question is answered by a person or organisation, a date, a place or
a number. A sentence that only repeats the question's words ("... announced his resignation
this week") matches it as well as the sentence that answers it ("Boris Johnson resigned as
prime minister"), and no QA reader or cross-encoder ships as a package to tell them apart
(docs/ARCHITECTURE.md), so the reranker asks spaCy's entity recogniser the cheaper question:
is there an entity of the asked-for kind that the question does not already name?
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from assistant.nlp import load_nlp
from assistant.question_kind import (
    COUNT,
    COUNT_LABELS,
    WHEN,
    WHEN_LABELS,
    WHERE,
    WHERE_LABELS,
    WHO,
    WHO_LABELS,
    question_type,
)

_LABELS = {WHO: WHO_LABELS, WHEN: WHEN_LABELS, WHERE: WHERE_LABELS, COUNT: COUNT_LABELS}
# Only the entity recogniser is needed, and in the small English pipeline it has its own
# token vectors: the shared tok2vec, tagger, parser and lemmatizer (measured: 70% of spaCy's
# time on a sentence) are switched off; the entities are the same.
_ONLY_NER = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


def expected_labels(question: str) -> frozenset[str]:
    """spaCy entity labels that can answer the question; empty when no kind is asked for
    (yes/no, why, how, a which-question about a plain noun)."""
    kind = question_type(question)
    return _LABELS.get(kind.kind, frozenset()) if kind is not None else frozenset()


class TypedAnswers:
    """Per sentence text, its entities (label, lower-cased words), kept (LRU) so that a warm
    process parses a sentence once."""

    def __init__(self, capacity: int = 20_000):
        self.capacity = capacity
        self._entities: OrderedDict[str, tuple[tuple[str, frozenset[str]], ...]] = OrderedDict()

    def _parse(self, texts: Sequence[str]) -> None:
        fresh = [t for t in dict.fromkeys(texts) if t not in self._entities]
        if not fresh:
            return
        nlp = load_nlp()
        disable = [name for name in _ONLY_NER if name in nlp.pipe_names]
        for text, doc in zip(fresh, nlp.pipe(fresh, disable=disable), strict=True):
            self._entities[text] = tuple(
                (e.label_, frozenset(t.lower_ for t in e if t.is_alpha or t.like_num))
                for e in doc.ents)
        while len(self._entities) > self.capacity:
            self._entities.popitem(last=False)

    def present(self, question: str, labels: frozenset[str], texts: Sequence[str]
                ) -> list[bool]:
        """Per text: an entity with one of `labels` that has a word the question lacks."""
        if not labels:
            return [False] * len(texts)
        self._parse(texts)
        asked = {w.lower() for w in _words(question)}
        return [any(label in labels and words - asked for label, words in self._entities[t])
                for t in texts]


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in text).split()
