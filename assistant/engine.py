"""The assistant: a question (and the conversation so far) in, a cited `Answer` out.

    rewrite follow-up -> retrieve (dense + BM25 + metadata) -> rerank -> abstain? -> select
    -> cite (verbatim, verified) -> compose -> [evidence shown] -> a model answers from the
    cited sentences (local, served, or none: the extractive answer), verified

One `Assistant` is shared by every conversation of a process (the CLI, the web chat, the eval
runner): the models and the lexical index are loaded once; conversations hold only their turns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from assistant.abstain import unknown_names
from assistant.answerers import EXTRACTIVE_INFO, make_generator
from assistant.compose import (
    NO_EVIDENCE,
    Policy,
    answer_text,
    cite_all,
    direct_answer,
    select,
    with_context,
)
from assistant.followup import Turn, is_follow_up, rewrite
from assistant.generate import answer_with_model
from assistant.model_client import Generator
from assistant.model_followup import rewrite_follow_up
from assistant.recency import parse_as_of
from assistant.rerank import FeatureReranker, Reranker
from assistant.retrieve import Filters, Pool, Retriever
from assistant.sentence_index import CurrentSentenceIndex
from assistant.types import Answer
from index.embed import Embedder, embedder_for
from index.embed_identity import check_store
from index.settings import Settings
from index.store import Store


@dataclass
class Conversation:
    """The turns of one conversation; follow-ups are rewritten against them."""

    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def remember(self, answer: Answer) -> None:
        span = answer.direct_answer if answer.direct_answer not in ("", "Yes", "No") else ""
        span = span or next((c.span_text for c in answer.citations if c.span_text), "")
        self.turns.append(Turn(answer.question, answer.standalone_question, span))


class Assistant:
    def __init__(self, settings: Settings, store: Store | None = None,
                 embedder: Embedder | None = None, reranker: Reranker | None = None,
                 policy: Policy | None = None, generator: Generator | None = None):
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or embedder_for(settings)
        self.lexical = CurrentSentenceIndex(self.store)
        self.retriever = Retriever(self.store, self.embedder, depth=settings.top_k)
        self.reranker = reranker or FeatureReranker(self.embedder)
        base = policy or Policy()
        if settings.abstain_threshold >= 0:
            base = Policy(**{**base.__dict__, "min_similarity": settings.abstain_threshold})
        self.policy = Policy(**{**base.__dict__, "max_citations": settings.max_citations})
        # A model answers only from the cited sentences; without one, answers are extractive.
        # (The local model starts loading now, in the background, while the first question
        # is retrieved.)
        self.generator = generator if generator is not None else make_generator(settings)
        self._embedding_checked = False
        self._check_lock = threading.Lock()

    def _check_embedding(self) -> None:
        """Once per process: questions must be embedded by the model the store was indexed
        with (a wrong NEWSDESK_EMBED_URL would otherwise answer from noise)."""
        with self._check_lock:
            if not self._embedding_checked:
                check_store(self.store, self.embedder)
                self._embedding_checked = True

    def answerer_info(self) -> dict[str, str]:
        """Which answerer and model answer, for eval run records (the sha256 of a user's own
        GGUF file is computed on the first call)."""
        if self.generator is None:
            return dict(EXTRACTIVE_INFO)
        describe = getattr(self.generator, "describe", None)
        return describe() if describe else {"answerer": "custom", "model": self.generator.name}

    def refresh(self) -> None:
        """Pick up articles indexed since the last question (e.g. after an upload)."""
        self.lexical.get(force_check=True)

    def ask(self, question: str, conversation: Conversation | None = None,
            filters: Filters | None = None,
            on_delta: Callable[[str], None] | None = None,
            on_evidence: Callable[[Answer], None] | None = None,
            as_of: str | date | None = None) -> Answer:
        """`as_of` is the date the question is asked (ISO date): with a time clue in the
        question ("this week", "recently"), pages published far from it rank lower.
        `on_evidence` receives the extractive answer (its citations are the evidence) as soon
        as retrieval is done, before a model writes; `on_delta` receives the model's answer as
        it is written. The returned answer is the model's verified one, or the extractive one
        (with a notice when the model failed)."""
        started = time.perf_counter()
        day = parse_as_of(as_of)
        question = " ".join(question.split())
        history = conversation.turns if conversation else []
        standalone = self._standalone(question, history) if history else question
        if not self._embedding_checked:
            self._check_embedding()
        lexical = self.lexical.get()
        pool = self.retriever.retrieve(standalone, lexical, filters)
        pool.as_of = day
        t = time.perf_counter()
        self.reranker.rerank(pool)
        pool.timings["rerank_ms"] = round((time.perf_counter() - t) * 1000, 1)
        t = time.perf_counter()
        answer = self._compose(question, standalone, pool, lexical)
        pool.timings["compose_ms"] = round((time.perf_counter() - t) * 1000, 1)
        answer.timings = pool.timings
        answer.timings["evidence_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if on_evidence is not None:
            on_evidence(answer)
        if self.generator is not None:
            first: list[float] = []

            def delta(text: str) -> None:
                if not first:
                    first.append(time.perf_counter())
                if on_delta is not None:
                    on_delta(text)

            answer, written = answer_with_model(self.generator, answer, delta)
            if first:
                answer.timings["first_token_ms"] = round((first[0] - started) * 1000, 1)
            if written is not None:
                answer.model = self.generator.name
                answer.unsupported = written.body.unsupported_sentences
        answer.timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if conversation is not None:
            conversation.remember(answer)
        return answer

    def _standalone(self, question: str, history: list[Turn]) -> str:
        """The model rewrites follow-ups when there is one; the rules are the fallback."""
        if self.generator is not None and is_follow_up(question):
            rewritten = rewrite_follow_up(self.generator, question, history)
            if rewritten:
                return rewritten
        return rewrite(question, history)

    def _compose(self, question: str, standalone: str, pool: Pool, lexical) -> Answer:
        ranked = pool.ranked()
        reason = self._abstain_reason(standalone, pool, lexical)
        if reason:
            closest = cite_all(ranked[:self.policy.closest], pool, standalone, mark_span=False)
            return Answer(question, standalone, f"{NO_EVIDENCE} ({reason})", [], True,
                          closest=closest, abstain_reason=reason)
        policy = self.policy if self.generator is None else self.policy.for_model()
        chosen = with_context(select(pool, policy), pool, policy.context_before)
        citations = cite_all(chosen, pool, standalone)
        return Answer(question, standalone, answer_text(citations), citations, False,
                      direct_answer=direct_answer(citations))

    def _abstain_reason(self, standalone: str, pool: Pool, lexical) -> str:
        ranked = pool.ranked()
        if not ranked:
            return "nothing in the corpus matches it"
        best = max(c.features.get("similarity", 0.0) for c in ranked[:5])
        if best < self.policy.min_similarity:
            return "no sentence is close enough to the question"
        if self.policy.abstain_on_unknown_names and best < self.policy.unknown_names_ceiling:
            missing = unknown_names(standalone, lexical)
            if len(missing) >= self.policy.max_unknown_names:
                return "the corpus never mentions " + ", ".join(missing[:3])
        return ""
