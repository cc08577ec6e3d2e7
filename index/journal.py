"""The write journal: which articles each running writer has in flight, kept in the store.

Why: a write batch puts an article's chunks and sentence rows in first and its article record
(the commit mark) last, so a killed run leaves rows without a record, which the next run
deletes. With several `newsdesk index` processes on one Chroma server, "rows without a record"
also describes another process's batch that is simply not committed yet: deleting those (what
`recover` did) made that process commit articles without their chunks. And finding such rows
meant listing every chunk id of the store at every start.

So a writer first records the ids it is about to write (or delete) in `<prefix>-pending`,
with its run (host, pid) and the time, and removes them after the commit. A run's leftovers
are then exactly the entries of runs that are gone: a process on this host that no longer
exists, or an entry older than `STALE_SECONDS` (another host's process cannot be checked;
a batch's write takes seconds). Nothing pending means nothing to list.

Entries live in a Chroma collection so that every writer of a server sees them; Chroma wants
a vector per record, so each holds a constant one-dimensional vector.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

STALE_SECONDS = 600.0
HOST = socket.gethostname()
RUN = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Entry:
    """One article in flight in one run."""

    id: str
    run: str
    article_id: str
    host: str
    pid: int
    at: float

    def alive(self, now: float) -> bool:
        if now - self.at >= STALE_SECONDS:
            return False
        if self.host != HOST:
            return True  # another machine's process: trusted until stale
        if self.pid == os.getpid():
            return self.run == _run()
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by someone else
        return True


def _run() -> str:
    """This process's run id (a forked child gets its own)."""
    global RUN
    if not RUN.split(":")[1] == str(os.getpid()):
        RUN = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return RUN


class Journal:
    """In-flight article ids of every writer, in one Chroma collection."""

    def __init__(self, client, name: str):
        self.name = name
        self.new = False  # True when this store had no journal yet (written by older code)
        try:
            self.collection = client.get_collection(name, embedding_function=None)
        except Exception:  # noqa: BLE001 - chromadb's NotFoundError differs across versions
            self.collection = client.get_or_create_collection(name, embedding_function=None)
            self.new = True

    @contextmanager
    def writing(self, article_ids: Sequence[str]) -> Iterator[None]:
        """Entries exist for the whole block; removed only when it completes (a failure or a
        kill leaves them for `recover`)."""
        run = _run()
        ids = [f"{run}|{a}" for a in dict.fromkeys(article_ids)]
        if not ids:
            yield
            return
        pid, now = os.getpid(), time.time()
        for start in range(0, len(ids), 1000):
            part = ids[start:start + 1000]
            self.collection.upsert(
                ids=part, embeddings=[[0.0]] * len(part),
                metadatas=[{"run": run, "article_id": i.split("|", 1)[1], "host": HOST,
                            "pid": pid, "at": now} for i in part])
        yield
        for start in range(0, len(ids), 1000):
            self.collection.delete(ids=ids[start:start + 1000])

    def entries(self) -> list[Entry]:
        """Every entry (few: only batches in flight, or left by killed runs)."""
        page = self.collection.get(include=["metadatas"])
        return [Entry(i, m.get("run", ""), m.get("article_id", ""), m.get("host", ""),
                      int(m.get("pid", 0)), float(m.get("at", 0.0)))
                for i, m in zip(page["ids"], page["metadatas"], strict=True)]

    def forget(self, entries: Sequence[Entry]) -> None:
        ids = [e.id for e in entries]
        for start in range(0, len(ids), 1000):
            self.collection.delete(ids=ids[start:start + 1000])
