"""The sentence index: BM25 over every sentence, each sentence's vector, the article catalog.

It is derived state, written by the index run in the same batch as the article it belongs to
(see `Store.write`), so a question never rebuilds anything: adding k articles costs O(k), and
a process that answers reads only the rows of its candidates.

Why SQLite FTS5: it is in Python's standard library, it ranks with `bm25()`, it is updated
row by row (no whole-corpus rebuild, unlike bm25s), and readers see a writer's committed rows
at once (WAL), in this process or another. Measured against the bm25s index it replaces on
MultiHop-RAG dev: the same retrieval figures (see docs/ARCHITECTURE.md).

Sentences are stored pre-tokenized with the tokenizer bm25s used (lower case, `\\w\\w+`,
English stopwords, Snowball stemmer), so the terms, and therefore `known` (names the corpus
never mentions), are those of the old index; FTS5 only splits them on spaces.

Sentence vectors (the reranker's, of the sentence's text alone) live here too, unless
`Settings.index_sentence_vectors` is off, as float32 blobs keyed by (article, sentence), fetched
by id for a question's ~48 candidates. With one-sentence chunks (the default) Chroma holds the
same vectors for the dense search; the copy here is what a question reads, in one indexed
query, without a round trip to a Chroma server.

`LexicalStore` is the interface the assistant uses; `SqliteLexicalStore` is the one backend.
A server (e.g. a search service beside a Chroma server) would implement the same methods.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from index.dates import date_sort_key
from index.furniture import RECURRING_ARTICLES, is_furniture, short_enough_to_recur, text_key
from index.types import Article
from index.types import Sentence as SentenceRef  # one type: a sentence is a span of its article

SCHEMA_VERSION = "2"  # 2: sentences.text_key (recurring lines); furniture has no terms
_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s' (and scikit-learn's) token pattern
_IN_CHUNK = 500  # ids per `IN (...)`: well under SQLite's variable limit
# FTS5 scores every sentence that holds any of the question's terms, so a question costs its
# terms' postings: ~1.2 ms per thousand on these machines (measured on 3,000 generated
# articles, where a MultiHop-RAG question's terms have ~38,000 postings and the search took
# 45 ms). Past this many, the most frequent terms (the lowest IDF, the least informative) are
# left out of the match, rarest first kept, so the cost stays flat as the corpus grows. Real
# corpora stay under it at dev size (MultiHop-RAG: 444 sentences; RealTimeQA dev: 45,161),
# so their rankings are unchanged.
MATCH_POSTINGS_BUDGET = 50_000


@dataclass(frozen=True)
class ArticleInfo:
    """What retrieval needs of an article without loading its text."""

    title: str
    source: str
    published_at: str
    published_ts: float | None


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def tokenize(texts: Iterable[str]) -> list[list[str]]:
    """Terms per text, equal to `bm25s.tokenize(texts, stopwords="en", stemmer=english)`."""
    stop = _stopwords()
    return [[_stem(w) for w in _WORD.findall(text.lower()) if w not in stop] for text in texts]


def document_text(title: str, source: str, sentence: str) -> str:
    """What a sentence is indexed as: news questions name the story and the outlet as often
    as they quote its words."""
    return f"{title} {source} {sentence}"


def _match_expression(terms: Sequence[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class LexicalStore(Protocol):
    """What the assistant needs besides the vector store, one backend per deployment."""

    def write(self, articles: Sequence[Article], sentence_vectors=None) -> None: ...
    def delete(self, article_ids: Sequence[str]) -> None: ...
    def article_ids(self) -> set[str]: ...
    def articles_without_vectors(self) -> set[str]:
        return {row[0] for row in self._rows(
            "SELECT DISTINCT article_id FROM sentences WHERE vector IS NULL")}

    def article_count(self) -> int: ...
    def search(self, query: str, k: int, sources: Sequence[str] = (),
               since_ts: float | None = None, until_ts: float | None = None
               ) -> list[tuple[SentenceRef, float]]: ...
    def part_scores(self, parts: Sequence[str], keys: Sequence[tuple[str, int]],
                    depth: int = 200) -> dict[tuple[str, int], float]: ...
    def recurring(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]: ...
    def known(self, terms: Sequence[str]) -> set[str]: ...
    def sentences_of(self, article_ids: Iterable[str]) -> dict[str, list[SentenceRef]]: ...
    def infos(self, article_ids: Iterable[str]) -> dict[str, ArticleInfo]: ...
    def sources(self) -> list[str]: ...
    def articles_from(self, sources: Sequence[str], low_ts: float, high_ts: float
                      ) -> dict[str, ArticleInfo]: ...
    def vectors(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], np.ndarray]: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS articles(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
    published_at TEXT NOT NULL, published_ts REAL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS articles_by_source ON articles(source, published_ts);
CREATE TABLE IF NOT EXISTS sentences(
    rowid INTEGER PRIMARY KEY, article_id TEXT NOT NULL, idx INTEGER NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, terms TEXT NOT NULL, vector BLOB,
    text_key INTEGER, UNIQUE(article_id, idx));
CREATE INDEX IF NOT EXISTS sentences_by_text ON sentences(text_key);
CREATE INDEX IF NOT EXISTS sentences_without_vector ON sentences(article_id)
    WHERE vector IS NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS sentence_fts USING fts5(
    terms, content='sentences', content_rowid='rowid',
    tokenize="unicode61 remove_diacritics 0 tokenchars '_'");
"""


class SqliteLexicalStore:
    """The sentence index in one SQLite file (WAL: one writer at a time, readers alongside).

    One connection per instance, shared by threads under a lock: the chat's worker threads
    and its upload share one `Store`.
    """

    def __init__(self, path: Path, dimension: int | None = None,
                 match_budget: int = MATCH_POSTINGS_BUDGET):
        self.path = Path(path)
        self.dimension = dimension
        self.match_budget = match_budget
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._upgraded = False

    @property
    def db(self) -> sqlite3.Connection:
        """Opened on first use, so that a store that is only listed never creates the file."""
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False,
                                 isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout = 60000")
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                    db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                               (SCHEMA_VERSION,))
                _upgrade(db)
                # Per connection (temp): each term's number of sentences, for `_affordable`.
                db.execute("CREATE VIRTUAL TABLE temp.sentence_vocab "
                           "USING fts5vocab(main, sentence_fts, 'row')")
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def exists(self) -> bool:
        return self.path.exists()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*")
                   if p.is_file())

    # ---- writing -------------------------------------------------------------------------

    def write(self, articles: Sequence[Article], sentence_vectors=None) -> None:
        """Replace the rows of these articles in one transaction. `sentence_vectors` holds one
        row per sentence of every article, in order; None stores no vectors (they are then
        computed for a question's candidates when needed)."""
        count = sum(len(a.sentences) for a in articles)
        if sentence_vectors is not None and len(sentence_vectors) != count:
            raise ValueError(f"{len(sentence_vectors)} sentence vectors for {count} sentences")
        rows = []
        article_rows = []
        position = 0
        for article in articles:
            article_rows.append((article.id, article.title, article.source,
                                 article.published_at, date_sort_key(article.published_at)))
            texts = [document_text(article.title, article.source, article.sentence_text(s))
                     for s in article.sentences]
            for s, terms in zip(article.sentences, tokenize(texts), strict=True):
                vector = None
                if sentence_vectors is not None:
                    vector = np.asarray(sentence_vectors[position], dtype=np.float32).tobytes()
                sentence = article.sentence_text(s)
                # Furniture (index/furniture.py) is kept with its offsets but not searched.
                terms_text = "" if is_furniture(sentence) else " ".join(terms)
                key = text_key(sentence) if short_enough_to_recur(sentence) else None
                rows.append((s.article_id, s.index, s.start, s.end, terms_text, vector, key))
                position += 1
        with self._lock, self._transaction() as db:
            self._delete(db, [a.id for a in articles])
            db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?)", article_rows)
            first = db.execute("SELECT coalesce(max(rowid), 0) + 1 FROM sentences").fetchone()[0]
            numbered = [(first + i, *row) for i, row in enumerate(rows)]
            db.executemany("INSERT INTO sentences(rowid, article_id, idx, start_char, end_char, "
                           "terms, vector, text_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", numbered)
            db.executemany("INSERT INTO sentence_fts(rowid, terms) VALUES (?, ?)",
                           [(row[0], row[5]) for row in numbered])

    def delete(self, article_ids: Sequence[str]) -> None:
        if not article_ids:
            return
        with self._lock, self._transaction() as db:
            self._delete(db, list(article_ids))

    def _delete(self, db: sqlite3.Connection, article_ids: list[str]) -> None:
        for part in _chunks(article_ids):
            marks = ",".join("?" * len(part))
            # An external-content FTS5 table forgets a row only when told its old terms.
            db.execute("INSERT INTO sentence_fts(sentence_fts, rowid, terms) SELECT 'delete', "
                       f"rowid, terms FROM sentences WHERE article_id IN ({marks})", part)
            db.execute(f"DELETE FROM sentences WHERE article_id IN ({marks})", part)
            db.execute(f"DELETE FROM articles WHERE id IN ({marks})", part)

    def _transaction(self):
        if not self._upgraded:
            # Files made before this index: added by the first write (a reader never writes).
            self.db.execute("CREATE INDEX IF NOT EXISTS sentences_without_vector ON "
                            "sentences(article_id) WHERE vector IS NULL")
            self._upgraded = True
        return _Transaction(self.db)

    # ---- reading -------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    def article_ids(self) -> set[str]:
        return {row[0] for row in self._rows("SELECT id FROM articles")}

    def articles_without_vectors(self) -> set[str]:
        return {row[0] for row in self._rows(
            "SELECT DISTINCT article_id FROM sentences WHERE vector IS NULL")}

    def article_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM articles")[0][0])

    def sentence_counts(self, article_ids: Sequence[str]) -> dict[str, int]:
        """Sentence rows per article (absent: none), to check a written batch."""
        out: dict[str, int] = {}
        for part in _chunks(sorted(set(article_ids))):
            out.update(self._rows("SELECT article_id, count(*) FROM sentences WHERE article_id "
                                  f"IN ({','.join('?' * len(part))}) GROUP BY article_id",
                                  part))
        return out

    def sentence_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM sentences")[0][0])

    def search(self, query: str, k: int, sources: Sequence[str] = (),
               since_ts: float | None = None, until_ts: float | None = None
               ) -> list[tuple[SentenceRef, float]]:
        """The k best sentences by BM25 (higher is better), within the filters if given."""
        terms = tokenize([query])[0]
        if not terms or k <= 0:
            return []
        terms = self._affordable(terms)
        sql = ("SELECT s.article_id, s.idx, s.start_char, s.end_char, sentence_fts.rank "
               "FROM sentence_fts JOIN sentences s ON s.rowid = sentence_fts.rowid ")
        params: list = [_match_expression(terms)]
        clauses = []
        if sources or since_ts is not None or until_ts is not None:
            sql += "JOIN articles a ON a.id = s.article_id "
            if sources:
                clauses.append(f"a.source IN ({','.join('?' * len(sources))})")
                params.extend(sources)
            if since_ts is not None:
                clauses.append("a.published_ts >= ?")
                params.append(since_ts)
            if until_ts is not None:
                clauses.append("a.published_ts <= ?")
                params.append(until_ts)
        sql += "WHERE sentence_fts MATCH ? " + "".join(f"AND {c} " for c in clauses)
        sql += "ORDER BY sentence_fts.rank LIMIT ?"
        params.append(int(k))
        return [(SentenceRef(a, int(i), int(s), int(e)), -float(r))
                for a, i, s, e, r in self._rows(sql, params) if r < 0]

    def _affordable(self, terms: list[str]) -> list[str]:
        """`terms` without the most frequent ones once their postings pass `match_budget`
        (`MATCH_POSTINGS_BUDGET`; the rarest term always stays). The counts come from FTS5's
        own vocabulary table, ~2 ms a question."""
        distinct = sorted(set(terms))
        postings = dict(self._rows("SELECT term, doc FROM temp.sentence_vocab WHERE term IN "
                                   f"({','.join('?' * len(distinct))})", distinct))
        if sum(postings.get(t, 0) for t in distinct) <= self.match_budget:
            return terms
        kept, used = set(), 0
        for term in sorted(distinct, key=lambda t: postings.get(t, 0)):
            if kept and used + postings.get(term, 0) > self.match_budget:
                break
            kept.add(term)
            used += postings.get(term, 0)
        return [t for t in terms if t in kept]

    def part_scores(self, parts: Sequence[str], keys: Sequence[tuple[str, int]],
                    depth: int = 200) -> dict[tuple[str, int], float]:
        """Per key, its best BM25 score over the parts, each part normalised by its top.

        A many-part question's evidence matches one part each; scoring the whole question
        lets the words of the other parts drown that match. Only each part's `depth` best
        sentences count (the rest score 0): what matters is the head of each part's list.
        """
        wanted = set(keys)
        best: dict[tuple[str, int], float] = {}
        for part in parts:
            hits = self.search(part, depth)
            if not hits or hits[0][1] <= 0:
                continue
            top = hits[0][1]
            for ref, score in hits:
                key = (ref.article_id, ref.index)
                if key in wanted:
                    best[key] = max(best.get(key, 0.0), score / top)
        return best

    def recurring(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """The (article, sentence) keys whose short line recurs, as is, in at least
        `RECURRING_ARTICLES` distinct articles: page furniture, whatever its words."""
        by_key: dict[tuple[str, int], int] = {}
        wanted = set(keys)
        for part in _chunks(sorted({k[0] for k in wanted})):
            rows = self._rows("SELECT article_id, idx, text_key FROM sentences WHERE article_id "
                              f"IN ({','.join('?' * len(part))}) AND text_key IS NOT NULL", part)
            by_key.update(((a, int(i)), int(t)) for a, i, t in rows if (a, int(i)) in wanted)
        recurs = {t for t in set(by_key.values()) if self._recurs(t)}
        return {k for k, t in by_key.items() if t in recurs}

    def _recurs(self, key: int) -> bool:
        """Whether the line `key` stands for is in `RECURRING_ARTICLES` articles or more.

        Counted only up to that threshold, through the `text_key` index: a line that recurs in
        thousands of articles would otherwise cost thousands of rows a question (measured: 206
        ms of a 392 ms question at 30,000 generated articles)."""
        (count,), = self._rows("SELECT count(*) FROM (SELECT DISTINCT article_id FROM sentences "
                               "WHERE text_key = ? LIMIT ?)", (key, RECURRING_ARTICLES))
        return count >= RECURRING_ARTICLES

    def known(self, terms: Sequence[str]) -> set[str]:
        """Which of these (already tokenized) terms occur in any sentence."""
        out = set()
        for term in dict.fromkeys(terms):
            if self._rows("SELECT 1 FROM sentence_fts WHERE sentence_fts MATCH ? LIMIT 1",
                          (_match_expression([term]),)):
                out.add(term)
        return out

    def sentences_of(self, article_ids: Iterable[str]) -> dict[str, list[SentenceRef]]:
        out: dict[str, list[SentenceRef]] = {}
        for part in _chunks(sorted(set(article_ids))):
            rows = self._rows("SELECT article_id, idx, start_char, end_char FROM sentences "
                              f"WHERE article_id IN ({','.join('?' * len(part))}) "
                              "ORDER BY article_id, idx", part)
            for a, i, s, e in rows:
                out.setdefault(a, []).append(SentenceRef(a, int(i), int(s), int(e)))
        return out

    def infos(self, article_ids: Iterable[str]) -> dict[str, ArticleInfo]:
        out: dict[str, ArticleInfo] = {}
        for part in _chunks(sorted(set(article_ids))):
            rows = self._rows("SELECT id, title, source, published_at, published_ts "
                              f"FROM articles WHERE id IN ({','.join('?' * len(part))})", part)
            out.update((row[0], ArticleInfo(*row[1:])) for row in rows)
        return out

    def sources(self) -> list[str]:
        return [row[0] for row in self._rows(
            "SELECT DISTINCT source FROM articles WHERE source != '' ORDER BY source")]

    def articles_from(self, sources: Sequence[str], low_ts: float, high_ts: float
                      ) -> dict[str, ArticleInfo]:
        """Articles of these outlets published within [low_ts, high_ts]."""
        if not sources:
            return {}
        rows = self._rows("SELECT id, title, source, published_at, published_ts FROM articles "
                          f"WHERE source IN ({','.join('?' * len(sources))}) "
                          "AND published_ts BETWEEN ? AND ?", [*sources, low_ts, high_ts])
        return {row[0]: ArticleInfo(*row[1:]) for row in rows}

    def vectors(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], np.ndarray]:
        """Stored sentence vectors for these (article, sentence) keys; absent ones are left
        out (an article indexed without them, e.g. caught up from a server)."""
        wanted = set(keys)
        out: dict[tuple[str, int], np.ndarray] = {}
        for part in _chunks(sorted({k[0] for k in wanted})):
            rows = self._rows("SELECT article_id, idx, vector FROM sentences WHERE article_id "
                              f"IN ({','.join('?' * len(part))}) AND vector IS NOT NULL", part)
            for a, i, blob in rows:
                if (a, i) in wanted:
                    out[(a, i)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def snapshot(self) -> dict:
        """Every row but the vectors, comparable between two stores (tests: a killed run
        equals a clean one); raises if the FTS index disagrees with the sentences table."""
        with self._lock:
            self.db.execute("INSERT INTO sentence_fts(sentence_fts, rank) "
                            "VALUES ('integrity-check', 1)")
        return {"articles": sorted(self._rows("SELECT * FROM articles")),
                "sentences": sorted(self._rows("SELECT article_id, idx, start_char, end_char, "
                                               "terms, vector IS NOT NULL FROM sentences"))}

    def all_vectors(self) -> dict[str, list[float]]:
        """`article_id:index` -> vector, for tests."""
        return {f"{a}:{i}": np.frombuffer(blob, dtype=np.float32).tolist() for a, i, blob in
                self._rows("SELECT article_id, idx, vector FROM sentences "
                           "WHERE vector IS NOT NULL")}


def _upgrade(db: sqlite3.Connection) -> None:
    """A version-1 file gains the `text_key` column (its rows stay NULL: never recurring) and
    its index; nothing else changes."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(sentences)")}
    if "text_key" not in columns:
        db.execute("ALTER TABLE sentences ADD COLUMN text_key INTEGER")
    db.execute("CREATE INDEX IF NOT EXISTS sentences_by_text ON sentences(text_key)")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection is autocommit)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start:start + _IN_CHUNK]
