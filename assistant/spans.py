"""Mark the words of a cited sentence that answer the question.

The cited sentence is the proof; the span is only a highlight on top of it. A wrong highlight
misleads a reader who trusts it, a missing one costs nothing, so every rule here prefers to
return None over guessing. No extractive reader (a SQuAD-style QA model) ships its weights in a
PyPI package, and nothing is fetched from a model hub (docs/ARCHITECTURE.md), so the span comes
from spaCy's small English pipeline plus a few rules:

1. The question's wh-type decides which kind of phrase can answer it (`question_type`).
2. Candidates are the sentence's entities and noun phrases of that kind, minus anything the
   question already says (the answer is never the question's own words; this also neutralises
   spaCy's habit of tagging "Al-Bab" as a PERSON), pronouns and determiner-only phrases.
3. The sentence must share at least two words with the question; otherwise it is not about
   what was asked, whatever it contains.
4. The question's main verb (or for "how many", the counted noun) anchors the choice, within
   that verb's clause in the sentence: a candidate attached to it in the parse, in the role
   the question asks for, wins; else the closest one. If the sentence lacks that verb, only a
   single candidate that completes one of the question's words ("the CEO of X", "since X")
   is trusted. A tie is None.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.nlp import load_nlp
from assistant.question_kind import (
    COUNT,
    COUNT_LABELS,
    NOT_ACTOR_LABELS,
    WHEN,
    WHEN_LABELS,
    WHERE,
    WHERE_LABELS,
    WHO,
    WHO_LABELS,
    QuestionType,
    question_type,
)


@dataclass(frozen=True)
class Span:
    """Character offsets into the sentence string: `sentence[start:end]` is the answer."""

    start: int
    end: int


_WEEKDAYS_MONTHS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december".split()
)

_LIGHT_VERBS = frozenset({"be", "do", "have", "will", "would", "can", "could", "shall",
                          "should", "may", "might", "must", "get"})



# --- candidates -----------------------------------------------------------------------------

_MODIFIER_DEPS = frozenset({"det", "compound", "amod", "nummod", "poss", "nmod", "quantmod",
                            "punct", "case", "predet"})
_NON_SUBJECT_DEPS = frozenset({"nsubjpass", "dobj", "pobj", "attr", "appos", "dative", "iobj",
                               "oprd", "npadvmod", "conj"})
_CLAUSE_OPENERS = frozenset({"when", "as", "after", "before", "while", "because", "since",
                             "until", "once", "where", "and", "but", "that", "who", "which"})


@dataclass(frozen=True)
class _Candidate:
    start: int  # token indexes, half-open
    end: int
    label: str  # entity label, "" for a plain noun phrase
    role: str  # "subj", "agent", "obj" or ""
    root: int


def _nominal_spans(doc):
    """Noun phrases as (start, end, root) token ranges.

    spaCy's own `noun_chunks` skips nouns with an unexpected dependency label, and the small
    parser often mislabels the subject of a "..., when X did Y" clause (it parses "government
    forces" as a relative clause), so phrases are rebuilt from every noun head and its left
    modifiers, plus a proper-noun apposition right after it ("the militant group Hamas").
    """
    for tok in doc:
        if tok.pos_ not in {"NOUN", "PROPN"} or tok.dep_ in {"compound", "flat"}:
            continue
        if tok.dep_ in {"amod", "nmod", "poss"} and tok.head.i > tok.i:
            continue  # part of a bigger phrase to its right
        if tok.dep_ == "appos" and tok.head.i == tok.i - 1:
            continue  # folded into its head's phrase below
        start = tok.i
        for child in tok.lefts:
            if child.dep_ in _MODIFIER_DEPS:
                start = min(start, child.left_edge.i)
        end = tok.i + 1
        if end < len(doc) and doc[end].dep_ == "appos" and doc[end].head.i == tok.i \
                and doc[end].pos_ == "PROPN":
            end += 1
        yield start, end, tok.i


def _role(doc, start: int, end: int, root) -> str:
    """Whether the phrase acts (active subject, agentive "by") or undergoes (direct object).

    Besides the parser's nsubj, a phrase that opens a clause and is followed, before the next
    punctuation, by a finite verb counts as a subject: that is the shape the parser breaks.
    """
    if root.dep_ == "nsubj" and root.head.pos_ in {"VERB", "AUX"}:
        return "subj"
    if root.dep_ == "pobj" and root.head.lower_ == "by" and root.head.dep_ == "agent":
        return "agent"
    if root.dep_ in {"dobj", "dative"}:
        return "obj"
    if root.dep_ in _NON_SUBJECT_DEPS:
        return ""  # the parser is sure of another role; only its odd labels are second-guessed
    before = doc[start - 1] if start > 0 else None
    if before is not None and before.lower_ not in _CLAUSE_OPENERS \
            and not (before.is_punct and before.text != "-"):
        return ""
    for tok in doc[end:]:
        if tok.is_punct:
            return ""
        # The tagger cannot tell "cut"/"hit"/"put" from participles: a VBN with no auxiliary
        # of its own, not right after the phrase and not followed by "by" is read as a past.
        bare_vbn = (tok.tag_ == "VBN" and tok.i > end
                    and not any(c.dep_ in {"aux", "auxpass"} for c in tok.children)
                    and not (tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "by"))
        if tok.tag_ in {"VBD", "VBZ", "VBP", "MD"} or bare_vbn:
            verb = tok.head if tok.dep_ in {"aux", "auxpass"} else tok
            return "" if any(c.dep_ == "auxpass" for c in verb.children) else "subj"
    return ""


def _content_words(tokens) -> set[str]:
    """Lower-cased words and lemmas that carry meaning; numbers count even when spaCy lists
    them as stop words ("one")."""
    return {w for t in tokens if t.like_num or (t.is_alpha and not t.is_stop)
            for w in (t.lower_, t.lemma_.lower())}


def _question_words(qdoc) -> set[str]:
    words: set[str] = set()
    for t in qdoc:
        words.update({t.lower_, t.lemma_.lower()})
    return words


def _trim(doc, start: int, end: int) -> tuple[int, int]:
    """Drop leading determiners, possessive pronouns and unpaired punctuation, trailing
    punctuation and "'s": the highlight should be the name, not its grammar."""
    while start < end:
        tok = doc[start]
        paired_quote = tok.is_quote and any(t.is_quote for t in doc[start + 1:end])
        if tok.dep_ in {"det", "predet"} and tok.pos_ in {"DET", "PRON"} or tok.tag_ == "PRP$" \
                or tok.is_punct and not paired_quote:
            start += 1
        else:
            break
    while end > start and (doc[end - 1].is_punct and not doc[end - 1].is_quote
                           or doc[end - 1].tag_ == "POS"):
        end -= 1
    return start, end


def _fits(doc, c: _Candidate, qtype: QuestionType) -> bool:
    root = doc[c.root]
    if qtype.noun and root.pos_ == "PROPN" and root.lemma_.lower() == qtype.noun \
            and c.end - c.start > 1:
        return True  # "which stadium" -> "Arrowhead Stadium", whatever NER made of it
    if qtype.kind == WHO:
        if c.label in WHO_LABELS:
            return True
        wanted = {"obj"} if qtype.object else {"subj", "agent"}
        return c.role in wanted and c.label not in NOT_ACTOR_LABELS
    if qtype.kind == WHEN:
        return c.label in WHEN_LABELS
    if qtype.kind == WHERE:
        return c.label in WHERE_LABELS
    if qtype.kind == COUNT:
        return c.label in COUNT_LABELS
    # "which <noun>" for an unmapped noun: a named entity right next to that noun in the parse
    # ("the exchange Binance", "the token FTT").
    if not c.label or c.label in NOT_ACTOR_LABELS:
        return False
    near = [root.head, *root.children]
    if root.dep_ == "pobj":
        near.append(root.head.head)
    return any(t.lemma_.lower() == qtype.noun for t in near)


def _candidates(doc, qtype: QuestionType, qwords: set[str]) -> list[_Candidate]:
    raw: list[_Candidate] = []
    for ent in doc.ents:
        raw.append(_Candidate(ent.start, ent.end, ent.label_,
                              _role(doc, ent.start, ent.end, ent.root), ent.root.i))
    for start, end, root in _nominal_spans(doc):
        raw.append(_Candidate(start, end, "", _role(doc, start, end, doc[root]), root))
    if qtype.kind == WHEN:
        raw += [_Candidate(t.i, t.i + 1, "DATE", "", t.i) for t in doc
                if t.lower_ in _WEEKDAYS_MONTHS and t.pos_ == "PROPN"]

    kept: list[_Candidate] = []
    for c in raw:
        start, end = _trim(doc, c.start, c.end)
        if start >= end or doc[c.root].pos_ == "PRON":
            continue
        words = _content_words(doc[start:end])
        if not words or words <= qwords:
            continue
        c = _Candidate(start, end, c.label, c.role, c.root)
        if _fits(doc, c, qtype):
            kept.append(c)
    # Overlapping fits describe one thing: keep the longest (the whole "Turkish Prime Minister
    # Binali Yildirim", not the entity nested in it); this also drops entity/phrase duplicates.
    kept.sort(key=lambda c: (-(c.end - c.start), c.start))
    result: list[_Candidate] = []
    for c in kept:
        if not any(c.start < r.end and r.start < c.end for r in result):
            result.append(c)
    return result


# --- choice ---------------------------------------------------------------------------------


def _in_main_clause(tok) -> bool:
    """Verbs of relative or adverbial clauses describe the answer ("who is the individual that
    instructed ..."): they are not what is asked, so they cannot anchor it."""
    while tok.dep_ != "ROOT":
        if tok.dep_ not in {"xcomp", "conj", "ccomp"}:
            return False
        tok = tok.head
    return True


def _anchors(doc, qdoc, qtype: QuestionType) -> tuple[list[int], bool]:
    """Sentence tokens the answer should sit next to, and whether they are strong.

    Strong: the question's main verb (the first of its verbs, root first, that the sentence
    uses) or the counted noun of "how many". Weak: the question's other content words.
    """
    verbs = [t for t in qdoc if t.pos_ == "VERB" and t.lemma_.lower() not in _LIGHT_VERBS
             and _in_main_clause(t)]
    verbs.sort(key=lambda t: t.dep_ != "ROOT")
    wanted = [{v.lemma_.lower(), v.lower_} for v in verbs]
    if qtype.kind == COUNT and qtype.noun:
        wanted.insert(0, {qtype.noun})
    for lemmas in wanted:
        hits = [t.i for t in doc if (t.lemma_.lower() in lemmas or t.lower_ in lemmas)
                and (t.pos_ == "VERB" or qtype.kind == COUNT and qtype.noun in lemmas)]
        if hits:
            return hits, True
    # The asked-for noun of "which company" is what the answer is, not context next to it.
    words = _content_words(qdoc) - {"many", "much", qtype.noun}
    return [t.i for t in doc if not t.is_stop and not t.is_punct
            and (t.lower_ in words or t.lemma_.lower() in words)], False


def _attached(doc, c: _Candidate, anchors: list[int]) -> bool:
    """The candidate depends on an anchor directly or through one preposition."""
    head = doc[c.root].head
    if head.i in anchors and head.i != c.root:
        return True
    return (head.pos_ == "ADP" or head.dep_ in {"prep", "agent"}) and head.head.i in anchors


def _clause_verb(tok) -> int:
    while tok.pos_ not in {"VERB", "AUX"} and tok.head.i != tok.i:
        tok = tok.head
    return tok.i


def _complements(doc, c: _Candidate, anchors: list[int]) -> bool:
    """The candidate completes a question word: its prepositional object ("the CEO of X",
    "control since X", "the concert in X"), its apposition ("X, the CEO") or a non-subject
    argument of a verb ("started Tuesday"). A possessor or compound ("X's revenue") only
    mentions it, and the subject of a verb from the question's descriptive clauses ("who is
    the individual that ...") is just another actor."""
    root = doc[c.root]
    if root.head.i in anchors and root.head.pos_ == "VERB" and root.head.i != root.i \
            and root.dep_ not in {"nsubj", "nsubjpass", "csubj"}:
        return True
    if root.dep_ == "pobj" and root.head.dep_ in {"prep", "agent"} and root.head.head.i in anchors:
        return True
    if root.dep_ == "appos" and root.head.i in anchors:
        return True
    return any(doc[a].dep_ == "appos" and doc[a].head.i == root.i for a in anchors)


def _role_matches(c: _Candidate, qtype: QuestionType) -> bool:
    if qtype.kind != WHO:
        return True
    return c.role == "obj" if qtype.object else c.role in {"subj", "agent"}


def _distance(c: _Candidate, anchors: list[int]) -> int:
    return min(0 if c.start <= a < c.end else min(abs(a - c.start), abs(a - (c.end - 1)))
               for a in anchors)


def _shared_words(doc, qdoc) -> set[str]:
    qlemmas = {t.lemma_.lower() for t in qdoc if t.like_num or (t.is_alpha and not t.is_stop)}
    return {t.lemma_.lower() for t in doc if t.lemma_.lower() in qlemmas}


def answer_span(question: str, sentence: str) -> Span | None:
    """The offsets of the words in `sentence` that answer `question`, or None if unsure."""
    if not question.strip() or not sentence.strip():
        return None
    nlp = load_nlp()
    qdoc = nlp(question)
    qtype = question_type(question, qdoc)
    if qtype is None:
        return None
    doc = nlp(sentence)
    if len(_shared_words(doc, qdoc)) < 2:
        return None  # the sentence barely mentions what is asked: nothing to mark with trust
    cands = _candidates(doc, qtype, _question_words(qdoc))
    anchors, strong = _anchors(doc, qdoc, qtype)
    if strong:
        # Closeness only counts inside the anchor's clause: the besiegers sit (through the
        # parser's odd relative clause) under "besieged"; another clause states another fact.
        scope = {t.i for a in anchors for t in doc[_clause_verb(doc[a])].subtree}
        cands = [c for c in cands if c.root in scope]
    else:
        # Without the question's verb the sentence may state a different fact; trust only a
        # candidate that the parse ties to the question's own words. "Who" then needs a named
        # actor: being the subject of some other verb says nothing ("the second week came").
        cands = [c for c in cands if _complements(doc, c, anchors)
                 and (qtype.kind != WHO or c.label in WHO_LABELS)]
        if len(cands) > 1:
            return None  # weak evidence and a choice to make: not confident
    if not cands:
        return None

    def key(c: _Candidate) -> tuple[bool, bool, int]:
        return (not _attached(doc, c, anchors), not _role_matches(c, qtype),
                _distance(c, anchors))

    ranked = sorted(cands, key=key)
    if len(ranked) > 1 and key(ranked[0]) == key(ranked[1]):
        return None
    best = ranked[0]
    last = doc[best.end - 1]
    return Span(doc[best.start].idx, last.idx + len(last.text))
