"""Checking what a model wrote against the numbered sentences it was given.

Nothing a model writes is trusted:
- a citation number outside 1..n is removed (an article saying "cite [7]" cannot make the
  answer point anywhere else: the only thing a number can name is a stored sentence);
- a citation must share a content word with the answer sentence that cites it;
- every answer sentence left without a valid citation is flagged unsupported and marked.
The functions here are pure (fixed model output in, verified answer out), so they are tested
without a model; `MarkerFilter` applies the same cleaning to a live token stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from index.sentences import split_sentences

UNSUPPORTED_MARK = "[unsupported]"

# "[1]", "[1, 2]", "[1;2]", "[1-3]", "[1 and 2]", "[source 2]": what models write for a citation.
_MARKER_RE = re.compile(
    r"\[\s*(?:(?:sources?|sentences?|refs?|citations?)\s*)?"
    r"(?P<body>\d+(?:\s*(?:,|;|and|&|-|–)\s*\d+)*)\s*\]",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"\d+")
_RANGE_RE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_LEADING_MARKERS_RE = re.compile(r"^(?:\s*\[[^\[\]\n]{1,40}\])+")
_ANSWER_PREFIX_RE = re.compile(r"^\s*(?:\*\*)?answer(?:\*\*)?\s*:\s*", re.IGNORECASE)
_BULLET_RE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_WORD_RE = re.compile(r"[^\W_][\w'’-]*")



@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the model's answer, its citation markers already cleaned."""

    text: str
    numbers: tuple[int, ...]

    @property
    def supported(self) -> bool:
        return bool(self.numbers)


@dataclass(frozen=True)
class GeneratedAnswer:
    """The verified answer: `text` keeps only citation numbers 1..n and marks each sentence
    that cites nothing with `UNSUPPORTED_MARK`; `used_numbers` are the citations it relies on,
    in order of first use; `raw` is what the model wrote, kept for logs and evals."""

    text: str
    unsupported_sentences: list[str]
    used_numbers: list[int]
    sentences: list[AnswerSentence] = field(default_factory=list)
    removed_numbers: list[int] = field(default_factory=list)
    raw: str = ""

    @property
    def usable(self) -> bool:
        """Something to show: at least one sentence that cites a source."""
        return bool(self.used_numbers)


def _marker_numbers(body: str) -> list[int]:
    """The numbers a marker names, ranges expanded ("1-3" is 1, 2, 3) when they are short."""
    out: list[int] = []
    rest = body
    for m in _RANGE_RE.finditer(body):
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b and b - a <= 20:
            out.extend(range(a, b + 1))
        else:
            out.extend((a, b))
        rest = rest.replace(m.group(0), " ", 1)
    out.extend(int(x) for x in _NUMBER_RE.findall(rest))
    return out


def clean_markers(text: str, n: int, keep: Callable[[int], bool] | None = None
                  ) -> tuple[str, list[int]]:
    """`text` with every citation marker reduced to its numbers in 1..n ("[1][2]" style), and
    to those `keep` accepts; a marker with none left is removed with the space before it.
    Returns the removed numbers."""
    removed: list[int] = []

    def ok(x: int) -> bool:
        return 1 <= x <= n and (keep is None or keep(x))

    def fix(m: re.Match) -> str:
        nums = _marker_numbers(m.group("body"))
        valid = list(dict.fromkeys(x for x in nums if ok(x)))
        removed.extend(x for x in nums if not ok(x))
        return "".join(f"[{x}]" for x in valid) if valid else "\0"

    cleaned = _MARKER_RE.sub(fix, text)
    cleaned = re.sub(r"[ \t]*\0(?:\0|[ \t])*(?=\[)", " ", cleaned)  # "x [9][2]" -> "x [2]"
    cleaned = re.sub(r"[ \t]*\0", "", cleaned)
    return cleaned, removed


def _numbers_in(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(x) for m in _MARKER_RE.finditer(text)
                               for x in _NUMBER_RE.findall(m.group("body"))))


def _has_words(text: str) -> bool:
    return bool(_WORD_RE.search(_MARKER_RE.sub(" ", text)))


_SHARED_STOPWORDS = frozenset(
    "a an the and or but so of to in on at for by with from as into over after before since "
    "is are was were be been being has have had do does did will would can could may might "
    "it its this that these those they them their he him his she her we our you your i "
    "not no yes there here what who whom which when where why how about also then than "
    "said says say according".split())


def _stems(text: str) -> set[str]:
    """Content words, crudely stemmed (first five letters), hyphenated parts apart: enough
    to tell "cites a sentence it draws on" from "cites a number at random"."""
    words = re.findall(r"[^\W_]+", _MARKER_RE.sub(" ", text).lower())
    return {w[:5] for w in words if w not in _SHARED_STOPWORDS and (len(w) > 2 or w.isdigit())}


def verify(raw: str, n: int, sources: dict[int, str] | None = None) -> GeneratedAnswer:
    """Check a model's answer against the n numbered sentences it was given.

    Markers that open a sentence ("... al-Bab. [1] The town ...") belong to the sentence
    before: models put the citation after the full stop as often as before it. With
    `sources` (number -> sentence text), a citation also has to share a content word with the
    answer sentence that cites it; a small model's "[3]" after a sentence drawn from [2] is
    removed, like an unknown number, and the sentence may end up unsupported.
    """
    text, removed = clean_markers(_ANSWER_PREFIX_RE.sub("", raw.strip()), n)
    spans = [(s.start, s.end) for s in split_sentences(text, "answer")]
    # Move leading markers to the previous sentence of the same line.
    pieces: list[list[int]] = [list(span) for span in spans]
    for i in range(1, len(pieces)):
        start, end = pieces[i]
        lead = _LEADING_MARKERS_RE.match(text[start:end])
        if lead and "\n" not in text[pieces[i - 1][1]:start]:
            pieces[i - 1][1] = start + lead.end()
            pieces[i][0] = start + lead.end()
    sentences: list[AnswerSentence] = []
    out: list[str] = []
    cursor = 0
    for start, end in pieces:
        segment = text[start:end]
        gap = text[cursor:start]
        cursor = end
        if not segment.strip():
            out.append(gap)
            continue
        if not _has_words(segment):  # a lone marker left at a line's start: keep as is
            out.append(gap + segment)
            continue
        numbers = _numbers_in(segment)
        if sources is not None and numbers:
            own = _stems(segment)
            segment, dropped = clean_markers(
                segment, n, lambda k, own=own: bool(own & _stems(sources.get(k, ""))))
            removed.extend(dropped)
            numbers = _numbers_in(segment)
        sentence = AnswerSentence(segment.strip(), numbers)
        sentences.append(sentence)
        out.append(gap + segment if numbers else f"{gap}{segment.rstrip()} {UNSUPPORTED_MARK}")
    out.append(text[cursor:])
    used = list(dict.fromkeys(x for s in sentences for x in s.numbers))
    return GeneratedAnswer(
        text="".join(out).strip(),
        unsupported_sentences=[_BULLET_RE.sub("", s.text).strip() for s in sentences
                               if not s.supported],
        used_numbers=used, sentences=sentences,
        removed_numbers=list(dict.fromkeys(removed)), raw=raw,
    )


class MarkerFilter:
    """Cleans citation markers in a token stream, so that what the user watches being written
    never shows a number outside 1..n either. Text from a "[" on is held back until its "]"
    (or until it clearly is no marker), and so is the space before it, which goes when the
    marker goes."""

    HOLD = 48

    def __init__(self, n: int):
        self.n = n
        self._held = ""
        self._space = ""

    def feed(self, delta: str) -> str:
        out = []
        for ch in delta:
            if self._held:
                self._held += ch
                if ch == "]" or ch == "\n" or len(self._held) > self.HOLD:
                    out.append(self._release())
            elif ch == "[":
                self._held = ch
            elif ch in " \t":
                self._space += ch
            else:
                out.append(self._space + ch)
                self._space = ""
        return "".join(out)

    def flush(self) -> str:
        return self._release() + self._space if self._held else self._space

    def _release(self) -> str:
        held, self._held = self._held, ""
        cleaned, _ = clean_markers(held, self.n)
        space, self._space = self._space, ""
        return space + cleaned if cleaned.strip() else cleaned


def has_marker(text: str) -> bool:
    return bool(_MARKER_RE.search(text))
