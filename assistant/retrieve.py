"""Hybrid candidate retrieval: dense chunks, BM25 sentences and headline matches, fused.

Chunks are what Chroma returns; sentences are what gets cited. Every list is therefore turned
into sentence candidates (a chunk stands for each of its sentences) and fused by reciprocal
rank. Articles whose outlet and date the question names are added too: those facts live in
metadata, not in the text. Page furniture (index/furniture.py: labels, section heads, sign-up
prompts, lines recurring across articles) is dropped from the pool: it stays in the stored
text but is never ranked or cited. The reranker then orders the pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from assistant.query_meta import QueryMeta, match, meta_score
from index.dates import date_sort_key
from index.embed import Embedder
from index.furniture import is_furniture
from index.lexical_store import ArticleInfo, LexicalStore
from index.store import Store
from index.types import Article, Sentence

RRF_K = 60  # the constant from Cormack et al. (2009); robust, not tuned
UNRANKED = float("-inf")  # the score of a candidate the reranker left out


@dataclass(frozen=True)
class Filters:
    """Newsroom filters: publication window (ISO dates, inclusive) and outlets."""

    since: str = ""
    until: str = ""
    sources: tuple[str, ...] = ()

    def _bounds(self) -> tuple[float | None, float | None]:
        low = date_sort_key(self.since) if self.since else None
        high = date_sort_key(self.until) if self.until else None
        if high is not None and len(self.until.strip()) <= 10:
            high += 86400 - 1e-3  # a bare date includes its whole day
        return low, high

    def where(self) -> dict | None:
        low, high = self._bounds()
        clauses: list[dict] = []
        if low is not None:
            clauses.append({"published_ts": {"$gte": low}})
        if high is not None:
            clauses.append({"published_ts": {"$lte": high}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, info: ArticleInfo) -> bool:
        low, high = self._bounds()
        if self.sources and info.source not in self.sources:
            return False
        if low is not None or high is not None:
            if info.published_ts is None:
                return False
            if low is not None and info.published_ts < low:
                return False
            if high is not None and info.published_ts > high:
                return False
        return True

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.sources)


@dataclass
class Candidate:
    ref: Sentence
    info: ArticleInfo
    text: str = ""
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        return self.ref.article_id, self.ref.index


@dataclass
class Pool:
    """Everything the reranker and the answer need about one question's candidates."""

    question: str
    query_vector: object
    meta: QueryMeta
    candidates: list[Candidate]
    articles: dict[str, Article]
    timings: dict[str, float]
    lexical: LexicalStore
    as_of: date | None = None  # the question's date, when the asker gives one
    headlines: dict[str, object] = field(default_factory=dict)  # article id -> its vector

    def ranked(self) -> list[Candidate]:
        """The candidates the reranker scored, in pool order (the reranker's: best first);
        those it left out (`UNRANKED`) are not among them."""
        return [c for c in self.candidates if c.score != UNRANKED]


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, depth: int = 40):
        self.store = store
        self.embedder = embedder
        self.depth = depth

    def retrieve(self, question: str, lexical: LexicalStore, filters: Filters | None = None
                 ) -> Pool:
        filters = filters or Filters()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        vector = self.embedder.embed_query(question)
        timings["embed_ms"] = _ms(t)

        t = time.perf_counter()
        where = filters.where()
        chunk_hits = self.store.query_chunks(vector, self.depth, where)
        title_hits = self.store.query_titles(vector, max(5, self.depth // 4), where)
        timings["dense_ms"] = _ms(t)

        t = time.perf_counter()
        low, high = filters._bounds()
        bm25_hits = lexical.search(question, self.depth, filters.sources, low, high)
        timings["bm25_ms"] = _ms(t)

        t = time.perf_counter()
        meta = match(question, lexical.sources())
        named = _named_articles(meta, lexical, filters)
        involved = ({h.chunk.article_id for h in chunk_hits} | {r.article_id for r, _ in bm25_hits}
                    | {a for a, _ in title_hits} | set(named))
        infos = lexical.infos(involved)
        sentences = lexical.sentences_of(involved)
        timings["catalog_ms"] = _ms(t)

        pool: dict[tuple[str, int], Candidate] = {}

        def candidate(ref: Sentence) -> Candidate | None:
            info = infos.get(ref.article_id)
            if info is None:  # removed since the search, or not committed yet
                return None
            return pool.setdefault((ref.article_id, ref.index), Candidate(ref, info))

        def refs_of(article_id: str) -> list[Sentence]:
            return sentences.get(article_id, [])

        for rank, hit in enumerate(chunk_hits):
            chunk = hit.chunk
            for ref in refs_of(chunk.article_id)[chunk.sentence_start:chunk.sentence_end]:
                c = candidate(ref)
                if c is not None:
                    c.ranks.setdefault("dense", rank)
                    c.scores["dense"] = max(c.scores.get("dense", 0.0), hit.score)
        for rank, (ref, score) in enumerate(bm25_hits):
            c = candidate(ref)
            if c is not None:
                c.ranks["bm25"] = rank
                c.scores["bm25"] = score
        for rank, (article_id, score) in enumerate(title_hits):
            for ref in refs_of(article_id):
                c = candidate(ref)
                if c is not None:
                    c.ranks.setdefault("title", rank)
                    c.scores["title"] = score
        for article_id in named:
            for ref in refs_of(article_id):
                candidate(ref)

        candidates = list(pool.values())
        for c in candidates:
            c.scores["rrf"] = sum(1.0 / (RRF_K + r + 1) for r in c.ranks.values())
            c.features["source"], c.features["date"] = meta_score(meta, c.info)

        t = time.perf_counter()
        ids = sorted({c.ref.article_id for c in candidates})
        articles = self.store.get_articles(ids)
        headlines = self.store.headline_vectors(ids)
        timings["fetch_ms"] = _ms(t)
        kept = []
        for c in candidates:
            article = articles.get(c.ref.article_id)
            if article is not None:
                c.text = article.text[c.ref.start:c.ref.end]
                kept.append(c)
        t = time.perf_counter()
        kept = without_furniture(kept, lexical)
        timings["furniture_ms"] = _ms(t)
        return Pool(question, vector, meta, kept, articles, timings, lexical,
                    headlines=headlines)


def without_furniture(candidates: list[Candidate], lexical: LexicalStore) -> list[Candidate]:
    """The candidates that are not page furniture: by their own words (`is_furniture`), then
    by recurring as is in other articles (one query for all)."""
    kept = [c for c in candidates if not is_furniture(c.text)]
    recurring = lexical.recurring([c.key for c in kept]) if kept else set()
    return [c for c in kept if c.key not in recurring]


def _named_articles(meta: QueryMeta, lexical: LexicalStore, filters: Filters
                    ) -> dict[str, ArticleInfo]:
    """Articles of an outlet the question names, published on (or a day from) a date it
    gives: found by the catalog's (source, date) index, then checked exactly."""
    if not (meta.sources and meta.dates):
        return {}
    days = sorted(meta.dates)
    low = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC) - timedelta(days=2)
    high = datetime(days[-1].year, days[-1].month, days[-1].day, tzinfo=UTC) + timedelta(days=3)
    found = lexical.articles_from(sorted(meta.sources), low.timestamp(), high.timestamp())
    return {a: info for a, info in sorted(found.items())
            if filters.allows(info) and all(meta_score(meta, info))}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
