"""Running a suite: index its corpus into a store of its own, ask every case, score it.

Each suite gets its own data directory, keyed by its corpus and by the settings that shape the
index, so an eval never reads or writes the user's store and a second run re-indexes nothing.
The ranked sentences behind each answer are taken from the assistant's own call, by wrapping
its reranker, so retrieval is scored on exactly what the answer was built from, at no extra cost.

Nothing here draws or prints: progress goes to optional callbacks (a front end draws the bars),
and the index run's warnings come back in `RunResult.index["errors"]`.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from evals.metrics import (
    CaseScores,
    accuracy_by_type,
    aggregate,
    by_tag,
    failed_case,
    score_case,
)
from evals.suite import Case, Suite
from index.environment import quiet_loggers
from index.errors import NewsdeskError
from index.indexer import RunProgress
from index.settings import Settings

RANKED_KEPT = 10  # enough for recall@10 and MRR@10
# (cases done, cases in the suite, answer accuracy so far or None); first called with 0 done.
CaseProgress = Callable[[int, int, float | None], None]


@dataclass
class CaseResult:
    case: Case
    scores: CaseScores
    answer: dict | None  # Answer.to_json() of the scored (last) turn
    ranked: list[str] = field(default_factory=list)
    turn_latencies_ms: list[float] = field(default_factory=list)
    ranked_urls: list[str] = field(default_factory=list)  # the article URL of each ranked one


@dataclass
class RunResult:
    suite: Suite
    settings: Settings  # as the assistant ran, i.e. with the suite's data directory as home
    corpus: list[Path]
    index: dict
    cases: list[CaseResult]
    aggregate: dict[str, float | None]
    by_tag: dict[str, dict[str, float | None]]
    started_at: str
    seconds: float
    warmup_ms: float
    # Which answerer wrote the answers (extractive, local model, server) and its model file.
    answerer: dict = field(default_factory=lambda: {"answerer": "extractive"})
    accuracy_by_type: dict = field(default_factory=dict)


class RankRecorder:
    """Stands in for the assistant's reranker and keeps the order it produced."""

    def __init__(self, inner):
        self.inner = inner
        self.ranked: list[str] = []
        self.article_ids: list[str] = []  # the article of each ranked sentence

    def rerank(self, pool) -> None:
        self.inner.rerank(pool)
        kept = [c for c in pool.candidates if c.score != float("-inf")][:RANKED_KEPT]
        self.ranked = [c.text for c in kept]
        self.article_ids = [c.ref.article_id for c in kept]


def answerer_info(assistant) -> dict:
    """Which answerer produced the answers, as the assistant reports it.

    `Assistant.answerer_info()` (e.g. {"answerer": "local", "model": "...gguf", "sha256": ...})
    is read when the assistant has it; an older assistant is described from what it holds: a
    served model's name, else the extractive (cited sentences) answer.
    """
    info = getattr(assistant, "answerer_info", None)
    if callable(info):
        info = info()
    if isinstance(info, dict) and info:
        return dict(info)
    generator = getattr(assistant, "generator", None)
    if generator is not None:
        return {"answerer": "server", "model": str(getattr(generator, "name", ""))}
    return {"answerer": "extractive"}


def accepts_as_of(assistant) -> bool:
    """Does `assistant.ask` take the question's date (`as_of=`, ISO date)? The hook for
    "this week" in quiz clues; until the assistant supports it, case dates are not passed."""
    try:
        return "as_of" in inspect.signature(assistant.ask).parameters
    except (TypeError, ValueError):
        return False


def data_dir(settings: Settings, suite_name: str, corpus: Sequence[Path]) -> Path:
    """Keyed by the corpus paths and the index-shaping settings: a store embedded with another
    model or chunk size must not be reused."""
    key = "\n".join([*sorted(str(p) for p in corpus), settings.embed_model,
                     str(settings.chunk_tokens)])
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    return settings.home_path / "evals" / suite_name / digest


def prepare_store(settings: Settings, suite_name: str, corpus: Sequence[Path],
                  progress: RunProgress | None = None) -> tuple[Settings, dict]:
    """The suite's store, brought in line with its corpus files (a no-op when unchanged)."""
    from index.indexer import index_paths, read_inputs
    from index.store import Store

    missing = [str(p) for p in corpus if not p.exists()]
    if missing:
        raise NewsdeskError(f"corpus path {missing[0]} does not exist; fix the suite's corpus "
                            "or pass --corpus")
    wanted = {a.id for a in read_inputs(corpus)[0]}
    if not wanted:
        raise NewsdeskError(f"the corpus ({', '.join(map(str, corpus))}) holds no article "
                            "that could be indexed")
    home = data_dir(settings, suite_name, corpus)
    eval_settings = settings.replace(home=str(home), chroma_url="", chroma_token="")
    report = index_paths(eval_settings, corpus, progress=progress)
    # An article dropped from a corpus file would otherwise stay in the store and be cited.
    store = Store(eval_settings)
    stale = sorted(set(store.articles.get(include=[])["ids"]) - wanted)
    store.delete_articles(stale)
    out = report.to_json()
    out["articles_removed"] = len(stale)
    out["data_dir"] = str(home)
    return eval_settings, out


def run_suite(suite: Suite, settings: Settings, corpus: Sequence[Path] | None = None,
              index_progress: RunProgress | None = None,
              case_progress: CaseProgress | None = None) -> RunResult:
    """Index the suite's corpus (or `corpus`) into the suite's own store under
    `settings.home`, ask every case and score it. The run is returned, not written: see
    `evals.record.record_run` for the run folder, its report and the diff."""
    from assistant.cite import CitationError
    from assistant.engine import Assistant, Conversation

    quiet_loggers()  # a library imported since the front end quietened them may have reset one
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    began = time.perf_counter()
    corpus = list(corpus or suite.corpus)
    if not corpus:
        raise NewsdeskError(f"{suite.path}: the suite names no corpus; add "
                            "{\"suite\": NAME, \"corpus\": [PATHS]} as its first line, "
                            "or pass --corpus")
    eval_settings, index_report = prepare_store(settings, suite.name, corpus, index_progress)
    assistant = Assistant(eval_settings)
    recorder = RankRecorder(assistant.reranker)
    assistant.reranker = recorder

    # One-time costs (lexical index, spaCy, caches) would otherwise land on the first case.
    t = time.perf_counter()
    assistant.ask(suite.cases[0].turns[0])
    warmup_ms = (time.perf_counter() - t) * 1000

    results = []
    dated = accepts_as_of(assistant)
    total = len(suite.cases)
    if case_progress is not None:
        case_progress(0, total, None)
    correct = judged = 0
    for case in suite.cases:
        conversation = Conversation()
        latencies: list[float] = []
        recorder.ranked, recorder.article_ids = [], []
        extra = {"as_of": case.date} if dated and case.date else {}
        t = time.perf_counter()
        try:
            for turn in case.turns:
                t = time.perf_counter()
                answer = assistant.ask(turn, conversation, **extra)
                latencies.append(round((time.perf_counter() - t) * 1000, 1))
        except NewsdeskError:
            raise
        except Exception as exc:  # one broken case must not hide the other cases' scores
            elapsed = (time.perf_counter() - t) * 1000
            message = f"{type(exc).__name__}: {exc}"
            unverified = 1 if isinstance(exc, CitationError) else 0
            results.append(CaseResult(case, failed_case(case, message, elapsed, unverified),
                                      None, [], latencies))
        else:
            result = _scored(case, answer, recorder.ranked, recorder.article_ids, latencies,
                             assistant.store)
            results.append(result)
            if result.scores.answer_correct is not None:
                judged += 1
                correct += result.scores.answer_correct
        if case_progress is not None:
            case_progress(len(results), total, correct / judged if judged else None)
    cases = [r.case for r in results]
    scores = [r.scores for r in results]
    return RunResult(suite, eval_settings, [Path(p) for p in corpus], index_report, results,
                     aggregate(cases, scores), by_tag(cases, scores), started_at,
                     round(time.perf_counter() - began, 1), round(warmup_ms, 1),
                     answerer_info(assistant), accuracy_by_type(cases, scores))


def _scored(case: Case, answer, ranked: list[str], ranked_ids: list[str],
            latencies: list[float], store) -> CaseResult:
    quotes = answer.citations + answer.closest
    articles = store.get_articles(sorted({c.article_id for c in quotes} | set(ranked_ids)))
    verbatim = [c.article_id in articles
                and articles[c.article_id].text[c.start:c.end] == c.text for c in quotes]
    ranked_urls = [articles[i].url if i in articles else "" for i in ranked_ids]
    scores = score_case(case, answer.text, answer.abstained, [c.text for c in answer.citations],
                        ranked, verbatim, latencies[-1], ranked_urls,
                        [c.url for c in answer.citations])
    return CaseResult(case, scores, answer.to_json(), list(ranked), latencies, ranked_urls)
