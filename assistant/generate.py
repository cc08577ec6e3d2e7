"""Written answers, attributed first: a model answers from evidence that was already chosen.

The pipeline picks and verifies the sentences (`compose`, `cite`); only then is a model asked
to answer from exactly those sentences, numbered [1]..[n], each with its outlet and date. It
replies in a fixed two-part form, "Answer: <Yes/No, or the name, date, number asked for>" and
"Because: <a short justification citing [n]>": small models (1.5B parameters here) follow a
form far better than an instruction to "start with the answer", and the form tells apart the
direct answer (shown first), its justification (verified like every model sentence)
and "Unknown" (the model found no answer in the sentences: an abstention, not a guess).

If the model fails, times out, or writes nothing that cites a source, the caller keeps the
extractive answer and shows a one-line notice (`answer_with_model`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from assistant.compose import NO_EVIDENCE
from assistant.grounding import complete_date, complete_name, is_grounded
from assistant.model_client import GenerationError, Generator
from assistant.prompts import answer_messages
from assistant.question_kind import is_yes_no
from assistant.types import Answer, Citation
from assistant.verify import UNSUPPORTED_MARK, GeneratedAnswer, MarkerFilter, verify

FALLBACK_SUFFIX = "showing the cited sentences instead"
MAX_ANSWER_TOKENS = 160
MODEL_FOUND_NO_ANSWER = "the cited sentences do not answer it"

_LABELS = ("answer", "because", "reason", "justification")
_LABEL_RE = re.compile(rf"^\s*(?:\*\*)?({'|'.join(_LABELS)})(?:\*\*)?\s*:(?:\*\*)?",
                       re.IGNORECASE)
_UNKNOWN_RE = re.compile(
    r"^\W*(?:unknown|not (?:stated|mentioned|given|known|specified)|insufficient|"
    r"(?:the )?(?:sentences|sources) do not (?:say|answer|mention|state)|n/?a\b|none\b|"
    r"cannot (?:be )?(?:determined|answered))", re.IGNORECASE)
_YES_NO_RE = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class WrittenAnswer:
    """What the model wrote, split and checked: `lead` is the direct answer ("Yes", "Government
    forces"), `body` the verified justification; `found_no_answer` when the lead is "Unknown";
    `ungrounded` when the lead's words are not in the sentences (`assistant.grounding`)."""

    lead: str
    body: GeneratedAnswer
    found_no_answer: bool
    ungrounded: bool = False

    @property
    def text(self) -> str:
        return "\n\n".join(x for x in (self.lead, self.body.text) if x)

    @property
    def usable(self) -> bool:
        """Something to show: a justification that cites a source, or a direct answer whose
        justification is shown marked unsupported (a small model often runs out of words, or
        forgets the marker, after a right "Yes"), or the model's "Unknown"."""
        return self.found_no_answer or self.body.usable or bool(
            self.lead and self.body.sentences)


class LabelFilter:
    """Removes the form's labels ("Answer:", "Because:") from the streamed text. The start of
    each line is held back until it is clear whether a label opens it (16 characters at most),
    and the spaces after a label are dropped."""

    HOLD = 16

    def __init__(self):
        self._line = ""  # the start of the current line, while undecided
        self._deciding = True
        self._after_label = False

    def feed(self, delta: str) -> str:
        out = []
        for ch in delta:
            if self._deciding:
                self._line += ch
                match = _LABEL_RE.match(self._line)
                if match:
                    self._deciding, self._after_label = False, True
                    ch, self._line = self._line[match.end():], ""
                elif ch == "\n" or len(self._line) > self.HOLD or not _could_be_label(self._line):
                    self._deciding = ch == "\n"
                    out.append(self._line)
                    self._line = ""
                    continue
                else:
                    continue
            if self._after_label and ch in " \t*":
                continue
            self._after_label = False
            out.append(ch)
            if ch == "\n":
                self._deciding = True
        return "".join(out)

    def flush(self) -> str:
        tail, self._line = self._line, ""
        return tail


def _could_be_label(prefix: str) -> bool:
    words = prefix.strip().strip("*").strip().lower()
    return any(label.startswith(words) for label in _LABELS)


def split_written(raw: str) -> tuple[str, str]:
    """The lead (after "Answer:") and the justification (the rest, labels removed)."""
    lead, body, seen_answer = "", [], False
    for line in raw.strip().splitlines():
        match = _LABEL_RE.match(line)
        label = match.group(1).lower() if match else ""
        content = line[match.end():].strip().strip("*").strip() if match else line.strip()
        if label == "answer" and not seen_answer:
            lead, seen_answer = content, True
        elif content:
            body.append(content)
    return lead, "\n".join(body)


def _clean_lead(lead: str, yes_no: bool) -> str:
    """The direct answer alone: no markers, and no outlet date copied from the sources' list
    ("Google, 2023-12-15")."""
    lead = re.sub(r"\s*\[[^\]]{1,20}\]", "", lead)
    lead = re.sub(r"(?:,?\s*\(?\d{4}-\d{2}-\d{2}\)?)+\s*,?\s*$", "", lead)
    lead = lead.strip().rstrip(".,;").strip()
    if yes_no:
        match = _YES_NO_RE.match(lead)
        if match:
            return match.group(1).capitalize()
    return lead


def written_answer(raw: str, citations: Sequence[Citation], question: str) -> WrittenAnswer:
    """Check a model's reply: markers in range and relevant, unsupported sentences marked, the
    lead recognised as an answer or as "Unknown"."""
    n = max(c.number for c in citations)
    lead, body = split_written(raw)
    found_no_answer = bool(_UNKNOWN_RE.match(lead)) if lead else bool(_UNKNOWN_RE.match(body))
    checked = verify(body or lead, n, {c.number: c.text for c in citations})
    if not body:  # a lead alone: it is the whole answer and must cite like any sentence
        lead = ""
    yes_no = is_yes_no(question)
    lead = _clean_lead(lead, yes_no)
    ungrounded = False
    if lead and not yes_no and not found_no_answer:
        lead = complete_date(lead, (c.text for c in citations))
        lead = complete_name(lead, (t for c in citations for t in (c.text, c.paragraph, c.title)))
        ungrounded = not is_grounded(lead, citations)
    return WrittenAnswer(lead, checked, found_no_answer, ungrounded)


def generate_answer(generator: Generator, question: str, citations: Sequence[Citation],
                    max_tokens: int = MAX_ANSWER_TOKENS) -> Iterator[str | WrittenAnswer]:
    """Yields the answer's text as it is written (labels and markers already cleaned), then,
    last, the checked `WrittenAnswer`. Raises `GenerationError` when there is nothing usable,
    so the caller keeps the extractive answer; deltas already yielded are then withdrawn."""
    if not citations:
        raise GenerationError("there is no cited sentence to write an answer from")
    n = max(c.number for c in citations)
    labels, markers = LabelFilter(), MarkerFilter(n)
    parts: list[str] = []
    messages = answer_messages(question, citations, is_yes_no(question))
    for delta in generator.stream(messages, max_tokens):
        parts.append(delta)
        shown = markers.feed(labels.feed(delta))
        if shown:
            yield shown
    tail = markers.feed(labels.flush()) + markers.flush()
    if tail:
        yield tail
    raw = "".join(parts)
    if not raw.strip():
        raise GenerationError(f"the model ({generator.name}) returned no answer")
    result = written_answer(raw, citations, question)
    if not result.usable:
        raise GenerationError(f"the model's answer ({generator.name}) cited none of the sources")
    yield result


def run_generation(generator: Generator, question: str, citations: Sequence[Citation],
                   on_delta: Callable[[str], None] | None = None) -> WrittenAnswer:
    """`generate_answer` for callers that want only the result (deltas go to `on_delta`)."""
    result: WrittenAnswer | None = None
    for item in generate_answer(generator, question, citations):
        if isinstance(item, WrittenAnswer):
            result = item
        elif on_delta is not None:
            on_delta(item)
    if result is None:  # pragma: no cover - generate_answer always ends with one or raises
        raise GenerationError("the model gave no answer")
    return result


def answer_with_model(generator: Generator, answer: Answer,
                      on_delta: Callable[[str], None] | None = None
                      ) -> tuple[Answer, WrittenAnswer | None]:
    """The extractive `answer` answered by the model, or unchanged with a one-line notice (and
    None for the result).

    An abstention stays an abstention: the decision that the corpus has no answer is made first,
    by retrieval, and a model asked anyway would only be tempted to invent one. When the model
    says the cited sentences do not answer the question, the answer becomes an abstention too,
    with those sentences shown as the closest ones. Citations keep their numbers: the streamed
    text already showed them, and every one is a verified stored sentence.
    """
    if answer.abstained or not answer.citations:
        return answer, None
    started = time.perf_counter()
    try:
        result: WrittenAnswer | None = run_generation(
            generator, answer.standalone_question, answer.citations, on_delta)
    except GenerationError as exc:
        result = None
        changes: dict = {"notice": f"{exc}; {FALLBACK_SUFFIX}."}
    else:
        if result.found_no_answer or result.ungrounded:
            reason = MODEL_FOUND_NO_ANSWER
            if result.ungrounded:
                reason = (f'the model answered "{result.lead}", '
                          "which none of the cited sentences says")
            changes = {"text": f"{NO_EVIDENCE} ({reason})", "abstained": True,
                       "citations": [], "closest": answer.citations, "direct_answer": "",
                       "abstain_reason": reason}
        else:
            changes = {"text": result.text, "direct_answer": result.lead}
            unsupported = result.body.unsupported_sentences
            if unsupported:
                count = len(unsupported)
                changes["notice"] = (
                    f"{count} sentence{'s' if count > 1 else ''} of the model's answer "
                    f"cite{'' if count > 1 else 's'} no source (marked {UNSUPPORTED_MARK})")
    changes["timings"] = {**answer.timings,
                          "generate_ms": round((time.perf_counter() - started) * 1000, 1)}
    return replace(answer, **changes), result
