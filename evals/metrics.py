"""Scores: per case, then aggregated; pure functions, so they are tested without a model.

A metric that does not apply to a case (retrieval recall without gold evidence, citation
precision with no citation) is None for that case and left out of the mean, rather than
counted as 0 or 1: an abstention on an unanswerable case must neither help nor hurt precision.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from evals.suite import Case

RECALL_KS = (4, 10)
MRR_K = 10
# Gold *articles* (RealTimeQA gives the article behind each question, not its sentences): is it
# among the articles of the top k ranked sentences?
ARTICLE_KS = (3, 10)
# Below this length, "one sentence contains the other" is a coincidence, not the same sentence.
MIN_CONTAINED_CHARS = 20

# Higher is better; `--fail-under` accepts these.
RATE_METRICS = (
    "recall_at_4", "recall_at_10", "mrr_at_10", "answer_hit_at_4", "answer_hit_at_10",
    "gold_article_at_3", "gold_article_at_10", "gold_article_cited", "answer_hit_cited",
    "citation_precision", "citation_recall", "citation_verbatim_rate",
    "answer_accuracy", "answer_f1",
    "abstention_precision", "abstention_recall", "abstention_f1",
)
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms")
COUNT_KEYS = ("cases", "answerable", "unanswerable", "abstained", "errors")
METRICS = RATE_METRICS + LATENCY_METRICS

_MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# What may stand before an answer's first word without being part of it: HTML tags, citation
# markers ([1], [unsupported]), Markdown emphasis/heading/quote marks, bullets, quotes, spaces.
_LEADING_NOISE = re.compile(
    r"^(?:\s+|<[^>]{0,200}>|\[(?:\d+|unsupported)\]|[*_#>`\"'“”‘’(\-–—•:]+|answer\s*:)+",
    re.IGNORECASE)
# "No-one", "Nobody", "None", "Yesterday" are not a yes/no.
_LEADING_YES_NO = re.compile(r"(yes|no)(?![^\W_]|['’-]\w)", re.IGNORECASE)
YES_NO = ("yes", "no")


@dataclass
class CaseScores:
    recall_at_4: float | None = None
    recall_at_10: float | None = None
    mrr_at_10: float | None = None
    # Is an accepted answer in one of the top k ranked sentences? Retrieval's share of the
    # answer, measurable where a dataset gives no gold sentences (RGB).
    answer_hit_at_4: float | None = None
    answer_hit_at_10: float | None = None
    # Is a gold article (by URL) among the articles of the top k ranked sentences, of the
    # cited sentences; is an accepted answer inside one of the cited sentences?
    gold_article_at_3: float | None = None
    gold_article_at_10: float | None = None
    gold_article_cited: float | None = None
    answer_hit_cited: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    cited_evidence: list[int] = field(default_factory=list)  # gold items some citation matches
    verbatim: int = 0  # citations (and closest sentences) equal to their stored slice
    quoted: int = 0  # citations (and closest sentences) checked
    answer_correct: bool | None = None
    answer_f1: float | None = None
    abstained: bool = False
    latency_ms: float = 0.0
    error: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def squash(text: str) -> str:
    """Whitespace-normalised text: how evidence and sentences are compared."""
    return " ".join(text.split())


def same_sentence(sentence: str, gold: str) -> bool:
    """Equal after whitespace normalisation; or one holds the other, when the sentence splitter
    cut a gold passage of two sentences in two (or joined two gold sentences)."""
    s, g = squash(sentence), squash(gold)
    if s == g:
        return True
    return min(len(s), len(g)) >= MIN_CONTAINED_CHARS and (s in g or g in s)


def answer_tokens(text: str) -> list[str]:
    """SQuAD normalisation: casefold, drop punctuation, articles and extra whitespace."""
    text = _MARKER.sub("", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("Z") else ch for ch in text
                   if not unicodedata.category(ch).startswith("P"))
    return _ARTICLES.sub(" ", text).split()


def contains_answer(text: str, accepted: Sequence[str]) -> bool:
    """Does an accepted answer occur in the text as a run of whole words?"""
    words = answer_tokens(text)
    for answer in accepted:
        target = answer_tokens(answer)
        if target and any(words[i:i + len(target)] == target
                          for i in range(len(words) - len(target) + 1)):
            return True
    return False


def leading_yes_no(text: str) -> str | None:
    """"yes" or "no" if the answer opens with it (after markup and citation markers), else
    None. "No, ... yes ..." is a no: a yes/no answer is judged by what it says first, not by
    which of the two words occurs somewhere in it."""
    rest = _LEADING_NOISE.sub("", text, count=1)
    match = _LEADING_YES_NO.match(rest)
    return match.group(1).casefold() if match else None


def yes_no_answer(accepted: Sequence[str]) -> str | None:
    """"yes"/"no" when every accepted answer is that one word (MultiHop-RAG writes "Yes",
    "no", "Yes."), else None: such a case is scored by the leading yes/no rule."""
    words = {" ".join(answer_tokens(a)) for a in accepted}
    if len(words) == 1 and (word := words.pop()) in YES_NO:
        return word
    return None


def answer_correct(answer_text: str, accepted: Sequence[str]) -> bool:
    """Yes/no cases: the answer's leading yes/no is the accepted one. Others: an accepted
    answer occurs in the answer as whole words."""
    expected = yes_no_answer(accepted)
    if expected is not None:
        return leading_yes_no(answer_text) == expected
    return contains_answer(answer_text, accepted)


def normal_url(url: str) -> str:
    """A URL as articles are matched by: no scheme, no "www.", no fragment (RealTimeQA's gold
    URLs carry "#:~:text=..." highlights), no trailing slash; host casefolded."""
    url = url.strip().split("#", 1)[0]
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.IGNORECASE)
    host, slash, path = url.partition("/")
    host = host.casefold().removeprefix("www.")
    return (host + slash + path).rstrip("/")


def gold_article_scores(gold_urls: Sequence[str], ranked_urls: Sequence[str],
                        cited_urls: Sequence[str]) -> dict[str, float | None]:
    """Article-level retrieval: a hit is a ranked (or cited) sentence from a gold article."""
    if not gold_urls:
        return {f"gold_article_at_{k}": None for k in ARTICLE_KS} | {"gold_article_cited": None}
    gold = {normal_url(u) for u in gold_urls}

    def hit(urls: Sequence[str]) -> float:
        return float(any(normal_url(u) in gold for u in urls if u))

    out: dict[str, float | None] = {f"gold_article_at_{k}": hit(ranked_urls[:k])
                                    for k in ARTICLE_KS}
    out["gold_article_cited"] = hit(cited_urls)
    return out


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = answer_tokens(prediction), answer_tokens(gold)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def retrieval_scores(ranked: Sequence[str], evidence: Sequence[str]
                     ) -> dict[str, float | None]:
    if not evidence:
        return {f"recall_at_{k}": None for k in RECALL_KS} | {f"mrr_at_{MRR_K}": None}
    out: dict[str, float | None] = {}
    for k in RECALL_KS:
        top = ranked[:k]
        found = sum(any(same_sentence(s, g) for s in top) for g in evidence)
        out[f"recall_at_{k}"] = found / len(evidence)
    rank = next((i for i, s in enumerate(ranked[:MRR_K], start=1)
                 if any(same_sentence(s, g) for g in evidence)), None)
    out[f"mrr_at_{MRR_K}"] = 1.0 / rank if rank else 0.0
    return out


def score_case(case: Case, answer_text: str, abstained: bool, cited: Sequence[str],
               ranked: Sequence[str], verbatim: Sequence[bool], latency_ms: float,
               ranked_urls: Sequence[str] = (), cited_urls: Sequence[str] = ()
               ) -> CaseScores:
    """`ranked_urls`/`cited_urls` are the article URLs of `ranked`/`cited`, in the same order;
    they are only read when the case names gold articles."""
    scores = CaseScores(abstained=abstained, latency_ms=round(latency_ms, 1),
                        verbatim=sum(verbatim), quoted=len(verbatim))
    for key, value in retrieval_scores(ranked, case.evidence).items():
        setattr(scores, key, value)
    if case.answerable:
        for key, value in gold_article_scores(case.gold_urls, ranked_urls, cited_urls).items():
            setattr(scores, key, value)
    if case.evidence:
        scores.cited_evidence = [i for i, g in enumerate(case.evidence)
                                 if any(same_sentence(c, g) for c in cited)]
        scores.citation_recall = len(scores.cited_evidence) / len(case.evidence)
        if cited:
            good = sum(any(same_sentence(c, g) for g in case.evidence) for c in cited)
            scores.citation_precision = good / len(cited)
    if case.answerable and case.answers:
        for k in RECALL_KS:
            setattr(scores, f"answer_hit_at_{k}",
                    float(any(contains_answer(s, case.answers) for s in ranked[:k])))
        # Yes/no answers are not in a sentence: for those this says nothing, so it is left out.
        if yes_no_answer(case.answers) is None:
            scores.answer_hit_cited = float(any(contains_answer(c, case.answers)
                                                for c in cited))
    prediction = "" if abstained else answer_text
    if not case.answerable:
        scores.answer_correct = abstained
        scores.answer_f1 = float(abstained)  # SQuAD 2.0: no answer is the right answer
    elif case.answers:
        scores.answer_correct = not abstained and answer_correct(prediction, case.answers)
        scores.answer_f1 = max(token_f1(prediction, a) for a in case.answers)
    return scores


def failed_case(case: Case, error: str, latency_ms: float, unverified: int = 0) -> CaseScores:
    """A case whose question raised: wrong on everything it can be scored on. A citation that
    failed its verbatim check counts as a quote that was not verbatim (`unverified`)."""
    scores = score_case(case, "", False, [], [], [], latency_ms)
    scores.error = error
    scores.quoted = unverified
    if case.evidence:
        scores.citation_precision = 0.0
    return scores


def aggregate(cases: Sequence[Case], scores: Sequence[CaseScores]) -> dict[str, float | None]:
    """The suite's figures: means over the cases each metric applies to; verbatim over all
    quotes shown; abstention with "should abstain" as the positive class."""
    out: dict[str, float | None] = {
        "cases": len(cases),
        "answerable": sum(c.answerable for c in cases),
        "unanswerable": sum(not c.answerable for c in cases),
        "abstained": sum(s.abstained for s in scores),
        "errors": sum(bool(s.error) for s in scores),
    }
    for key in ("recall_at_4", "recall_at_10", "mrr_at_10", "answer_hit_at_4",
                "answer_hit_at_10", "gold_article_at_3", "gold_article_at_10",
                "gold_article_cited", "answer_hit_cited", "citation_precision",
                "citation_recall", "answer_f1"):
        out[key] = _mean([getattr(s, key) for s in scores])
    quoted = sum(s.quoted for s in scores)
    out["citation_verbatim_rate"] = sum(s.verbatim for s in scores) / quoted if quoted else None
    out["answer_accuracy"] = _mean([None if s.answer_correct is None else float(s.answer_correct)
                                    for s in scores])
    tp = sum(s.abstained and not c.answerable for c, s in zip(cases, scores, strict=True))
    fp = sum(s.abstained and c.answerable for c, s in zip(cases, scores, strict=True))
    positives = out["unanswerable"]
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / positives if positives else None
    out["abstention_precision"] = precision
    out["abstention_recall"] = recall
    if recall is None:
        out["abstention_f1"] = None
    elif tp == 0:
        out["abstention_f1"] = 0.0
    else:
        out["abstention_f1"] = 2 * precision * recall / (precision + recall)
    latencies = [s.latency_ms for s in scores]
    out["latency_p50_ms"] = _percentile(latencies, 50)
    out["latency_p95_ms"] = _percentile(latencies, 95)
    for key in RATE_METRICS:
        if out[key] is not None:
            out[key] = round(float(out[key]), 4)
    return {key: out[key] for key in (*COUNT_KEYS, *METRICS)}


def by_tag(cases: Sequence[Case], scores: Sequence[CaseScores]
           ) -> dict[str, dict[str, float | None]]:
    tags = sorted({t for c in cases for t in c.tags})
    out = {}
    for tag in tags:
        picked = [(c, s) for c, s in zip(cases, scores, strict=True) if tag in c.tags]
        out[tag] = aggregate([c for c, _ in picked], [s for _, s in picked])
    return out


def accuracy_by_type(cases: Sequence[Case], scores: Sequence[CaseScores]
                     ) -> dict[str, dict[str, dict[str, float | None]]]:
    """Answer accuracy per question type (the case tags: MultiHop-RAG's inference, comparison,
    temporal and null queries) and per answer kind (yes/no vs other), since one suite-wide
    figure hides that an extractive answerer scores ~0 on yes/no questions."""
    def figures(picked: list[tuple[Case, CaseScores]]) -> dict[str, float | None]:
        acc = _mean([None if s.answer_correct is None else float(s.answer_correct)
                     for _, s in picked])
        f1 = _mean([s.answer_f1 for _, s in picked])
        return {"cases": len(picked),
                "answer_accuracy": None if acc is None else round(acc, 4),
                "answer_f1": None if f1 is None else round(f1, 4)}

    pairs = list(zip(cases, scores, strict=True))
    tags = sorted({t for c in cases for t in c.tags})
    kinds = {
        "yes/no": [(c, s) for c, s in pairs if c.answerable and yes_no_answer(c.answers)],
        "other": [(c, s) for c, s in pairs if c.answerable and c.answers
                  and not yes_no_answer(c.answers)],
        "unanswerable": [(c, s) for c, s in pairs if not c.answerable],
    }
    return {"question_type": {t: figures([(c, s) for c, s in pairs if t in c.tags])
                              for t in tags},
            "answer_kind": {k: figures(v) for k, v in kinds.items() if v}}


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None
