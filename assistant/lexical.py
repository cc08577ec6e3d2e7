"""BM25 over sentences, and sentence vectors, derived from the store and persisted beside it.

It is never the only copy of anything: the folder is keyed by the store's signature and rebuilt
from the stored articles whenever they change (an index run, an upload, another process). A
sentence is indexed together with its article's title and source, because news questions name
the outlet and the story as often as they quote its words.

Sentence vectors (what the reranker compares a question with) are derived here too, after the
store changes, and reused for every sentence whose article is unchanged: computing them at
question time cost seconds for each new question, and computing them in `newsdesk index` would
double its embedding work for every article, asked about or not.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from index.fields import date_sort_key
from index.indexer import embedding_text
from index.store import Store

_STEMMER = Stemmer.Stemmer("english")
# bm25s sets its own logger to DEBUG on import; its chatter is not ours to print.
logging.getLogger("bm25s").setLevel(logging.WARNING)


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False,
                          show_progress=False)


@dataclass(frozen=True)
class ArticleInfo:
    """What retrieval needs of an article without loading its text."""

    title: str
    source: str
    published_at: str
    published_ts: float | None


@dataclass(frozen=True)
class SentenceRef:
    article_id: str
    index: int
    start: int
    end: int


class LexicalIndex:
    """Sentence-level BM25 plus a catalog of sentence refs and article metadata."""

    def __init__(self, signature: str, bm25: bm25s.BM25 | None, refs: list[SentenceRef],
                 catalog: dict[str, ArticleInfo], vectors: np.ndarray | None = None):
        self.signature = signature
        self.vectors = vectors  # (len(refs), d) unit vectors of embedding_text(title, sentence)
        self.bm25 = bm25
        self.refs = refs
        self.catalog = catalog
        self.vocabulary: set[str] = set(bm25.vocab_dict) if bm25 is not None else set()
        self.by_article: dict[str, list[SentenceRef]] = {}
        self.position: dict[tuple[str, int], int] = {}
        for row, ref in enumerate(refs):
            self.by_article.setdefault(ref.article_id, []).append(ref)
            self.position[(ref.article_id, ref.index)] = row

    def search(self, query: str, k: int, allowed: set[str] | None = None
               ) -> list[tuple[SentenceRef, float]]:
        if self.bm25 is None or not self.refs:
            return []
        tokens = [t for t in tokenize([query])[0] if t in self.vocabulary]
        if not tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.array([ref.article_id in allowed for ref in self.refs], dtype=np.float32)
        ids, scores = self.bm25.retrieve([tokens], k=min(k, len(self.refs)), show_progress=False,
                                         weight_mask=mask)
        return [(self.refs[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True)
                if s > 0]

    def best_part_scores(self, parts: list[str]) -> np.ndarray | None:
        """Per sentence, its best BM25 score over the parts, each part normalised by its top.

        A many-part question's evidence matches one part each; scoring the whole question
        lets the words of the other parts drown that match.
        """
        if self.bm25 is None or not parts:
            return None
        best = np.zeros(len(self.refs), dtype=np.float32)
        for tokens in tokenize(parts):
            tokens = [t for t in tokens if t in self.vocabulary]
            if not tokens:
                continue
            scores = self.bm25.get_scores(tokens)
            top = float(scores.max())
            if top > 0:
                np.maximum(best, scores / top, out=best)
        return best

    def known_terms(self, text: str) -> list[bool]:
        """For each token of `text`: does the corpus hold it at all?"""
        return [t in self.vocabulary for t in tokenize([text])[0]]


def build(store: Store, signature: str, embed=None, previous: LexicalIndex | None = None
          ) -> LexicalIndex:
    """Rebuild from the stored articles; sentence vectors of unchanged articles are reused."""
    refs: list[SentenceRef] = []
    docs: list[str] = []
    vector_texts: list[str] = []
    catalog: dict[str, ArticleInfo] = {}
    for article in store.iter_articles():
        catalog[article.id] = ArticleInfo(article.title, article.source, article.published_at,
                                          date_sort_key(article.published_at))
        for s in article.sentences:
            text = article.text[s.start:s.end]
            refs.append(SentenceRef(article.id, s.index, s.start, s.end))
            docs.append(f"{article.title} {article.source} {text}")
            vector_texts.append(embedding_text(article.title, text))
    bm25 = None
    if docs:
        bm25 = bm25s.BM25()
        bm25.index(tokenize(docs), show_progress=False)
    vectors = None
    if embed is not None and refs:
        old = previous if previous is not None and previous.vectors is not None else None
        rows = [old.position.get((r.article_id, r.index)) if old else None for r in refs]
        missing = [i for i, row in enumerate(rows) if row is None]
        fresh = embed([vector_texts[i] for i in missing]) if missing else None
        dim = fresh.shape[1] if fresh is not None else old.vectors.shape[1]
        vectors = np.zeros((len(refs), dim), dtype=np.float32)
        for i, row in enumerate(rows):
            if row is not None:
                vectors[i] = old.vectors[row]
        if fresh is not None:
            vectors[missing] = fresh
    return LexicalIndex(signature, bm25, refs, catalog, vectors)


def save(index: LexicalIndex, folder: Path) -> None:
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if index.bm25 is not None:
        index.bm25.save(str(tmp / "bm25"), show_progress=False)
    if index.vectors is not None:
        np.save(tmp / "vectors.npy", index.vectors)
    (tmp / "refs.json").write_text(json.dumps({
        "signature": index.signature,
        "refs": [[r.article_id, r.index, r.start, r.end] for r in index.refs],
        "catalog": {k: [v.title, v.source, v.published_at, v.published_ts]
                    for k, v in index.catalog.items()},
    }), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)  # the folder appears whole or not at all


def load(folder: Path) -> LexicalIndex | None:
    try:
        data = json.loads((folder / "refs.json").read_text(encoding="utf-8"))
        bm25 = (bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
                if (folder / "bm25").exists() else None)
        vectors = (np.load(folder / "vectors.npy") if (folder / "vectors.npy").exists()
                   else None)
    except (OSError, ValueError, KeyError):
        return None  # derived data: a damaged copy is simply rebuilt
    refs = [SentenceRef(a, int(i), int(s), int(e)) for a, i, s, e in data["refs"]]
    catalog = {k: ArticleInfo(*v) for k, v in data["catalog"].items()}
    if vectors is not None and len(vectors) != len(refs):
        vectors = None
    return LexicalIndex(data["signature"], bm25, refs, catalog, vectors)


class LexicalCache:
    """The current lexical index for a store; re-checks the store's signature every few seconds."""

    def __init__(self, store: Store, folder: Path, recheck_seconds: float = 2.0, embed=None):
        self.store = store
        self.embed = embed  # texts -> unit vectors; None: no derived sentence vectors
        self.folder = folder
        self.recheck_seconds = recheck_seconds
        self._index: LexicalIndex | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self, force_check: bool = False) -> LexicalIndex:
        with self._lock:
            now = time.monotonic()
            if self._index is not None and not force_check and (
                    now - self._checked < self.recheck_seconds):
                return self._index
            signature = self.store.signature()
            self._checked = now
            if self._index is not None and self._index.signature == signature:
                return self._index
            loaded = load(self.folder)
            if loaded is None or loaded.signature != signature or (
                    self.embed is not None and loaded.vectors is None):
                loaded = build(self.store, signature, self.embed, self._index or loaded)
                try:
                    save(loaded, self.folder)
                except OSError:
                    pass  # a read-only data directory still answers; it just rebuilds next time
            self._index = loaded
            return loaded
