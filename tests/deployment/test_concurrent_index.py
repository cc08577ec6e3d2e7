"""Several `newsdesk index` processes writing to one real `chroma run` server at once.

Each process runs `recover` when it starts, while the others are mid-batch; before the write
journal (`index.journal`) that clean-up took another process's uncommitted batch for a killed
run's leftovers and deleted it, and that process then committed articles without chunks or
sentence rows. Afterwards the store must hold every article once, with all its chunks and
sentence rows, equal to one clean run over the union of the inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from conftest import NEWSDESK, ROOT, run_cli, run_json
from support.council_corpus import write_council
from support.store_snapshot import snapshot

from index.embed import embedder_for
from index.indexer import Indexer, read_inputs
from index.settings import Settings
from index.store import Store, _Batch


def split_corpus(source, folder, ranges: dict[str, range]) -> dict[str, object]:
    lines = source.read_text(encoding="utf-8").splitlines()
    out = {}
    for name, span in ranges.items():
        path = folder / f"{name}.jsonl"
        path.write_text("\n".join(lines[i] for i in span) + "\n", encoding="utf-8")
        out[name] = path
    return out


def complete(state: dict) -> None:
    """Every article has its chunks and its sentence rows; no chunk without its article."""
    articles = state["articles"]
    chunk_articles = {row[1] for row in state["chunks"]}
    assert chunk_articles == set(articles)
    assert len({row[0] for row in state["chunks"]}) == state["chunk_count"]
    rows = {}
    for article_id, *_ in state["lexical"]["sentences"]:
        rows[article_id] = rows.get(article_id, 0) + 1
    assert rows == {a: len(v[3]) for a, v in articles.items()}
    assert {row[0] for row in state["lexical"]["articles"]} == set(articles)


def test_concurrent_index_runs_lose_and_duplicate_nothing(chroma_server, tmp_path):
    corpus = write_council(tmp_path / "all.jsonl", 240, tag="concurrent")
    parts = split_corpus(corpus, tmp_path, {
        # a and b distinct (what only one run writes shows any damage), c overlapping both
        "a": range(0, 120), "b": range(120, 240), "c": range(90, 150),
        "d": range(0, 240, 7),  # a small run, re-started while the others write
    })
    lexical = tmp_path / "shared.sqlite3"
    env = {**os.environ, "NEWSDESK_CHROMA_URL": chroma_server.url,
           "NEWSDESK_COLLECTION": "concurrent", "NEWSDESK_LEXICAL_PATH": str(lexical),
           "NEWSDESK_INDEX_BATCH_CHUNKS": "8"}

    def start(name: str, home: str) -> subprocess.Popen:
        return subprocess.Popen([NEWSDESK, "index", str(parts[name]), "--json"], cwd=str(ROOT),
                                env={**env, "NEWSDESK_HOME": str(tmp_path / home)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start("a", "home-a")
    seen = ""
    while first.poll() is None and "sent/s" not in seen:  # a is writing
        seen += first.stderr.read(64)
    others = [start("b", "home-b"), start("c", "home-c")]
    small = []
    deadline = time.monotonic() + 240
    while any(p.poll() is None for p in [first, *others]) and time.monotonic() < deadline:
        run = start("d", f"home-d{len(small)}")  # its recover runs amid the others' batches
        run.wait(timeout=300)
        small.append(run)
    reports = []
    for proc in [first, *others, *small]:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, (seen + err)[-3000:]
        assert "Traceback" not in err
        reports.append(json.loads(out.splitlines()[-1]))
    assert len(small) >= 2, "the small runs did not overlap the big ones"

    state = snapshot(Settings(chroma_url=chroma_server.url, collection="concurrent",
                              lexical_path=str(lexical)))
    assert len(state["articles"]) == 240
    complete(state)
    clean_lexical = tmp_path / "clean.sqlite3"
    run_cli("index", str(corpus), home=tmp_path / "home-clean", check=True,
            env={"NEWSDESK_CHROMA_URL": chroma_server.url, "NEWSDESK_COLLECTION": "clean-one",
                 "NEWSDESK_LEXICAL_PATH": str(clean_lexical)})
    clean = snapshot(Settings(chroma_url=chroma_server.url, collection="clean-one",
                              lexical_path=str(clean_lexical)))
    assert state == clean
    store = Store(Settings(chroma_url=chroma_server.url, collection="concurrent",
                           lexical_path=str(lexical)))
    assert store.journal.entries() == []  # every run finished its batches
    # A fresh machine with its own private copy of the sentence index sees all of it too.
    stats = run_json("stats", home=tmp_path / "fresh",
                     env={"NEWSDESK_CHROMA_URL": chroma_server.url,
                          "NEWSDESK_COLLECTION": "concurrent"})
    assert stats["articles"] == 240


def prepared_batch(chroma_server, tmp_path, collection: str, count: int):
    """A batch of `count` council articles made ready to write, as an index run makes it, so a
    test can stop between its rows and its commit mark."""
    settings = Settings(chroma_url=chroma_server.url, collection=collection,
                        lexical_path=str(tmp_path / "shared.sqlite3"),
                        home=str(tmp_path / "home"))
    corpus = write_council(tmp_path / "mine.jsonl", count, tag=collection)
    store = Store(settings)
    indexer = Indexer(store, lambda: embedder_for(settings), settings.chunk_tokens)
    articles, _ = read_inputs([corpus])
    chunks = [c for a in articles for c in indexer.prepare(a)]
    batch = _Batch.make(articles, chunks, *indexer.embed_batch(articles, chunks))
    return settings, store, articles, chunks, batch


def test_a_live_runs_uncommitted_batch_survives_another_runs_recover(chroma_server, tmp_path):
    """Deterministic: this process holds a batch between its rows and its commit mark while a
    real `newsdesk index` process starts (and recovers) against the same server."""
    settings, store, articles, chunks, batch = prepared_batch(chroma_server, tmp_path,
                                                             "inflight", 6)
    other = write_council(tmp_path / "other.jsonl", 3, seed=11, tag="other")
    ids = [a.id for a in articles]
    with store.journal.writing(ids):
        store._write_rows(batch)
        run_cli("index", str(other), home=tmp_path / "other-home", check=True,
                env={"NEWSDESK_CHROMA_URL": chroma_server.url,
                     "NEWSDESK_COLLECTION": "inflight",
                     "NEWSDESK_LEXICAL_PATH": settings.lexical_path})
        assert store._chunk_ids_of(ids) == {c.id for c in chunks}, "recover took our chunks"
        assert store.lexical.sentence_counts(ids) == {a.id: len(a.sentences) for a in articles}
        store._commit(batch)
    state = snapshot(settings)
    assert len(state["articles"]) == 9
    complete(state)


def test_a_killed_runs_batch_is_cleaned_up_from_the_journal(chroma_server, tmp_path):
    """The journal's other half: entries of a run that is gone are cleaned by the next run."""
    settings, store, articles, chunks, batch = prepared_batch(chroma_server, tmp_path,
                                                             "killed", 4)
    ids = [a.id for a in articles]
    # A child process writes the rows and dies before its commit mark.
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            with store.journal.writing(ids):
                store._write_rows(batch)
                os._exit(0)  # killed: the journal entries stay
        finally:
            os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert {e.article_id for e in store.journal.entries()} == set(ids)
    assert store._chunk_ids_of(ids)
    removed = Store(settings).recover()
    assert removed == 4
    assert store.journal.entries() == [] and store._chunk_ids_of(ids) == set()
    assert store.lexical.sentence_counts(ids) == {}


def test_recover_with_nothing_pending_lists_no_ids(tmp_path, monkeypatch):
    """Every run starts with `recover`; with no killed run to clean up after, it must cost
    the same for 12 articles as for a million: no listing of the store's ids."""
    home = tmp_path / "home"
    run_cli("index", str(write_council(tmp_path / "council.jsonl", 12)), home=home, check=True)
    settings = Settings(home=str(home))
    listed: list[str] = []
    real = Store._all_metadatas

    def counting(self, collection, include=("metadatas",)):
        listed.append(collection.name)
        return real(self, collection, include)

    monkeypatch.setattr(Store, "_all_metadatas", counting)
    store = Store(settings)
    assert store.recover(embed=embedder_for(settings).embed) == 0
    assert listed == []
    # A sentence index that lacks articles is still caught up (then ids are compared).
    store.lexical.delete(sorted(store.lexical.article_ids())[:2])
    assert store.recover(embed=embedder_for(settings).embed) == 0
    assert store.lexical.article_count() == 12 and listed
