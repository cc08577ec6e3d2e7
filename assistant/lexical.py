"""The assistant's view of the sentence index the index run keeps (`index.lexical_store`).

Nothing is derived here any more: BM25 terms, sentence vectors and the article catalog are
written by `newsdesk index` in the same batch as each article, so a question reads only the
rows of its own candidates. (Before, this module rebuilt a whole-corpus bm25s index and a
matrix of every sentence vector whenever the store changed: minutes after a large index run.)

What remains is keeping a long-running process current: before each question the store
checks, cheaply, whether another process wrote (see `index.store.EmbeddedHandle`), and the
sentence index is topped up only where it is this process's own copy of a Chroma server's
articles (`Store.sync_lexical`).
"""

from __future__ import annotations

import threading

from index.lexical_store import ArticleInfo, LexicalStore, SentenceRef, tokenize
from index.store import Store

__all__ = ["ArticleInfo", "LexicalStore", "LexicalView", "SentenceRef", "tokenize"]


class LexicalView:
    """The sentence index of a store, current as of the last `get()`.

    `get()` costs a read of the embedded store's write sequence and two counts: cheap enough
    to run before every question, so an article indexed by another process is found by the
    very next one.
    """

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()

    def get(self, force_check: bool = False) -> LexicalStore:
        del force_check  # every call checks; kept for callers of the old cache
        with self._lock:
            self.store.refresh()
            self.store.sync_lexical()
            return self.store.lexical
