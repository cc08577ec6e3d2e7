"""`newsdesk index` and `newsdesk stats` through the real CLI, the real model and real Chroma."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli, run_json
from support.store_snapshot import snapshot

from index.settings import Settings
from index.store import Store

HTML = """<!doctype html><html><head><title>Harbour reopens after storm</title>
<meta name="author" content="Lea Park"><meta property="og:site_name" content="Coast Times">
<meta name="date" content="2024-03-02"></head><body><article>
<h1>Harbour reopens after storm</h1>
<p>The harbour at Port Ellis reopened on Saturday after a storm closed it for three days.</p>
<p>Harbour master Ines Vidal said ferries would run a reduced timetable until Monday.</p>
</article></body></html>"""


def write_formats(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jsonl").write_text(json.dumps({
        "headline": "Bridge closed for repairs", "content": "The Elm Street bridge closed on "
        "Monday. Repairs will take six weeks.", "date": "March 4, 2024", "publisher": "City Post",
        "link": "https://example.com/bridge"}) + "\n", encoding="utf-8")
    (folder / "b.json").write_text(json.dumps([{
        "title": "Library extends hours", "text": "The central library will open until 9 pm. "
        "The change starts in April.", "published": "2024-03-10", "source": "City Post"}]),
        encoding="utf-8")
    (folder / "c.csv").write_text(
        "title,body,published_at,source\n"
        '"Marathon route set","The marathon will start at the river. It passes the old mill.",'
        "2024-03-12T08:00:00Z,Runner's World\n", encoding="utf-8")
    (folder / "d.txt").write_text("Council approves budget\n\nThe council approved the 2024 "
                                  "budget on Tuesday.\nIt raises school spending by 4%.\n",
                                  encoding="utf-8")
    (folder / "e.html").write_text(HTML, encoding="utf-8")


def test_every_format_is_indexed_with_exact_offsets(tmp_path):
    write_formats(tmp_path / "in")
    report = run_json("index", str(tmp_path / "in"), home=tmp_path / "home")
    assert report["articles_added"] == 5 and report["articles_failed"] == 0
    assert report["errors"] == [] and report["chunks"] >= 5
    stats = run_json("stats", home=tmp_path / "home")
    assert stats["articles"] == 5 and stats["sources"] == 3
    assert stats["first_published"] == "2024-03-02"
    assert stats["last_published"] == "2024-03-12T08:00:00+00:00"
    store = Store(Settings(home=str(tmp_path / "home")))
    articles = {a.title: a for a in store.iter_articles()}
    assert set(articles) == {"Bridge closed for repairs", "Library extends hours",
                             "Marathon route set", "Council approves budget",
                             "Harbour reopens after storm"}
    assert articles["Bridge closed for repairs"].published_at == "2024-03-04"
    assert articles["Harbour reopens after storm"].source == "Coast Times"
    for article in articles.values():
        assert article.sentences
        for s in article.sentences:
            assert article.text[s.start:s.end].strip() == article.text[s.start:s.end] != ""
    budget = articles["Council approves budget"]
    assert [budget.sentence_text(s) for s in budget.sentences] == [
        "The council approved the 2024 budget on Tuesday.", "It raises school spending by 4%."]
    chunks = store.chunks.get(include=["metadatas", "documents"])
    for meta, doc in zip(chunks["metadatas"], chunks["documents"], strict=True):
        article = next(a for a in articles.values() if a.id == meta["article_id"])
        assert article.text[meta["char_start"]:meta["char_end"]] == doc


def test_reindex_is_a_no_op_and_an_update_leaves_no_stale_chunk(tmp_path):
    home = tmp_path / "home"
    src = tmp_path / "news.jsonl"
    first = {"title": "Dam inspection", "url": "https://example.com/dam", "source": "Valley News",
             "body": "Engineers inspected the dam on Friday. They found a small crack. "
                     "Repairs begin next week.\n\nThe reservoir stays open."}
    src.write_text(json.dumps(first) + "\n", encoding="utf-8")
    assert run_json("index", str(src), home=home)["articles_added"] == 1
    before = snapshot(home)
    again = run_json("index", str(src), home=home)
    assert again["articles_unchanged"] == 1 and again["articles_added"] == 0
    assert snapshot(home) == before
    src.write_text(json.dumps({**first, "body": "Engineers found no crack after all."}) + "\n",
                   encoding="utf-8")
    updated = run_json("index", str(src), home=home)
    assert updated["articles_updated"] == 1 and updated["articles_added"] == 0
    after = snapshot(home)
    assert len(after["articles"]) == 1 and after["chunk_count"] == 1
    (article_id,) = after["articles"]
    assert article_id not in before["articles"]
    assert {row[1] for row in after["chunks"]} == {article_id}
    assert after["chunks"][0][-1] == "Engineers found no crack after all."


BAD_INPUTS = {
    "bad.jsonl": (b'{"title": "ok", "body": "Fine text here."}\n{"title": oops}\n', 2,
                  "malformed JSON"),
    "notext.csv": (b"title,summary\nA,B\n", None, "no text column"),
    "empty.jsonl": (b'{"title": "Nothing", "body": "   "}\n', 1, "empty article text"),
    "latin1.txt": ("Caf\u00e9 news\n\nThe caf\u00e9 opened.".encode("latin-1"), None,
                   "not valid UTF-8"),
    "blob.txt": (b"\x00\x01\x02binary\x00" * 50, None, "binary"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_a_one_line_error_and_leaves_the_store_unchanged(tmp_path, sample_like,
                                                                        name):
    home = sample_like(tmp_path)
    before = snapshot(home)
    content, line, words = BAD_INPUTS[name]
    bad = tmp_path / name
    bad.write_bytes(content)
    proc = run_cli("index", str(bad), "--json", home=home)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    errors = report["errors"]
    assert len(errors) == 1 and errors[0]["file"] == str(bad) and errors[0]["line"] == line
    assert words in errors[0]["message"]
    error_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert error_lines == [f"error: {bad}{':' + str(line) if line else ''}: "
                           f"{errors[0]['message']}"]
    after = snapshot(home)
    if name == "bad.jsonl":  # the good line of the same file is still indexed
        assert report["articles_added"] == 1 and len(after["articles"]) == 2
        after["articles"] = {k: v for k, v in after["articles"].items() if k in before["articles"]}
        after["chunks"] = [c for c in after["chunks"] if c[1] in before["articles"]]
        after["chunk_count"] = len(after["chunks"])
        after["lexical"] = {name: [r for r in rows if r[0] in before["articles"]]
                            for name, rows in after["lexical"].items()}
    assert after == before


def test_missing_file_and_strict_mode(tmp_path, sample_like):
    home = sample_like(tmp_path)
    before = snapshot(home)
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"title": "Fresh", "body": "A fresh article body."}) + "\n",
                    encoding="utf-8")
    missing = tmp_path / "nope.jsonl"
    proc = run_cli("index", str(missing), str(good), "--strict", home=home)
    assert proc.returncode == 1
    assert f"{missing}: no such file" in proc.stderr and "nothing was written" in proc.stderr
    assert snapshot(home) == before
    report = run_json("index", str(missing), str(good), home=home)
    assert report["articles_added"] == 1 and report["articles_failed"] == 1
    assert report["errors"][0]["file"] == str(missing)


@pytest.fixture()
def sample_like():
    """A small real store (one article) to check that bad input leaves it untouched."""

    def make(tmp_path: Path) -> Path:
        home = tmp_path / "home"
        src = tmp_path / "base.jsonl"
        src.write_text(json.dumps({"title": "Base", "source": "Wire", "body":
                                   "The base article has two sentences. This is the second."})
                       + "\n", encoding="utf-8")
        run_cli("index", str(src), home=home, check=True)
        return home

    return make
