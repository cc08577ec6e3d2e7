"""The sentence index (`index.lexical_store`) kept current for a long-running process.

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
import time

from index.lexical_store import LexicalStore
from index.store import Store


class CurrentSentenceIndex:
    """The sentence index of a store, current as of the last `get()`.

    `get()` costs a read of the embedded store's write sequence and two counts: cheap enough
    to run before every question, so an article indexed by another process is found by the
    very next one.
    """

    # A private copy of a server's index also compares ids this often (replacements).
    FULL_CHECK_SECONDS = 60.0

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._full_checked: float | None = None

    def get(self, force_check: bool = False) -> LexicalStore:
        """`force_check`: compare ids now (after an upload, say), not only counts."""
        with self._lock:
            self.store.refresh()
            now = time.monotonic()
            full = self.store.private_lexical and (
                force_check or self._full_checked is None
                or now - self._full_checked > self.FULL_CHECK_SECONDS)
            self.store.sync_lexical(full=full)
            if full:
                self._full_checked = now
            return self.store.lexical
