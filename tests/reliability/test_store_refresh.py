"""A long-running process (the chat) sees what another process (`newsdesk index`) wrote.

Embedded Chroma keeps its vector index in memory; without `EmbeddedHandle.refresh` the chat's
similarity search would never find articles indexed by the CLI while it runs.
"""

from __future__ import annotations

import json

from conftest import run_cli

from index.embed import embedder_for
from index.settings import Settings
from index.store import Store

NEW_FACT = "The Quillmoor lighthouse was repainted in cobalt blue by volunteers in April."


def write_article(path, title: str, body: str) -> None:
    path.write_text(json.dumps({"title": title, "source": "Test Wire",
                                "published_at": "2024-04-02", "body": body}) + "\n",
                    encoding="utf-8")


def test_a_running_store_finds_by_similarity_what_another_process_indexed(tmp_path):
    home = tmp_path / "home"
    first = tmp_path / "first.jsonl"
    write_article(first, "Harbour council meets", "The harbour council met on Tuesday. "
                  "It discussed the ferry timetable.")
    run_cli("index", str(first), home=home, check=True)
    settings = Settings(home=str(home))
    store = Store(settings)  # this process's view, opened before the next write
    embedder = embedder_for(settings)
    vector = embedder.embed_query("What colour was the Quillmoor lighthouse painted?")
    before = store.query_chunks(vector, 5)
    assert before and all("Quillmoor" not in hit.chunk.text for hit in before)

    second = tmp_path / "second.jsonl"
    write_article(second, "Quillmoor lighthouse repainted", NEW_FACT)
    run_cli("index", str(second), home=home, check=True)  # another process writes

    store.signature()  # what the assistant's lexical cache calls every few seconds
    hits = store.query_chunks(vector, 5)
    assert hits and NEW_FACT in hits[0].chunk.text
    assert store.article_count() == 2
    # Our own write afterwards keeps both: nothing of the other process is written over.
    third = tmp_path / "third.jsonl"
    write_article(third, "Ferry timetable changes", "The winter ferry timetable starts in "
                  "November.")
    from ui.index_run import run_index

    run_index(settings, [third], show_progress=False)
    fresh = run_cli("stats", "--json", home=home, check=True)
    assert json.loads(fresh.stdout.splitlines()[-1])["articles"] == 3
    assert NEW_FACT in store.query_chunks(vector, 5)[0].chunk.text
