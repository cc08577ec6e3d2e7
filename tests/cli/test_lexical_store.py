"""The sentence index (BM25 terms, sentence vectors, catalog) is written by the index run.

Real parts only: the packaged model, embedded Chroma, SQLite FTS5, the real CLI. The index must
follow every change of the store (add, replace, remove, a killed run, a store from before it
existed) and a running assistant must answer from what another process added, at once.
"""

from __future__ import annotations

import json
import sqlite3
import time

import numpy as np
from conftest import SAMPLE, run_cli, run_json
from support.council_corpus import write_council
from support.store_snapshot import snapshot

from assistant.engine import Assistant
from index.embed import embedder_for
from index.lexical_store import SqliteLexicalStore, tokenize
from index.settings import Settings
from index.store import Store
from index.types import Article, Sentence


def write_articles(path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def lexical_of(home) -> SqliteLexicalStore:
    return SqliteLexicalStore(Settings(home=str(home)).lexical_file)


def test_tokens_are_those_of_bm25s():
    import bm25s
    import Stemmer

    texts = [json.loads(line)["body"] for line in
             (SAMPLE / "multihop-rag-evidence.jsonl").read_text(encoding="utf-8").splitlines()]
    texts += ["Über straße Ünïcödé foo_bar 3.5% U.N. naïve cafés", "Who besieged al-Bab?", ""]
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                              return_ids=False, show_progress=False)
    assert tokenize(texts) == [list(t) for t in expected]


def test_every_sentence_is_indexed_with_its_own_vector_also_its_dense_chunk(sample_home):
    store = Store(Settings(home=str(sample_home)))
    lexical = store.lexical
    articles = list(store.iter_articles())
    assert lexical.article_ids() == {a.id for a in articles}
    assert lexical.sentence_count() == sum(len(a.sentences) for a in articles)
    article = next(a for a in articles if "Al-Bab" in a.text)
    keys = [(article.id, s.index) for s in article.sentences]
    stored = lexical.vectors(keys)
    assert set(stored) == set(keys)
    fresh = embedder_for(Settings()).embed([article.sentence_text(s) for s in article.sentences])
    assert float(np.abs(np.stack([stored[k] for k in keys]) - fresh).max()) < 1e-4
    # By default every sentence is its own chunk: the dense index searches the same vectors.
    chunks = store.chunks.get(where={"article_id": article.id}, include=["embeddings",
                                                                         "metadatas"])
    assert len(chunks["ids"]) == len(article.sentences)
    by_sentence = {m["sentence_start"]: e for m, e in zip(chunks["metadatas"],
                                                          chunks["embeddings"], strict=True)}
    assert sorted(by_sentence) == [s.index for s in article.sentences]
    assert float(np.abs(np.stack([by_sentence[s.index] for s in article.sentences])
                        - fresh).max()) < 1e-4
    hits = lexical.search("besieged government forces road Al-Bab", 5)
    assert hits and hits[0][0].article_id == article.id
    assert article.text[hits[0][0].start:hits[0][0].end].startswith("The town has been besieged")
    assert lexical.known(tokenize(["Bab besieged"])[0]) == {"bab", "besieg"}
    assert lexical.known(["quillmoor"]) == set()


def test_without_index_sentence_vectors_nothing_is_stored_and_the_answers_are_the_same(
        tmp_path, sample_home):
    home = tmp_path / "home"
    report = run_json("index", str(SAMPLE), home=home,
                      env={"NEWSDESK_INDEX_SENTENCE_VECTORS": "0"})
    assert report["articles_added"] == 327
    assert lexical_of(home).all_vectors() == {}
    assert lexical_of(home).sentence_count() == lexical_of(sample_home).sentence_count()
    # The reranker embeds a question's candidates itself: the same vectors, the same answer.
    question = "Who besieged al-Bab?"
    with_vectors = run_json("ask", question, home=sample_home)
    without = run_json("ask", question, home=home)
    assert [c["text"] for c in without["citations"]] == \
        [c["text"] for c in with_vectors["citations"]]


def test_replaced_and_removed_articles_leave_nothing_behind(tmp_path):
    home = tmp_path / "home"
    first = tmp_path / "first.jsonl"
    url = "https://example.com/harbour"
    write_articles(first, [{"title": "Harbour works", "url": url, "source": "Wire",
                            "body": "The zanzibarite crane lifted the old buoy. It rained."}])
    run_cli("index", str(first), home=home, check=True)
    old_ids = lexical_of(home).article_ids()
    assert len(old_ids) == 1 and lexical_of(home).search("zanzibarite", 5)

    edited = tmp_path / "edited.jsonl"
    write_articles(edited, [{"title": "Harbour works", "url": url, "source": "Wire",
                             "body": "The quillmoor crane lifted the new buoy. It was sunny."}])
    report = run_json("index", str(edited), home=home)
    assert report["articles_updated"] == 1
    lexical = lexical_of(home)
    new_ids = lexical.article_ids()
    assert len(new_ids) == 1 and new_ids != old_ids
    assert lexical.search("zanzibarite", 5) == [] and lexical.known(["zanzibarit"]) == set()
    assert [r.article_id for r, _ in lexical.search("quillmoor crane", 5)] == [*new_ids]
    assert lexical.sentence_count() == 2

    store = Store(Settings(home=str(home)))
    store.delete_articles(sorted(new_ids))
    assert lexical.article_count() == 0 and lexical.sentence_count() == 0
    assert lexical.search("quillmoor", 5) == []
    lexical.snapshot()  # the FTS index agrees with its (now empty) table


def test_recover_removes_rows_left_by_a_killed_run_and_catches_up_a_missing_index(tmp_path):
    home = tmp_path / "home"
    corpus = write_council(tmp_path / "council.jsonl", 12)
    run_cli("index", str(corpus), home=home, check=True)
    clean = snapshot(home)
    settings = Settings(home=str(home))

    # Sentence rows of an article whose record was never written: what a kill between the
    # two writes leaves behind.
    store = Store(settings)
    orphan = Article(id="orphan-article", key="orphan", title="Orphan", text="Never committed.",
                     sentences=[Sentence("orphan-article", 0, 0, 16)])
    store.lexical.write([orphan], np.zeros((1, 384), dtype=np.float32))
    assert store.lexical.search("committed", 5)
    # And a sentence index that lost some articles (e.g. a store from before it existed).
    lost = sorted(store.lexical.article_ids())[:3]
    store.lexical.delete(lost)

    removed = store.recover(embed=embedder_for(settings).embed)
    assert removed == 1
    assert store.lexical.search("committed", 5) == []
    assert snapshot(home) == clean
    vectors = store.lexical.vectors([(a, 0) for a in lost])
    assert set(vectors) == {(a, 0) for a in lost}


def test_a_store_indexed_before_the_sentence_index_existed_answers_the_same(tmp_path,
                                                                          sample_home):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(sample_home, home)
    shutil.rmtree(home / "lexical")
    before = run_json("ask", "Who besieged al-Bab?", home=sample_home)
    after = run_json("ask", "Who besieged al-Bab?", home=home)  # catches up, without vectors
    assert [c["text"] for c in after["citations"]] == [c["text"] for c in before["citations"]]
    assert lexical_of(home).article_count() == 327
    with sqlite3.connect(lexical_of(home).path) as db:
        assert db.execute("SELECT count(*) FROM sentences WHERE vector IS NOT NULL"
                          ).fetchone()[0] == 0
    run_cli("index", str(SAMPLE), home=home, check=True)  # the next index run adds them
    with sqlite3.connect(lexical_of(home).path) as db:
        assert db.execute("SELECT count(*) FROM sentences WHERE vector IS NULL"
                          ).fetchone()[0] == 0


def test_a_running_assistant_answers_from_articles_another_process_added(tmp_path):
    home = tmp_path / "home"
    corpus = write_council(tmp_path / "council.jsonl", 30)
    run_cli("index", str(corpus), home=home, check=True)
    assistant = Assistant(Settings(home=str(home), answerer="extractive"))
    question = "Which Quillmoor lighthouse was repainted in cobalt blue?"
    first = assistant.ask(question)
    assert all("Quillmoor" not in c.text for c in first.citations)

    extra = tmp_path / "extra.jsonl"
    write_articles(extra, [{"title": f"Quillmoor lighthouse {n} repainted",
                            "url": f"https://example.com/new/{n}", "source": "Harbour Wire",
                            "body": f"The Quillmoor lighthouse number {n} was repainted in "
                                    "cobalt blue by volunteers."} for n in range(1, 6)])
    run_cli("index", str(extra), home=home, check=True)  # another process
    started = time.perf_counter()
    answer = assistant.ask(question)
    seconds = time.perf_counter() - started
    assert not answer.abstained
    assert answer.citations and "Quillmoor lighthouse" in answer.citations[0].text
    assert answer.citations[0].url.startswith("https://example.com/new/")
    # Nothing is rebuilt: a generous bound for a shared CI machine (the goal, < 2 s, is
    # measured by bench/bench_scale.py).
    assert seconds < 10, seconds
