"""What an answer is made of, as it crosses into the front ends and the evals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Citation:
    """A numbered citation: a stored sentence, verbatim, with its article and paragraph.

    `start`/`end` index the article text; `paragraph_start` is where `paragraph` begins in it,
    so the sentence sits at `paragraph[start - paragraph_start : end - paragraph_start]`.
    `span_start`/`span_end` (article offsets too) mark the answer inside the sentence, if a
    rule found one.
    """

    number: int
    text: str
    article_id: str
    start: int
    end: int
    title: str
    source: str
    published_at: str
    url: str
    paragraph: str
    paragraph_start: int
    score: float = 0.0
    span_start: int | None = None
    span_end: int | None = None

    @property
    def span_text(self) -> str:
        if self.span_start is None or self.span_end is None:
            return ""
        return self.paragraph[self.span_start - self.paragraph_start:
                              self.span_end - self.paragraph_start]


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str
    citations: list[Citation]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    # When abstaining: the closest sentences, shown as "closest, not an answer".
    closest: list[Citation] = field(default_factory=list)
    notice: str = ""
    # Why the answer abstains ("" when it answers): shown beside the no-evidence message.
    abstain_reason: str = ""
    # The direct answer that opens `text` ("Yes", "Government forces"), when one was found.
    direct_answer: str = ""
    # Set when a model wrote `text` from the citations (see assistant/generate.py): which
    # model, and its sentences that cite no source (marked "[unsupported]" in `text`).
    model: str = ""
    unsupported: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out["answer"] = out.pop("text")
        for c, obj in zip(out["citations"] + out["closest"], self.citations + self.closest,
                          strict=True):
            c["answer_span"] = obj.span_text or None
        return out
