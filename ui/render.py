"""Plain-text rendering of an answer for the terminal."""

from __future__ import annotations

from assistant.types import Answer, Citation


def _date(c: Citation) -> str:
    return c.published_at[:10] if c.published_at else "undated"


def render_answer(answer: Answer, include_text: bool = True) -> str:
    """`include_text=False` after the text was already streamed to the terminal."""
    lines = []
    if answer.standalone_question != answer.question:
        lines.append(f"(searched for: {answer.standalone_question})")
    if include_text:
        lines.append(answer.text)
    if answer.notice:
        lines.append(f"note: {answer.notice}")
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            mark = f"  answer: {c.span_text}" if c.span_text else ""
            lines.append(f"[{c.number}] {c.title or '(untitled)'} — {c.source or 'unknown source'}"
                         f", {_date(c)}{mark}")
            if answer.model:  # a model's wording proves nothing: show the stored sentence
                lines.append(f"    \"{c.text}\" (characters {c.start}-{c.end})")
    if answer.closest:
        lines.append("")
        lines.append("Closest sentences (closest, not an answer):")
        for c in answer.closest:
            lines.append(f"  - \"{c.text}\" — {c.title or '(untitled)'}, {c.source}, {_date(c)}")
    return "\n".join(lines)
