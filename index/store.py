"""The Chroma store: chunks (embedded, retrieved) and articles (full text, cited from).

Two collections share one prefix. `<prefix>-chunks` holds one record per chunk, written
through llama-index's `ChromaVectorStore` as `TextNode`s that keep their character span.
`<prefix>-articles` holds one record per article: its full text (so any citation can be shown
in its paragraph), metadata, and its sentence offsets; its vector is the title's embedding, so
a question naming a headline can match it.

Beside them, the sentence index (`index.lexical_store`: BM25 terms, sentence vectors, the
article catalog) is written in the same batch, so that nothing is derived at question time.

Crash safety rests on write order: an article's chunks and its sentence rows are written before
its article record, and the article record is the commit mark. A run killed in between leaves
chunks and sentence rows without an article record; `recover()` deletes those at the start of
the next run, so the store never keeps a half-written article and never duplicates one (ids are
deterministic). Removal goes the other way round (record first), with the same clean-up.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.dates import date_sort_key
from index.errors import NewsdeskError, clip
from index.journal import Journal
from index.lexical_store import SqliteLexicalStore
from index.settings import Settings
from index.types import Article, Chunk, Sentence

log = logging.getLogger("newsdesk.store")

PAGE = 2000
# Below this much free space, a failed write to the embedded store is taken as a full disk:
# Chroma's core reports ENOSPC only as "Failed to apply logs to the metadata segment".
LOW_SPACE = 64 * 1024 * 1024


@dataclass(frozen=True)
class StoreStats:
    articles: int
    sentences: int
    chunks: int
    sources: int
    first_published: str | None
    last_published: str | None


@dataclass(frozen=True)
class ChunkHit:
    """One dense-search result: the stored chunk, and its similarity to the question."""

    chunk: Chunk
    score: float


def _guarded(doing: str):
    """Turn any backend failure of a store method into the one-line `NewsdeskError`."""

    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except NewsdeskError:
                raise
            except Exception as exc:
                raise self._error(doing, exc) from None

        return guarded

    return wrap


def _describe(settings: Settings) -> str:
    return settings.chroma_url or str(settings.home_path / "chroma")


def connect_server(settings: Settings):
    """A chromadb client for the Chroma server at `settings.chroma_url` (the embedded store
    goes through `embedded_handle`)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token}"
        client = chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https", headers=headers,
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        client.heartbeat()
        return client
    except Exception as exc:  # chromadb raises many types; the user needs one line
        raise NewsdeskError(
            f"cannot open the Chroma store at {_describe(settings)} ({_one_line(exc)}); "
            "check that it is running and reachable, or unset NEWSDESK_CHROMA_URL"
        ) from None


def disk_error(settings: Settings, exc: BaseException) -> NewsdeskError | None:
    """The data directory's own fault (read-only, or out of space) as the one line that says
    so, or None when the cause lies elsewhere.

    Chroma's embedded store writes even to open for reading, and its messages name neither
    cause plainly ("attempt to write a readonly database", "Failed to apply logs"), so the
    directory itself is checked. A Chroma server's disk is the server's business: None."""
    if settings.chroma_url:
        return None
    home = settings.home_path
    text = str(exc).lower()
    code = exc.errno if isinstance(exc, OSError) else None
    where = _existing(home / "chroma")
    read_only = (code in (errno.EROFS, errno.EACCES, errno.EPERM)
                 or "readonly database" in text or "read-only file system" in text
                 or not os.access(where, os.W_OK))
    if read_only:
        return NewsdeskError(
            f"the data directory {home} is read-only ({_one_line(exc)}); make it writable, "
            "or point NEWSDESK_HOME (--home) at a writable copy of it, then re-run: "
            "nothing already indexed was lost")
    free = shutil.disk_usage(where).free
    if (code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text
            or "no space left" in text or free < LOW_SPACE):
        return NewsdeskError(
            f"no space left on the disk of the data directory {home} ({free // 1024} KiB "
            f"free; {_one_line(exc)}); free space or move NEWSDESK_HOME (--home) to a bigger "
            "disk, then re-run: nothing already indexed was lost")
    return None


def _existing(path):
    """The path, or its nearest existing parent (the data directory may not exist yet)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _one_line(exc: BaseException) -> str:
    return clip(exc, 200)


def encode_sentences(sentences: Iterable[Sentence]) -> str:
    return ";".join(f"{s.start},{s.end}" for s in sentences)


def decode_sentences(article_id: str, value: str) -> list[Sentence]:
    out = []
    for i, pair in enumerate(p for p in value.split(";") if p):
        start, end = pair.split(",")
        out.append(Sentence(article_id, i, int(start), int(end)))
    return out


class EmbeddedHandle:
    """The one embedded Chroma client of a data directory in this process, re-opened when
    another process has written to it.

    Embedded Chroma keeps each collection's vector index in memory and never re-reads it: a
    running chat would not find by similarity what `newsdesk index` (another process) added
    since it started. A new client alone does not help, because chromadb caches its System by
    path (chroma-core/chroma#3792); that cache entry is dropped first. Whose write it was is
    told by the write log's last sequence number: after each of our own writes it is
    recorded, so a higher number on disk means another process wrote.
    """

    def __init__(self, path: Path):
        self.path = path
        self.generation = 0
        self.seen = 0  # what last_sequence() falls back to while the file cannot be read
        self.client = self._open()
        self.seen = self.last_sequence()

    def _open(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(self.path),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))

    def last_sequence(self) -> int:
        """The highest write sequence number on disk (0 for a new store). Read with sqlite
        directly: Chroma offers no call for it, and this costs well under a millisecond."""
        try:
            with closing(sqlite3.connect(f"file:{self.path / 'chroma.sqlite3'}?mode=ro",
                                         uri=True, timeout=5)) as db:
                queued = db.execute("SELECT max(seq_id) FROM embeddings_queue").fetchone()[0]
                applied = db.execute("SELECT max(seq_id) FROM max_seq_id").fetchone()[0]
        except sqlite3.Error:
            return self.seen
        return max(int(queued or 0), int(applied or 0))

    def wrote(self) -> None:
        """Called after each of our own writes: what is on disk now is ours."""
        self.seen = self.last_sequence()

    def refresh(self) -> None:
        """Re-open if another process wrote since we last looked."""
        latest = self.last_sequence()
        if latest == self.seen:  # (lower: the store was deleted and made anew)
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        identifier = self.client._identifier
        old_system = SharedSystemClient._identifier_to_system.pop(identifier, None)
        SharedSystemClient._identifier_to_refcount.pop(identifier, None)
        self.client = self._open()
        if old_system is not None:
            old_system.stop()
        self.generation += 1
        self.seen = latest


_EMBEDDED: dict[Path, EmbeddedHandle] = {}
_EMBEDDED_LOCK = threading.Lock()


def embedded_handle(settings: Settings) -> EmbeddedHandle:
    path = (settings.home_path / "chroma").resolve()
    with _EMBEDDED_LOCK:
        if path not in _EMBEDDED:
            _EMBEDDED[path] = EmbeddedHandle(path)
        return _EMBEDDED[path]


class Store:
    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.location = _describe(settings)
        self._handle = None
        # The index run reads (this thread) while its writer thread writes: a re-open of the
        # embedded client (`refresh`) must never happen under a read in flight.
        self._lock = threading.RLock()
        if client is None and not settings.chroma_url:
            try:
                self._handle = embedded_handle(settings)
            except Exception as exc:
                raise self._error("open", exc) from None  # (names a read-only or full disk)
            client = self._handle.client
        self.client = client or connect_server(settings)
        self._open_collections()
        self.lexical = SqliteLexicalStore(settings.lexical_file)

    def _open_collections(self) -> None:
        space = {"hnsw:space": "cosine"}
        try:
            self._chunks = self.client.get_or_create_collection(
                f"{self.settings.collection}-chunks", metadata=space, embedding_function=None)
            self._articles = self.client.get_or_create_collection(
                f"{self.settings.collection}-articles", metadata=space, embedding_function=None)
        except Exception as exc:
            raise self._error("open the collections", exc) from None
        self._journal = None
        self._generation = self._handle.generation if self._handle else 0

    def refresh(self) -> None:
        """See what other processes wrote to an embedded store (a server is always current)."""
        with self._lock:
            if self._handle is not None:
                try:
                    self._handle.refresh()
                except Exception as exc:
                    raise self._error("re-open", exc) from None
            self._current()

    def _current(self) -> None:
        if self._handle is not None and self._generation != self._handle.generation:
            self.client = self._handle.client
            self._open_collections()

    def _wrote(self) -> None:
        if self._handle is not None:
            self._handle.wrote()

    @property
    def chunks(self):
        self._current()
        return self._chunks

    @property
    def articles(self):
        self._current()
        return self._articles

    @property
    def journal(self) -> Journal:
        """The write journal (`index.journal`), opened on first use: only writers need it."""
        self._current()
        if self._journal is None:
            try:
                self._journal = Journal(self.client, f"{self.settings.collection}-pending")
            except Exception as exc:
                raise self._error("open the write journal", exc) from None
        return self._journal

    def _error(self, doing: str, exc: BaseException) -> NewsdeskError:
        found = disk_error(self.settings, exc)
        if found is not None:
            return found
        return NewsdeskError(
            f"cannot {doing} in the Chroma store at {self.location} ({_one_line(exc)}); "
            "check the server or the disk, then re-run: nothing already indexed was lost"
        )

    # ---- writing -------------------------------------------------------------------------

    def write(self, articles: list[Article], chunks: list[Chunk], chunk_vectors,
              title_vectors, sentence_vectors=None) -> None:
        """Chunks and sentence rows first, article records last: the article record is the
        commit mark. `sentence_vectors`: one per sentence of the articles, in order.

        The batch's ids are in the write journal throughout, so that another writer's
        `recover` leaves them alone; after the commit the batch is read back and anything
        missing is written again (a `recover` that read the journal just before this batch
        was entered may have removed rows; once the record exists, nothing will)."""
        with self._lock:
            self.refresh()  # never write over another process's newer index
            try:
                batch = _Batch.make(articles, chunks, chunk_vectors, title_vectors,
                                    sentence_vectors)
                with self.journal.writing([a.id for a in articles]):
                    self._write_rows(batch)
                    self._commit(batch)
                    self._repair(batch)
            except NewsdeskError:
                raise
            except Exception as exc:
                raise self._error("write", exc) from None
            finally:
                self._wrote()

    def _write_rows(self, batch: _Batch) -> None:
        """Chunks (upserted: ids are deterministic, so two writers of one article write the
        same records), chunks left over from an older chunking removed, sentence rows."""
        self._upsert_chunks(batch.nodes())
        expected = {c.id for c in batch.chunks}
        stored = self._chunk_ids_of([a.id for a in batch.articles])
        extra = sorted(stored - expected)
        for start in range(0, len(extra), 500):
            self.chunks.delete(ids=extra[start:start + 500])
        self.lexical.write(batch.articles, batch.sentence_vectors)

    def _commit(self, batch: _Batch) -> None:
        self.articles.upsert(
            ids=[a.id for a in batch.articles],
            embeddings=[[float(x) for x in v] for v in batch.title_vectors],
            documents=[a.text for a in batch.articles],
            metadatas=[_article_metadata(a, batch.chunk_count(a.id)) for a in batch.articles],
        )

    def _repair(self, batch: _Batch, rounds: int = 3) -> None:
        for _ in range(rounds):
            have = self._chunk_ids_of([a.id for a in batch.articles])
            missing_chunks = [c for c in batch.chunks if c.id not in have]
            counts = self.lexical.sentence_counts([a.id for a in batch.articles])
            missing_rows = [a for a in batch.articles
                            if counts.get(a.id, 0) != len(a.sentences)]
            if not missing_chunks and not missing_rows:
                return
            log.warning("re-writing %d chunks and the sentence rows of %d articles removed "
                        "by a concurrent recover", len(missing_chunks), len(missing_rows))
            self._upsert_chunks(batch.nodes({c.id for c in missing_chunks}))
            if missing_rows:
                self.lexical.write(missing_rows, batch.sentence_vectors_of(missing_rows))
        raise NewsdeskError(f"the rows of a written batch keep disappearing from the store at "
                            f"{self.location}; is an older Newsdesk indexing into it too?")

    def _upsert_chunks(self, nodes) -> None:
        """As llama-index's `ChromaVectorStore.add` writes `TextNode`s, but as an upsert."""
        from llama_index.core.schema import MetadataMode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        for start in range(0, len(nodes), 1000):
            part = nodes[start:start + 1000]
            metadatas = []
            for node in part:
                meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
                metadatas.append({k: ("" if v is None else v) for k, v in meta.items()})
            self.chunks.upsert(
                ids=[n.node_id for n in part], embeddings=[n.get_embedding() for n in part],
                metadatas=metadatas,
                documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in part])

    def _chunk_ids_of(self, article_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(article_ids), 500):
            part = article_ids[start:start + 500]
            found.update(self.chunks.get(where={"article_id": {"$in": part}}, include=[])["ids"])
        return found

    def delete_articles(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._lock:
            self._delete_articles(ids)

    def _delete_articles(self, ids: list[str]) -> None:
        self.refresh()
        try:
            # Article records first: a crash after this leaves orphan chunks, which recover()
            # removes (the journal names them); the reverse order could leave an article that
            # cites missing chunks.
            with self.journal.writing(ids):
                self.articles.delete(ids=ids)
                self._delete_chunks_of(ids)
                self.lexical.delete(ids)
        except Exception as exc:
            raise self._error("delete", exc) from None
        finally:
            self._wrote()

    def _delete_chunks_of(self, article_ids: list[str]) -> None:
        for start in range(0, len(article_ids), 500):
            part = article_ids[start:start + 500]
            self.chunks.delete(where={"article_id": {"$in": part}})

    def recover(self, embed=None) -> int:
        """Clean up after killed runs, and catch the sentence index up. Returns the number
        of orphaned articles whose rows were removed.

        Killed runs' batches are found in the write journal (`index.journal`): the entries of
        runs that are gone name the articles whose chunks and sentence rows may lack their
        article record. Entries of live runs (another `newsdesk index` writing to the same
        server right now) are left alone, and so are their rows. With nothing pending this
        reads one empty collection and two counts, never every id of the store. A store
        written before the journal existed is scanned in full once.

        The sentence index gets the rows of stored articles it lacks (a store written before
        it existed, or a new `lexical_path`). `embed` (texts -> vectors) gives added rows
        their vectors, and fills in rows a reader added without them, but only for an
        embedded store: with a Chroma server and a private sentence index, that would embed
        every article other machines wrote, so such rows stay without vectors (the reranker
        embeds the few it needs; docs/DEPLOY.md)."""
        try:
            with self._lock:
                journal = self.journal
                entries = journal.entries()
                now = time.time()
                live = {e.article_id for e in entries if e.alive(now)}
                dead = [e for e in entries if not e.alive(now)]
                removed = self._clean_up(sorted({e.article_id for e in dead} - live), live)
                if journal.new:
                    removed += self._scan_orphans(live)
                    journal.new = False
                journal.forget(dead)
                if dead or removed:
                    self._wrote()
            removed += self._catch_up_lexical(live, embed if not self.settings.chroma_url
                                              else None)
            return removed
        except NewsdeskError:
            raise
        except Exception as exc:
            raise self._error("check for an interrupted run", exc) from None

    def _clean_up(self, article_ids: list[str], live: set[str]) -> int:
        """Rows of these articles whose record is missing are removed; a committed article
        whose chunks a killed writer had begun to replace is removed whole (the next run
        that has it re-indexes it as new), never left citing missing chunks."""
        if not article_ids:
            return 0
        present = self.present_ids(article_ids)
        orphans = sorted(set(article_ids) - present)
        self._delete_chunks_of(orphans)
        self.lexical.delete(orphans)
        broken = sorted(a for a, n in self._chunk_counts(sorted(present)).items()
                        if n[0] != n[1] and a not in live)
        if broken:
            log.warning("removing %d articles whose chunks an interrupted run left "
                        "incomplete; index them again", len(broken))
            self.articles.delete(ids=broken)
            self._delete_chunks_of(broken)
            self.lexical.delete(broken)
        return len(orphans) + len(broken)

    def _chunk_counts(self, article_ids: list[str]) -> dict[str, tuple[int, int]]:
        """(recorded n_chunks, stored chunks) per article."""
        out: dict[str, tuple[int, int]] = {}
        for start in range(0, len(article_ids), 500):
            part = article_ids[start:start + 500]
            page = self.articles.get(ids=part, include=["metadatas"])
            have = Counter(i.rsplit(":", 1)[0] for i in self._chunk_ids_of(part))
            for record_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                out[record_id] = (int((meta or {}).get("n_chunks", 0)), have[record_id])
        return out

    def _scan_orphans(self, live: set[str]) -> int:
        """The clean-up of a store from before the journal: every chunk id is read."""
        # A chunk's id is "<article id>:<n>" (`Chunk.id`): ids alone name the articles.
        chunk_articles = {row["id"].rsplit(":", 1)[0]
                          for row in self._all_metadatas(self.chunks, include=())}
        orphans = sorted(chunk_articles - self.present_ids(sorted(chunk_articles)) - live)
        self._delete_chunks_of(orphans)
        return len(orphans)

    def _catch_up_lexical(self, live: set[str], embed) -> int:
        """Returns how many articles' rows were removed (rows of no stored article)."""
        lexical_count, stored_count = self.lexical.article_count(), self.article_count()
        removed: list[str] = []
        missing: set[str] = set()
        if lexical_count != stored_count or self.journal.new:
            stored = self.all_ids()
            indexed = self.lexical.article_ids()
            removed = sorted(indexed - stored - live)
            self.lexical.delete(removed)
            missing = stored - indexed
        if embed is not None:
            missing |= self.lexical.articles_without_vectors()
        self.catch_up(sorted(missing), embed)
        return len(removed)

    def catch_up(self, ids: list[str], embed=None) -> int:
        """Write the sentence rows of these stored articles (never removes any: a reader may
        call this while a writer's batch is between its sentence rows and its commit mark)."""
        done = 0
        for start in range(0, len(ids), 200):
            articles = list(self.get_articles(ids[start:start + 200]).values())
            vectors = None
            if embed is not None and articles:
                vectors = embed([a.sentence_text(s) for a in articles for s in a.sentences])
            try:
                self.lexical.write(articles, vectors)
            except Exception as exc:
                raise self._error("write the sentence index", exc) from None
            done += len(articles)
        return done

    def sync_lexical(self, full: bool = False) -> int:
        """For a reader: add what the sentence index lacks, cheaply when nothing does.

        Writers keep the index current, so the counts agree and this costs two counts. They
        differ when this process's index is its own copy (a Chroma server without a shared
        `lexical_path`) and another machine wrote, or while a writer is mid-batch (then the
        sentence index is ahead and there is nothing to add). An article another machine
        replaced leaves the counts equal: `full` compares the ids (O(articles) ids, no texts).
        """
        try:
            if not full and self.lexical.article_count() >= self.article_count():
                return 0
            missing = sorted(self.all_ids() - self.lexical.article_ids())
        except NewsdeskError:
            raise
        except Exception as exc:
            raise self._error("read the sentence index", exc) from None
        return self.catch_up(missing)

    @property
    def private_lexical(self) -> bool:
        """True when the sentence index is this machine's own copy of a server's articles."""
        return bool(self.settings.chroma_url) and not self.settings.lexical_path

    # ---- reading -------------------------------------------------------------------------

    def _all_metadatas(self, collection, include=("metadatas",)) -> Iterator[dict]:
        offset = 0
        while True:
            page = collection.get(include=list(include), limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            for i, record_id in enumerate(page["ids"]):
                row = {"id": record_id}
                if "metadatas" in include:
                    row.update(page["metadatas"][i] or {})
                if "documents" in include:
                    row["document"] = page["documents"][i]
                yield row
            offset += len(page["ids"])

    @_guarded("read articles")
    def present_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):
                found.update(self.articles.get(ids=ids[start:start + 500], include=[])["ids"])
        return found

    @_guarded("read articles")
    def ids_by_key(self, keys: list[str]) -> dict[str, set[str]]:
        with self._lock:
            return self._ids_by_key(keys)

    def _ids_by_key(self, keys: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for start in range(0, len(keys), 500):
            page = self.articles.get(where={"key": {"$in": keys[start:start + 500]}},
                                     include=["metadatas"])
            for record_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                out.setdefault(meta["key"], set()).add(record_id)
        return out

    def get_articles(self, ids: list[str]) -> dict[str, Article]:
        out: dict[str, Article] = {}
        try:
            for start in range(0, len(ids), 500):
                page = self.articles.get(ids=ids[start:start + 500],
                                         include=["documents", "metadatas"])
                for record_id, text, meta in zip(page["ids"], page["documents"],
                                                 page["metadatas"], strict=True):
                    out[record_id] = _article_from_record(record_id, text, meta)
        except Exception as exc:
            raise self._error("read articles", exc) from None
        return out

    def headline_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The article records' vectors (of the headline, or the text's opening where there is
        none), for the reranker's headline share of a sentence's similarity."""
        out: dict[str, np.ndarray] = {}
        try:
            for start in range(0, len(ids), 500):
                page = self.articles.get(ids=ids[start:start + 500], include=["embeddings"])
                out.update(zip(page["ids"], np.asarray(page["embeddings"], dtype=np.float32),
                               strict=True))
        except Exception as exc:
            raise self._error("read articles", exc) from None
        return out

    def iter_articles(self) -> Iterator[Article]:
        rows = self._all_metadatas(self.articles, include=("metadatas", "documents"))
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise self._error("read articles", exc) from None
            yield _article_from_record(row.pop("id"), row.pop("document"), row)

    # ---- the embedding model's identity (index.embed_identity) ---------------------------

    @_guarded("read the collection's metadata")
    def embedding_identity(self):
        """The identity recorded by the first index run, read fresh from the store (another
        machine may have recorded it since this process opened the collection)."""
        from index.embed_identity import EmbeddingIdentity

        with self._lock:
            name = f"{self.settings.collection}-articles"
            meta = self.client.get_collection(name, embedding_function=None).metadata
        return EmbeddingIdentity.from_metadata(meta)

    @_guarded("record the embedding model")
    def record_embedding_identity(self, identity) -> None:
        with self._lock:
            # modify() replaces the metadata; the distance function lives in the collection's
            # configuration and may not be passed again.
            kept = {k: v for k, v in (self.articles.metadata or {}).items()
                    if not k.startswith("hnsw:")}
            self.articles.modify(metadata={**kept, **identity.to_metadata()})
            self._wrote()

    @_guarded("read articles")
    def sample_title(self) -> tuple[str, list[float]] | None:
        """One stored article's headline text and vector (what `write` embedded for it)."""
        with self._lock:
            page = self.articles.get(limit=1, include=["embeddings", "documents", "metadatas"])
        if not page["ids"]:
            return None
        meta = page["metadatas"][0] or {}
        text = meta.get("title") or (page["documents"][0] or "")[:200]
        return text, [float(x) for x in page["embeddings"][0]]

    @_guarded("read")
    def article_count(self) -> int:
        return self.articles.count()

    @_guarded("read articles")
    def all_ids(self) -> set[str]:
        return {row["id"] for row in self._all_metadatas(self.articles, include=())}

    @_guarded("read")
    def signature(self) -> str:
        """Changes whenever the set of stored articles changes; derived indexes key on it.
        Also the moment to pick up another process's writes (see `EmbeddedHandle`)."""
        self.refresh()
        digest = hashlib.sha256()
        ids = sorted(row["id"] for row in self._all_metadatas(self.articles, include=()))
        for record_id in ids:
            digest.update(record_id.encode())
        return f"{len(ids)}-{digest.hexdigest()[:16]}"

    def query_chunks(self, vector, k: int, where: dict | None = None) -> list[ChunkHit]:
        try:
            count = self.chunks.count()
            if count == 0:
                return []
            result = self.chunks.query(
                query_embeddings=[[float(x) for x in vector]], n_results=min(k, count),
                where=where or None, include=["metadatas", "documents", "distances"],
            )
        except Exception as exc:
            raise self._error("search", exc) from None
        hits = []
        for text, meta, distance in zip(result["documents"][0], result["metadatas"][0],
                                        result["distances"][0], strict=True):
            chunk = Chunk(meta["article_id"], int(meta["chunk_index"]),
                          int(meta["sentence_start"]), int(meta["sentence_end"]),
                          int(meta["char_start"]), int(meta["char_end"]), text)
            hits.append(ChunkHit(chunk, 1.0 - float(distance)))
        return hits

    @_guarded("search")
    def query_titles(self, vector, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        count = self.articles.count()
        if count == 0:
            return []
        result = self.articles.query(query_embeddings=[[float(x) for x in vector]],
                                     n_results=min(k, count), where=where or None,
                                     include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0],
                                                    strict=True)]

    def stats(self) -> StoreStats:
        try:
            rows = list(self._all_metadatas(self.articles))
            chunk_count = self.chunks.count()
        except Exception as exc:
            raise self._error("read", exc) from None
        dated = sorted((r["published_ts"], r["published_at"]) for r in rows
                       if "published_ts" in r)
        return StoreStats(
            articles=len(rows),
            sentences=sum(int(r.get("n_sentences", 0)) for r in rows),
            chunks=chunk_count,
            sources=len({r.get("source", "") for r in rows if r.get("source")}),
            first_published=dated[0][1] if dated else None,
            last_published=dated[-1][1] if dated else None,
        )

    @_guarded("read")
    def sources(self) -> list[str]:
        return sorted({r.get("source", "") for r in self._all_metadatas(self.articles)} - {""})


@dataclass
class _Batch:
    """One write: its articles, chunks and every vector, sliceable for a repair."""

    articles: list[Article]
    chunks: list[Chunk]
    chunk_vectors: Any
    title_vectors: Any
    sentence_vectors: Any

    @classmethod
    def make(cls, articles, chunks, chunk_vectors, title_vectors, sentence_vectors) -> _Batch:
        if len(chunks) != len(chunk_vectors) or len(articles) != len(title_vectors):
            raise ValueError("one vector per chunk and per headline is needed")
        return cls(list(articles), list(chunks), chunk_vectors, title_vectors,
                   sentence_vectors)

    def chunk_count(self, article_id: str) -> int:
        return sum(c.article_id == article_id for c in self.chunks)

    def nodes(self, only: set[str] | None = None) -> list:
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        by_id = {a.id: a for a in self.articles}
        out = []
        for chunk, vector in zip(self.chunks, self.chunk_vectors, strict=True):
            if only is not None and chunk.id not in only:
                continue
            article = by_id[chunk.article_id]
            out.append(TextNode(
                id_=chunk.id, text=chunk.text, embedding=[float(x) for x in vector],
                start_char_idx=chunk.start, end_char_idx=chunk.end,
                metadata=_chunk_metadata(article, chunk),
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=article.id)},
            ))
        return out

    def sentence_vectors_of(self, articles: list[Article]):
        if self.sentence_vectors is None:
            return None
        wanted = {a.id for a in articles}
        rows, position = [], 0
        for article in self.articles:
            n = len(article.sentences)
            if article.id in wanted:
                rows.extend(range(position, position + n))
            position += n
        return np.asarray(self.sentence_vectors)[rows]


def _chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id, "chunk_index": chunk.index,
        "sentence_start": chunk.sentence_start, "sentence_end": chunk.sentence_end,
        "char_start": chunk.start, "char_end": chunk.end,
        "title": article.title, "source": article.source, "published_at": article.published_at,
    }
    ts = date_sort_key(article.published_at)
    if ts is not None:
        meta["published_ts"] = ts
    return meta


def _article_metadata(article: Article, n_chunks: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "key": article.key, "title": article.title, "source": article.source,
        "url": article.url, "author": article.author, "category": article.category,
        "published_at": article.published_at, "origin": article.origin,
        "n_sentences": len(article.sentences), "n_chunks": n_chunks,
        "sentences": encode_sentences(article.sentences),
    }
    ts = date_sort_key(article.published_at)
    if ts is not None:
        meta["published_ts"] = ts
    return meta


def _article_from_record(record_id: str, text: str, meta: dict[str, Any]) -> Article:
    return Article(
        id=record_id, key=meta.get("key", ""), title=meta.get("title", ""), text=text or "",
        source=meta.get("source", ""), url=meta.get("url", ""), author=meta.get("author", ""),
        category=meta.get("category", ""), published_at=meta.get("published_at", ""),
        origin=meta.get("origin", ""),
        sentences=decode_sentences(record_id, meta.get("sentences", "")),
    )

