"""Re-scoring the candidate sentences: the one place a real cross-encoder would plug in.

Models come only from installed packages, never a model hub, and no cross-encoder, QA reader
or NLI model is packaged (docs/ARCHITECTURE.md, "assistant/"), so the default reranker combines
what does exist, each feature kept because it moved the dev-set figures:
- the sentence's own similarity to the question, with its headline's similarity mixed in
  (`Weights.headline`): a sentence is embedded alone, and its headline says what it is about;
- BM25 on the sentence (names and numbers, where a small embedding model is weak);
- the outlet and the publication date the question names, matched against metadata;
- the fused rank of the first-stage lists.
Anything with a `rerank(pool) -> None` method that sets `candidate.score` can replace it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.query_meta import question_parts
from assistant.recency import has_time_clue, staleness
from assistant.retrieve import UNRANKED, Candidate, Pool
from index.embed import Embedder


class Reranker(Protocol):
    def rerank(self, pool: Pool) -> None:
        """Set `score` on every candidate of the pool (higher is better)."""


@dataclass(frozen=True)
class Weights:
    """Chosen by a grid search on the MultiHop-RAG dev queries (recall@10 + MRR@10).

    With these, recall@10 went from 0.880 (sentence similarity + BM25 + RRF, untuned) to
    0.927 and MRR@10 from 0.872 to 0.945. The fused rank (`rrf`) picks the head of the pool
    but adds nothing once the sentence features are known, so its final weight is 0.
    """

    similarity: float = 0.5
    parts: float = 0.5
    bm25: float = 0.6
    source: float = 0.4
    date: float = 0.3
    rrf: float = 0.0
    same_article: float = 0.1
    # An article's sentences past its first `article_share` in the ranking each cost
    # `over_share` more. Full-length pages (RealTimeQA, issue 14) otherwise fill the top 10
    # with one long page's sentences: gold article among the top 10 0.824 -> 0.865 (0.2 to 0.5
    # give the same), the answer among the top 10 0.730 -> 0.743. On MultiHop-RAG dev two
    # comparison questions lose a third evidence sentence past rank 10: recall@10
    # 0.9378 -> 0.9327, MRR@10 and recall@4 unchanged. A share of 4 gains less (0.851) at the
    # same cost; a share of 2 gains the same and costs more (recall@10 0.9282).
    article_share: int = 3
    over_share: float = 0.3
    bm25_parts: float = 0.0
    # The question's date (as_of) with a time clue: a page far from that date costs this much
    # at full staleness (assistant/recency.py). Measured on RealTimeQA dev (issue 14): 0.3
    # and 0.6 both lift the gold article in the top 3 from 0.64 to 0.74-0.76; 0.6 and 1.0 are
    # equal (the penalty then outweighs any similarity gap). MultiHop-RAG cases carry no
    # date, so their figures cannot move.
    staleness: float = 0.6
    # A sentence's similarity is (its own + headline x its headline's) / (1 + headline). The
    # sentence used to be embedded with its headline in front; embedding it alone and mixing
    # the headline in here lets the index run embed each sentence once, as its own chunk.
    # Measured with the extractive answerer (docs/REALTIMEQA_ANALYSIS.md, 5g), 0 / 0.3 / 0.6 /
    # 1.0: RealTimeQA dev answer among the top 10 0.757 / 0.757 / 0.770 / 0.770, among the top
    # 4 0.581 / 0.608 / 0.608 / 0.622; MultiHop-RAG dev recall@10 0.926 / 0.931 / 0.936 /
    # 0.931, MRR@10 0.947 / 0.951 / 0.947 / 0.932.
    headline: float = 0.6


class SentenceVectorCache:
    """Sentence vectors computed on demand and kept (LRU): warm questions skip the model."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000):
        self.embedder = embedder
        self.capacity = capacity
        self._vectors: OrderedDict[tuple[str, int, str], np.ndarray] = OrderedDict()

    def vectors(self, candidates: list[Candidate]) -> np.ndarray:
        keys = [(c.ref.article_id, c.ref.index, c.text) for c in candidates]
        missing = [i for i, k in enumerate(keys) if k not in self._vectors]
        if missing:
            fresh = self.embedder.embed([candidates[i].text for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                self._vectors[keys[i]] = vector
        out = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 1))
        for k in keys:
            self._vectors.move_to_end(k)
        while len(self._vectors) > self.capacity:
            self._vectors.popitem(last=False)
        return out


class FeatureReranker:
    def __init__(self, embedder: Embedder, weights: Weights | None = None, pool_size: int = 48):
        self.cache = SentenceVectorCache(embedder)
        self.weights = weights or Weights()
        self.pool_size = pool_size

    def rerank(self, pool: Pool) -> None:
        w = self.weights
        candidates = pool.candidates
        if not candidates:
            return
        dated = pool.as_of is not None and has_time_clue(pool.question)
        for c in candidates:
            c.features["staleness"] = (staleness(c.info.published_ts, pool.as_of) if dated
                                       else 0.0)
        # Only the best of the first stage get a sentence vector: that bounds the latency.
        candidates.sort(key=lambda c: c.scores["rrf"] + w.source * c.features["source"]
                        + w.date * c.features["date"] - w.staleness * c.features["staleness"],
                        reverse=True)
        head = candidates[:self.pool_size]
        vectors = self._vectors(head, pool)
        query = np.asarray(pool.query_vector)
        sims = _with_headlines(vectors @ query, head, pool, query, w.headline)
        parts = question_parts(pool.question)
        part_sims = (vectors @ self.cache.embedder.embed(parts).T).max(axis=1) if parts else sims
        top_bm25 = max((c.scores.get("bm25", 0.0) for c in candidates), default=0.0) or 1.0
        # Per-clause BM25 is off (weight 0) until a dev-set run measures it: skip its cost.
        part_bm25 = (pool.lexical.part_scores(parts, [c.key for c in head])
                     if parts and w.bm25_parts else {})
        for c, sim, part_sim in zip(head, sims, part_sims, strict=True):
            c.features["bm25_parts"] = float(part_bm25.get(c.key, 0.0))
            c.features["similarity"] = float(sim)
            c.features["parts"] = float(part_sim)
            c.features["bm25"] = c.scores.get("bm25", 0.0) / top_bm25
            c.score = (w.similarity * float(sim) + w.parts * float(part_sim)
                       + w.bm25 * c.features["bm25"] + w.source * c.features["source"]
                       + w.date * c.features["date"] + w.rrf * c.scores["rrf"]
                       + w.bm25_parts * c.features["bm25_parts"]
                       - w.staleness * c.features["staleness"])
        for c in candidates[self.pool_size:]:
            c.score = UNRANKED
        candidates.sort(key=lambda c: c.score, reverse=True)
        if w.same_article or w.over_share:
            _diversify(candidates, w.same_article, w.article_share, w.over_share)

    def _vectors(self, head: list[Candidate], pool: Pool) -> np.ndarray:
        """Sentence vectors as the index run stored them; any it did not store (all of them
        with `index_sentence_vectors` off, or an article caught up from a Chroma server
        without its vectors) are computed now and kept."""
        stored = pool.lexical.vectors([c.key for c in head])
        missing = [c for c in head if c.key not in stored]
        if missing:
            stored.update(zip((c.key for c in missing), self.cache.vectors(missing),
                              strict=True))
        return np.stack([stored[c.key] for c in head])


def _with_headlines(sims: np.ndarray, head: list[Candidate], pool: Pool, query: np.ndarray,
                    weight: float) -> np.ndarray:
    """Each sentence's similarity with its headline's mixed in (an article whose headline
    vector is missing keeps the sentence's own)."""
    if not weight:
        return sims
    own = {c.ref.article_id: float(np.asarray(pool.headlines[c.ref.article_id]) @ query)
           for c in head if c.ref.article_id in pool.headlines}
    return np.array([(s + weight * own[c.ref.article_id]) / (1 + weight)
                     if c.ref.article_id in own else s for s, c in zip(sims, head, strict=True)])


def _diversify(candidates: list[Candidate], penalty: float, share: int = 0,
               over_share: float = 0.0) -> None:
    """Greedy re-order: each earlier pick from the same article costs `penalty`, and the
    article's picks past its first `share` cost `over_share` more.

    Many-part questions need evidence from several articles; without this the top ranks fill
    up with near-duplicate sentences of the single best-matching article (or, on full-length
    news, with one long page's many loosely matching sentences).
    """

    def cost(c: Candidate) -> float:
        n = seen.get(c.ref.article_id, 0)
        return penalty * n + over_share * max(0, n + 1 - share)

    remaining = list(candidates)
    seen: dict[str, int] = {}
    ordered = []
    while remaining:
        best = max(remaining, key=lambda c: c.score - cost(c))
        remaining.remove(best)
        seen[best.ref.article_id] = seen.get(best.ref.article_id, 0) + 1
        ordered.append(best)
    candidates[:] = ordered
