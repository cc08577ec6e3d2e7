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
# Below this length, "one sentence contains the other" is a coincidence, not the same sentence.
MIN_CONTAINED_CHARS = 20

# Higher is better; `--fail-under` accepts these.
RATE_METRICS = (
    "recall_at_4", "recall_at_10", "mrr_at_10", "answer_hit_at_4", "answer_hit_at_10",
    "citation_precision", "citation_recall", "citation_verbatim_rate",
    "answer_accuracy", "answer_f1",
    "abstention_precision", "abstention_recall", "abstention_f1",
)
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms")
COUNT_KEYS = ("cases", "answerable", "unanswerable", "abstained", "errors")
METRICS = RATE_METRICS + LATENCY_METRICS

_MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@dataclass
class CaseScores:
    recall_at_4: float | None = None
    recall_at_10: float | None = None
    mrr_at_10: float | None = None
    # Is an accepted answer in one of the top k ranked sentences? Retrieval's share of the
    # answer, measurable where a dataset gives no gold sentences (RGB).
    answer_hit_at_4: float | None = None
    answer_hit_at_10: float | None = None
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
               ranked: Sequence[str], verbatim: Sequence[bool], latency_ms: float
               ) -> CaseScores:
    scores = CaseScores(abstained=abstained, latency_ms=round(latency_ms, 1),
                        verbatim=sum(verbatim), quoted=len(verbatim))
    for key, value in retrieval_scores(ranked, case.evidence).items():
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
    prediction = "" if abstained else answer_text
    if not case.answerable:
        scores.answer_correct = abstained
        scores.answer_f1 = float(abstained)  # SQuAD 2.0: no answer is the right answer
    elif case.answers:
        scores.answer_correct = not abstained and contains_answer(prediction, case.answers)
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
                "answer_hit_at_10", "citation_precision", "citation_recall", "answer_f1"):
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


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None
