"""The index run (`newsdesk index`, the chat's upload, an eval suite's corpus): files in, store
updated, a report out. `index_paths` is the entry point.

Reading and validating every input comes first (cheap next to embedding), so that `--strict`
can stop before anything is written and a progress display knows its total. Writing then goes
in batches: split, chunk, embed, write chunks, write article records (the commit mark), and
only then remove superseded versions of the same articles.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from index.chunks import make_chunks
from index.embed import Embedder, embedder_for
from index.embed_identity import check_store
from index.errors import NewsdeskError
from index.loaders import iter_inputs
from index.sentences import split_sentences
from index.settings import Settings
from index.store import Store
from index.types import Article, Chunk, LoadError


@dataclass
class IndexReport:
    articles_added: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    articles_failed: int = 0
    sentences: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[LoadError] = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out["errors"] = [{"file": e.file, "line": e.line, "message": e.message}
                         for e in self.errors]
        return out


Progress = Callable[[int, int], None]  # (articles done, sentences done)
# (articles done, articles to do, sentences done); called once with (0, total, 0) before work.
RunProgress = Callable[[int, int, int], None]


def index_paths(settings: Settings, paths: Iterable[str | Path], strict: bool = False,
                progress: RunProgress | None = None) -> IndexReport:
    """Index files and folders of articles into the store `settings` name: the whole run, as
    `newsdesk index` does it. Bad inputs are listed in the report's `errors` (with `strict`,
    the first one raises `NewsdeskError` before anything is written); `progress`, if given,
    is told the total first and then how far the run has got."""
    articles, errors = read_inputs(paths, strict=strict)
    indexer = Indexer(Store(settings), lambda: embedder_for(settings), settings.chunk_tokens,
                      settings.index_batch_chunks, settings.index_sentence_vectors)
    total = len(articles)
    if progress is not None:
        progress(0, total, 0)
    on_batch = (lambda done, sentences: progress(done, total, sentences)) if progress else None
    return indexer.run(articles, errors, on_batch)


def read_inputs(paths: Iterable[str | Path], strict: bool = False
                ) -> tuple[list[Article], list[LoadError]]:
    """Every valid article and every problem; an article given twice counts once, and of two
    versions of one article (same key) in one run, the last one read wins."""
    by_key: dict[str, Article] = {}
    errors: list[LoadError] = []
    for item in iter_inputs(list(paths)):
        if isinstance(item, LoadError):
            if strict:
                raise NewsdeskError(f"{item} (--strict: nothing was written)")
            errors.append(item)
        else:
            by_key.pop(item.key, None)
            by_key[item.key] = item
    return list(by_key.values()), errors


def batch_texts(articles: list[Article], chunks: list[Chunk],
                sentences: bool = True) -> tuple[list[str], list[int]]:
    """Every text a batch embeds and the lengths to split the vectors by: chunks, headlines
    (the article record's vector), then, with `sentences`, every sentence (the reranker's
    sentence vectors; `Settings.index_sentence_vectors`). Texts are embedded as they are: the
    headline's share of a sentence's relevance is the reranker's (`Weights.headline`), so a
    one-sentence chunk and its sentence are one text, embedded once."""
    texts = [c.text for c in chunks]
    texts += [a.title or a.text[:200] for a in articles]
    if sentences:
        texts += [a.sentence_text(s) for a in articles for s in a.sentences]
    return texts, [len(chunks), len(articles)]


class Indexer:
    """Writes articles into a store; the model is loaded only once something needs embedding,
    so a re-run over unchanged files costs no model load."""

    def __init__(self, store: Store, embedder: Callable[[], Embedder], chunk_tokens: int,
                 batch_chunks: int = 1024, sentence_vectors: bool = True):
        self.store = store
        self._get_embedder = embedder
        self._chunk_tokens = chunk_tokens
        self.batch_chunks = batch_chunks
        self.sentence_vectors = sentence_vectors

    @cached_property
    def embedder(self) -> Embedder:
        """Loaded on first use and checked against the store's recorded model before any
        vector is written (recorded by the first run): a server with another model stops
        the run instead of mixing its vectors in."""
        embedder = self._get_embedder()
        if self.store is not None:
            check_store(self.store, embedder, record=True)
        return embedder

    @cached_property
    def chunk_tokens(self) -> int:
        return min(self._chunk_tokens, self.embedder.max_tokens)

    def embed_batch(self, articles: list[Article], chunks: list[Chunk]):
        """(chunk vectors, headline vectors, sentence vectors or None) of one batch, in one
        call: the model sorts the texts by length, so a larger call pads less. A text met twice
        (a one-sentence chunk is its sentence; a repeated headline) is embedded once."""
        import numpy as np

        texts, (n_chunks, n_titles) = batch_texts(articles, chunks, self.sentence_vectors)
        unique = list(dict.fromkeys(texts))
        row = {text: i for i, text in enumerate(unique)}
        vectors = self.embedder.embed(unique)
        if len(unique) < len(texts):
            vectors = vectors[np.fromiter((row[t] for t in texts), dtype=np.int64,
                                          count=len(texts))]
        return (vectors[:n_chunks], vectors[n_chunks:n_chunks + n_titles],
                vectors[n_chunks + n_titles:] if self.sentence_vectors else None)

    def prepare(self, article: Article) -> list[Chunk]:
        """Sentences with exact offsets, then token-sized windows of them."""
        article.sentences = split_sentences(article.text, article.id)
        counts = self.embedder.count_tokens([article.sentence_text(s) for s in article.sentences])
        return make_chunks(article.text, article.id, article.sentences, counts,
                           self.chunk_tokens)

    def run(self, articles: list[Article], errors: list[LoadError],
            progress: Progress | None = None) -> IndexReport:
        """Splitting and chunking (pure Python, holding the GIL) go on in this thread while
        a writer thread embeds the previous batch (onnxruntime releases the GIL) and writes
        it; the writer does every write, in order, so commit marks stay in input order."""
        started = time.perf_counter()
        report = IndexReport(errors=list(errors), articles_failed=len(errors))
        self.store.recover(embed=(lambda texts: self.embedder.embed(texts))
                           if self.sentence_vectors else None)
        self.chunk_tokens  # noqa: B018 - resolved here, not raced for by the writer thread
        counter = _Done(progress, report)
        with _Writer() as writer:
            pending: list[tuple[Article, list[Chunk], set[str]]] = []
            pending_chunks = 0
            for start in range(0, len(articles), 500):
                batch = articles[start:start + 500]
                present = self.store.present_ids([a.id for a in batch])
                versions = self.store.ids_by_key(sorted({a.key for a in batch}))
                for article in batch:
                    stale = versions.get(article.key, set()) - {article.id}
                    if article.id in present:
                        report.articles_unchanged += 1
                        # A killed run may have written the new version but not yet removed
                        # the old one; finish that job now.
                        writer.submit(self._finish_unchanged, sorted(stale), counter)
                        continue
                    if stale:
                        report.articles_updated += 1
                    else:
                        report.articles_added += 1
                    chunks = self.prepare(article)
                    pending.append((article, chunks, stale))
                    pending_chunks += len(chunks)
                    if pending_chunks >= self.batch_chunks:
                        writer.submit(self._flush, pending, counter)
                        pending, pending_chunks = [], 0
            if pending:
                writer.submit(self._flush, pending, counter)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _finish_unchanged(self, stale: list[str], counter: _Done) -> None:
        self.store.delete_articles(stale)
        counter.add(1, 0)

    def _flush(self, pending, counter: _Done) -> None:
        articles = [a for a, _, _ in pending]
        chunks = [c for _, cs, _ in pending for c in cs]
        vectors = self.embed_batch(articles, chunks)
        self.store.write(articles, chunks, *vectors)
        for _, _, stale in pending:
            self.store.delete_articles(sorted(stale))
        counter.report.chunks += len(chunks)
        counter.add(len(articles), sum(len(a.sentences) for a in articles))


class _Done:
    """Articles done and sentences written, counted by the writer thread alone."""

    def __init__(self, progress: Progress | None, report: IndexReport):
        self.progress = progress
        self.report = report
        self.articles = 0

    def add(self, articles: int, sentences: int) -> None:
        self.articles += articles
        self.report.sentences += sentences
        if self.progress:
            self.progress(self.articles, self.report.sentences)


class _Writer:
    """One background thread running submitted jobs in order, at most one job queued behind
    the running one (memory stays at two batches). A job's exception stops the run: it is
    raised in the submitting thread at its next `submit` or at the end."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="newsdesk-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def submit(self, job, *args) -> None:
        self._raise()
        self._jobs.put((job, args))
        self._raise()

    def _work(self) -> None:
        while True:
            job, args = self._jobs.get()
            if job is None:
                return
            if self._error is None:  # after a failure, drain without running
                try:
                    job(*args)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __exit__(self, kind, value, traceback) -> None:
        self._jobs.put((None, ()))
        self._thread.join()
        if kind is None:
            self._raise()
