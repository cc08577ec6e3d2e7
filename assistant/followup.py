"""Turn a follow-up question into one that retrieval can answer on its own, by rule.

Retrieval sees one query, not the conversation: "and when did that start?" finds nothing
about al-Bab unless the query says al-Bab. When a model writes the answers it rewrites the
follow-up (assistant/model_followup.py); these rules are the rewrite without a model, and its
fallback. They are small and predictable, and the result is shown to the user as
"searched for: ...": it keeps the user's own words and adds the context in plain
view, "When did that start? (about: government forces besieged al-Bab)", rather than
paraphrasing the question into something the user did not ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.nlp import load_nlp


@dataclass(frozen=True)
class Turn:
    """What an earlier turn leaves behind: the question as typed, the question as searched
    (`rewrite`'s result) and the marked answer span, if any."""

    question: str
    standalone: str
    answer_span: str = ""


CONTEXT_PREFIX = " (about: "
_CONTEXT_RE = re.compile(r"^(?P<main>.*?) \(about: (?P<context>.*)\)$", re.S)

# Longest first, so "and then" is stripped whole and "what about" is not read as "what".
_CONNECTIVES = ("and then", "what about", "how about", "and", "but", "also", "so")
_STRIPPED = ("and then", "and", "but", "also", "so")
_CONNECTIVE_RE = re.compile(rf"^\s*({'|'.join(_CONNECTIVES)})\b[\s,]*", re.I)
_STRIP_RE = re.compile(rf"^\s*({'|'.join(_STRIPPED)})\b[\s,]*", re.I)
_ABOUT_RE = re.compile(r"^\s*(what|how)\s+about\s+(?P<rest>.+?)\s*[?.!]*\s*$", re.I)

_REFERRING = frozenset({"it", "its", "this", "these", "those", "they", "them", "their", "he",
                        "him", "his", "she", "her", "there", "that"})
_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT",
                          "WORK_OF_ART", "LAW"})
# Capitalised words that are titles or common nouns, not names: "is he still the CEO?"
_CAPITALISED_COMMON = frozenset({"i", "ceo", "cfo", "cto", "coo", "ai", "tv", "pm", "mp", "ipo",
                                 "vp", "gm", "ok"})

_WORD_RE = re.compile(r"\w[\w'’-]*")
_AUX_LEMMAS = frozenset({"be", "do", "have", "will", "would", "can", "could", "shall", "should",
                         "may", "might", "must"})


def _names(doc) -> list[tuple[int, int]]:
    """Token ranges of the names a question mentions: spaCy's name entities, runs of proper
    nouns, and words capitalised mid-sentence (users type names, spaCy misses some)."""
    marks = [False] * len(doc)
    for ent in doc.ents:
        if ent.label_ in _NAME_LABELS:
            for i in range(ent.start, ent.end):
                marks[i] = True
    for tok in doc:
        if tok.lower_ in _CAPITALISED_COMMON or not any(ch.isalpha() for ch in tok.text):
            continue
        mid_capital = tok.i > 0 and any(ch.isupper() for ch in tok.text)
        if tok.pos_ == "PROPN" and tok.i > 0 or mid_capital:
            marks[tok.i] = True
    # Hyphens inside a name ("al-Bab") belong to it.
    for i in range(1, len(doc) - 1):
        if doc[i].text == "-" and marks[i - 1] and marks[i + 1]:
            marks[i] = True
    runs, start = [], None
    for i, marked in enumerate([*marks, False]):
        if marked and start is None:
            start = i
        elif not marked and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _refers_back(doc) -> bool:
    """A pronoun or demonstrative that points at something said before. "that" as a
    conjunction or relative ("who said that the war ...") does not."""
    text = doc.text.lower()
    if re.search(r"\bthe same\b", text):
        return True
    for tok in doc:
        word = tok.lower_
        if word not in _REFERRING:
            continue
        if word == "that" and tok.tag_ != "DT":
            continue
        return True
    return False


def is_follow_up(question: str) -> bool:
    """A question that leans on the conversation: it opens with a connective ("and", "but",
    "also", "so", "and then", "what/how about"), or it is very short (three words or fewer),
    or it refers back with a pronoun/demonstrative; the last two only when it names nothing
    of its own ("Who is Messi?" is short but complete)."""
    if not question.strip():
        return False
    if _CONNECTIVE_RE.match(question):
        return True
    doc = load_nlp()(question)
    if _names(doc):
        return False
    return len(_WORD_RE.findall(question)) <= 3 or _refers_back(doc)


def _split_context(standalone: str) -> tuple[str, str]:
    m = _CONTEXT_RE.match(standalone.strip())
    if m:
        return m.group("main"), m.group("context")
    return standalone.strip(), ""


def _statement(question: str, answer: str) -> str:
    """The question turned into the topic it is about: the wh-word and its auxiliaries go, and
    the answer takes the wh-word's place when it was the subject ("Who besieged al-Bab?" +
    "government forces" -> "government forces besieged al-Bab"), else it is appended."""
    doc = load_nlp()(question.strip())
    toks = [t for t in doc if not (t.is_punct and t.i == len(doc) - 1)]
    if not toks:
        return answer
    wh = next((t for t in toks[:3] if t.tag_ in {"WP", "WRB", "WDT", "WP$"}), None)
    start = end = 0
    subject = False
    if wh is not None:
        start, end = wh.i, wh.i + 1
        if start == 1 and doc[0].tag_ == "IN":
            start = 0  # "Since when ..."
        if wh.lower_ == "how" and end < len(doc) and doc[end].lower_ in {"many", "much"}:
            end += 1  # the counted noun stays: "how many soldiers" -> "soldiers ..."
        elif wh.dep_ == "det" and wh.head.i > wh.i:
            end = wh.head.i + 1  # "which company"
            subject = wh.head.dep_ in {"nsubj", "nsubjpass"}
        else:
            subject = wh.dep_ in {"nsubj", "nsubjpass"}
            if end < len(doc) and doc[end].lower_ == "else":
                end += 1
    if subject and answer:
        words = [answer, doc[end:toks[-1].i + 1].text] if end <= toks[-1].i else [answer]
        return " ".join(w for w in words if w)
    rest = [t for t in toks if t.i < start or t.i >= end]
    while rest and rest[0].lemma_.lower() in _AUX_LEMMAS and rest[0].pos_ in {"AUX", "VERB"} \
            and len(rest) > 1:
        rest = rest[1:]
    text = "".join(t.text_with_ws for t in rest).strip()
    return f"{text} — {answer}" if answer and text else (text or answer)


def _topic(history: list[Turn]) -> tuple[str, Turn | None]:
    """The conversation's topic and the turn that set it.

    The topic is set by the latest turn that stood on its own (its search had no added
    context), so a chain of follow-ups keeps the original subject instead of a chain of
    pronouns; the last turn's answer is added when that turn was a follow-up.
    """
    base = next((t for t in reversed(history) if not _split_context(t.standalone)[1]), None)
    if base is None:
        context = _split_context(history[0].standalone)[1]
    else:
        context = _statement(_split_context(base.standalone)[0], base.answer_span.strip())
    last = history[-1]
    answer = last.answer_span.strip()
    if last is not base and answer and answer.lower() not in context.lower():
        context = f"{context} — {answer}" if context else answer
    return context, base


def _label(doc, run: tuple[int, int]) -> str:
    return next((e.label_ for e in doc.ents if e.start < run[1] and run[0] < e.end), "")


def _swap_name(question: str, base: Turn | None) -> str | None:
    """"What about Raqqa?" after "Who besieged al-Bab?" asks "Who besieged Raqqa?": done only
    when the user names exactly one thing and it is clear which name of the earlier question
    it replaces; anything less certain gets the topic appended instead."""
    m = _ABOUT_RE.match(question)
    if base is None or m is None:
        return None
    nlp = load_nlp()
    new = re.sub(r"^the\s+", "", m.group("rest"), flags=re.I)
    new_doc = nlp(f"What about {new}?")
    names = _names(new_doc)
    if len(names) != 1 or new_doc[names[0][0]:names[0][1]].text != new:
        return None
    old_main = _split_context(base.standalone)[0]
    old_doc = nlp(old_main)
    old_names = _names(old_doc)
    if len(old_names) > 1:
        # Several names ("Why was Sam Altman fired from OpenAI?"): swap the only one of the
        # same kind ("what about Greg Brockman?" replaces the person, not the company).
        kind = _label(new_doc, names[0])
        old_names = [n for n in old_names if kind and _label(old_doc, n) == kind]
    if len(old_names) != 1:
        return None
    s, e = old_names[0]
    span = old_doc[s:e]
    return old_main[:span.start_char] + new + old_main[span.end_char:]


def _content(text: str) -> set[str]:
    return {t.lower_ for t in load_nlp()(text) if t.is_alpha and not t.is_stop}


def rewrite(question: str, history: list[Turn]) -> str:
    """The question as retrieval should see it: unchanged unless it is a follow-up, else the
    user's words (minus a leading "and"/"but"/"also"/"so") with the topic appended, or, for
    "what about X?", the previous question asked about X."""
    if not history or not is_follow_up(question):
        return question
    topic, base = _topic(history)
    swapped = _swap_name(question, base)
    if swapped is not None:
        return swapped
    body = _STRIP_RE.sub("", question).strip() or question.strip()
    body = body[0].upper() + body[1:]
    if body[-1] not in "?.!":
        body += "?"
    if not topic or _content(topic) <= _content(body):
        return body
    return f"{body}{CONTEXT_PREFIX}{topic})"
