"""Citations: stored sentences shown verbatim in their paragraph, checked before they are shown.

A citation is never re-typed: its text is sliced from the stored article by the stored offsets,
and `verify` refuses any citation whose text is not exactly `article.text[start:end]`.
"""

from __future__ import annotations

import logging

from assistant.retrieve import Candidate
from assistant.spans import answer_span
from assistant.types import Citation
from index.sentences import paragraph_bounds
from index.types import Article

log = logging.getLogger(__name__)


class CitationError(RuntimeError):
    """A citation that is not a verbatim slice of its article: a bug, never shown."""


def make_citation(number: int, candidate: Candidate, article: Article, question: str = "",
                  mark_span: bool = True) -> Citation:
    start, end = candidate.ref.start, candidate.ref.end
    p_start, p_end = paragraph_bounds(article.text, start, end)
    span_start = span_end = None
    text = article.text[start:end]
    if mark_span and question:
        span = answer_span(question, text)
        if span is not None:
            span_start, span_end = start + span.start, start + span.end
    citation = Citation(
        number=number, text=text, article_id=article.id, start=start, end=end,
        title=article.title, source=article.source, published_at=article.published_at,
        url=article.url, paragraph=article.text[p_start:p_end], paragraph_start=p_start,
        score=round(candidate.score, 4), span_start=span_start, span_end=span_end,
    )
    verify(citation, article)
    return citation


def verify(citation: Citation, article: Article) -> None:
    """The verbatim property, checked in code: raise rather than show a re-typed citation."""
    offset = citation.start - citation.paragraph_start
    if (article.id != citation.article_id
            or article.text[citation.start:citation.end] != citation.text
            or citation.paragraph[offset:offset + len(citation.text)] != citation.text
            or article.text[citation.paragraph_start:
                            citation.paragraph_start + len(citation.paragraph)]
            != citation.paragraph):
        raise CitationError(f"citation [{citation.number}] is not verbatim in article "
                            f"{citation.article_id} at {citation.start}:{citation.end}")
    if citation.span_start is not None and not (
            citation.start <= citation.span_start < citation.span_end <= citation.end):
        raise CitationError(f"answer span of citation [{citation.number}] leaves its sentence")
