"""A comparable picture of a store: what must match between an interrupted and a clean run."""

from __future__ import annotations

from pathlib import Path

from index.settings import Settings
from index.store import Store


def snapshot(where: Path | Settings) -> dict:
    """Articles, their sentences and every chunk of the store at a data directory (embedded)
    or described by `Settings` (e.g. a Chroma server); the sentence index too, where it is
    the store's own (a data directory, or Settings naming its `lexical_path`)."""
    store = Store(where if isinstance(where, Settings) else Settings(home=str(where)))
    articles = {
        a.id: (a.key, a.title, a.text, tuple((s.start, s.end) for s in a.sentences))
        for a in store.iter_articles()
    }
    chunks = store.chunks.get(include=["metadatas", "documents"])
    chunk_rows = sorted(
        (cid, m["article_id"], m["sentence_start"], m["sentence_end"], m["char_start"],
         m["char_end"], doc)
        for cid, m, doc in zip(chunks["ids"], chunks["metadatas"], chunks["documents"],
                               strict=True)
    )
    state = {"articles": articles, "chunks": chunk_rows, "chunk_count": store.chunks.count()}
    if isinstance(where, Path) or where.lexical_path:
        lexical = store.lexical.snapshot()
        state["lexical"] = {"articles": [tuple(r) for r in lexical["articles"]],
                            "sentences": [tuple(r) for r in lexical["sentences"]]}
    return state
