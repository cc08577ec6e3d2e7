"""When to say "the corpus does not answer this" instead of guessing.

Two signals, both measured on the dev data (MultiHop-RAG null queries against answerable ones):
- weak evidence: the best sentence's similarity to the question is under a calibrated
  threshold;
- absent names: the question names a person, company or outlet (a capitalised term) that
  occurs nowhere in the corpus, not in any sentence, headline or source. A question about
  "Indrani Roy" cannot be answered by a corpus that never mentions her, however similar its
  sentences sound.
"""

from __future__ import annotations

import re

from index.lexical_store import LexicalStore, tokenize

_WORD = re.compile(r"[A-Za-z][\w'’.-]*")
# Capitalised words that are not names: question words, and words that start sentences.
_NOT_NAMES = {
    "who", "what", "when", "where", "which", "why", "how", "whose", "whom", "did", "does",
    "do", "is", "are", "was", "were", "has", "have", "had", "can", "could", "would", "will",
    "should", "after", "before", "between", "considering", "based", "according", "in", "on",
    "the", "a", "an", "and", "or", "but", "if", "of", "for", "from", "to", "by", "with", "as",
    "at", "this", "that", "these", "those", "i", "it", "its", "they", "there", "not", "yes",
    "no", "both", "while", "then", "also", "ceo", "cto", "us", "uk", "eu",
}


def named_terms(question: str) -> list[str]:
    """Capitalised words that are not the first word of the question and not function words."""
    words = _WORD.findall(question)
    out = []
    for i, word in enumerate(words):
        clean = word.strip(".'’-")
        if not clean or not clean[0].isupper() or clean.lower() in _NOT_NAMES:
            continue
        if i == 0:
            continue
        out.append(clean)
    return out


def unknown_names(question: str, lexical: LexicalStore) -> list[str]:
    """The question's names that the corpus never mentions (checked as BM25 terms)."""
    unknown: dict[str, str] = {}
    names = [t for t in named_terms(question) if not any(ch.isdigit() for ch in t)]
    # (digits: "T22" of an ISO timestamp, a model number: not a name)
    terms = tokenize(names)
    known = lexical.known([t for tokens in terms for t in tokens])
    for term, tokens in zip(names, terms, strict=True):
        if tokens and not any(t in known for t in tokens):
            unknown.setdefault(tokens[0], term.removesuffix("'s").removesuffix("’s"))
    return list(unknown.values())
