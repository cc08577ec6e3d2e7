"""The sentence index's file (index/lexical_store.py) written, closed and opened again: what a
later process reads is what the index run wrote, without a model (vectors are given)."""

from __future__ import annotations

import numpy as np
import pytest

from index.articles import new_article
from index.dates import date_sort_key
from index.lexical_store import ArticleInfo, SqliteLexicalStore, tokenize
from index.sentences import split_sentences
from index.types import Sentence


def article(title: str, source: str, published_at: str, text: str):
    a = new_article(title=title, source=source, published_at=published_at, text=text)
    a.sentences = split_sentences(a.text, a.id)
    return a


@pytest.fixture
def articles():
    return [article("Harbour works", "Wire", "2023-10-12T08:00:00+02:00",
                    "The zanzibarite crane lifted the old buoy. It rained all day."),
            article("Council vote", "Gazette", "2023-10-14",
                    "The council approved the quillmoor budget. Two members abstained. "
                    "The mayor spoke last.")]


def vectors_for(articles) -> np.ndarray:
    n = sum(len(a.sentences) for a in articles)
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3) / 7


def test_what_is_written_reads_back_after_reopening(tmp_path, articles):
    path = tmp_path / "lexical" / "newsdesk.sqlite3"
    writer = SqliteLexicalStore(path, dimension=3)
    assert not writer.exists()  # nothing is created before the first use
    vectors = vectors_for(articles)
    writer.write(articles, vectors)
    writer.close()
    assert path.is_file() and writer.size_bytes() > 0

    reader = SqliteLexicalStore(path)
    harbour, council = articles
    assert reader.article_ids() == {harbour.id, council.id}
    assert reader.article_count() == 2 and reader.sentence_count() == 5
    assert reader.articles_without_vectors() == set()
    assert reader.infos([harbour.id]) == {harbour.id: ArticleInfo(
        "Harbour works", "Wire", harbour.published_at, date_sort_key(harbour.published_at))}
    assert reader.sources() == ["Gazette", "Wire"]
    assert reader.sentences_of([council.id])[council.id] == council.sentences
    stored = reader.vectors([(harbour.id, 0), (council.id, 2), ("missing", 0)])
    assert set(stored) == {(harbour.id, 0), (council.id, 2)}
    np.testing.assert_array_equal(stored[(harbour.id, 0)], vectors[0])
    np.testing.assert_array_equal(stored[(council.id, 2)], vectors[4])
    (ref, score), = reader.search("quillmoor budget", 5)
    first = council.sentences[0]
    assert ref == Sentence(council.id, 0, first.start, first.end) and score > 0
    assert council.text[ref.start:ref.end] == "The council approved the quillmoor budget."
    assert reader.search("zanzibarite", 5, sources=["Gazette"]) == []
    assert reader.known(tokenize(["quillmoor zanzibarite"])[0] + ["nowhere"]) == {
        "quillmoor", "zanzibarit"}
    # Dates compare as UTC instants: 08:00+02:00 on the 12th is 06:00 UTC.
    low, high = date_sort_key("2023-10-12T05:00:00Z"), date_sort_key("2023-10-12T07:00:00Z")
    assert set(reader.articles_from(["Wire", "Gazette"], low, high)) == {harbour.id}
    reader.snapshot()  # the FTS index agrees with the sentences table
    reader.close()


def test_a_rewrite_replaces_and_a_delete_removes_for_the_next_reader(tmp_path, articles):
    path = tmp_path / "lexical.sqlite3"
    store = SqliteLexicalStore(path)
    store.write(articles)  # no vectors: stored as missing, computed later by the assistant
    harbour, council = articles
    assert store.articles_without_vectors() == {harbour.id, council.id}
    store.write([harbour], vectors_for([harbour]))  # the same article again: replaced
    store.delete([council.id])
    store.close()

    reader = SqliteLexicalStore(path)
    assert reader.article_ids() == {harbour.id} and reader.sentence_count() == 2
    assert reader.articles_without_vectors() == set()
    assert reader.search("quillmoor", 5) == [] and reader.known(["quillmoor"]) == set()
    assert reader.snapshot()["sentences"] == sorted(
        (harbour.id, s.index, s.start, s.end, " ".join(t), 1)
        for s, t in zip(harbour.sentences, tokenize(
            f"Harbour works Wire {harbour.sentence_text(s)}" for s in harbour.sentences),
            strict=True))
    reader.close()


def test_a_batch_with_the_wrong_number_of_vectors_writes_nothing(tmp_path, articles):
    path = tmp_path / "lexical.sqlite3"
    store = SqliteLexicalStore(path)
    store.write(articles[:1])
    before = store.snapshot()
    extra = np.vstack([vectors_for(articles), np.zeros((1, 3), dtype=np.float32)])
    with pytest.raises(ValueError, match="6 sentence vectors for 5 sentences"):
        store.write(articles, extra)
    with pytest.raises(ValueError, match="4 sentence vectors for 5 sentences"):
        store.write(articles, vectors_for(articles)[:4])
    store.close()
    assert SqliteLexicalStore(path).snapshot() == before


def test_past_its_postings_budget_a_search_leaves_out_the_most_frequent_terms(tmp_path):
    """The cost of a search follows its terms' postings; past the budget the commonest terms
    (the lowest IDF) go, the rarest stays, and under it nothing changes."""
    town = [article(f"Report {n}", "Wire", "2023-10-12",
                    f"The council met on day {n}. The council adjourned.") for n in range(6)]
    rare = article("Harbour", "Gazette", "2023-10-13", "The council discussed the quillmoor.")
    roomy = SqliteLexicalStore(tmp_path / "roomy.sqlite3")
    roomy.write([*town, rare])
    question = "What did the council say about the quillmoor?"
    everything = roomy.search(question, 20)
    assert len(everything) == 13  # every sentence holds "council" (or "quillmoor")
    assert everything[0][0].article_id == rare.id

    tight = SqliteLexicalStore(roomy.path, match_budget=5)  # "council" has 13 postings
    found = tight.search(question, 20)
    assert [ref.article_id for ref, _ in found] == [rare.id]
    assert SqliteLexicalStore(roomy.path, match_budget=14).search(question, 20) == everything
