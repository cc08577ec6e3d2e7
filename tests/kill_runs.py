"""SIGKILL a real `newsdesk index` at chosen moments, re-run it, compare with a clean index.

Shared by `bench/rel_kill_index.py` (20+ runs) and `tests/test_reliability_kill.py` (3 kills):
both start the real CLI as a child process, kill it with SIGKILL (no handler can run, as in
a power cut or the OOM killer), look at what the killed store holds, re-run the same command to
completion, and compare the store with one indexed without interruption.

The child's stderr (the tqdm bar) goes to a file that is polled: "0/N" appears once the inputs
are read and the store is open, and "k/N" with k >= 1 once the first batch is written, which is
how a kill can be aimed at the writing phase.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from store_snapshot import snapshot

from index.environment import OFFLINE_ENV

ROOT = Path(__file__).resolve().parents[1]
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))
BAR = re.compile(r"(\d+)/(\d+) \[")
POLL = 0.02
VECTOR_TOLERANCE = 1e-4  # batch padding may move the last bits of an embedding, no more


@dataclass(frozen=True)
class Timeline:
    """When things happened in one uninterrupted run, in seconds from the process start."""

    store_open: float | None  # the bar's "0/N": inputs read, store open
    first_write: float | None  # the bar's first "k/N", k >= 1: one batch committed
    seconds: float


@dataclass
class Kill:
    """One killed process: when it was killed and what the store held afterwards."""

    anchor: str  # "start" (delay from the process start) or "write" (from the `after`th article)
    delay: float
    after: int = 1  # for "write": the article count the bar must show first
    killed_at: float | None = None  # seconds from the process start; None: it exited first
    returncode: int | None = None
    bar_seen: int | None = None  # the last "k" the bar showed before the kill
    articles: int = 0
    chunks: int = 0
    orphan_chunks: int = 0  # chunks whose article record is missing: killed between the two
    inspect_error: str = ""

    def phase(self, total: int) -> str:
        """Where the kill fell, judged by what the store held: `total` articles when done."""
        if self.killed_at is None:
            return "exited"
        if self.articles == 0 and self.chunks == 0:
            return "before-write"
        return "after-write" if self.articles == total and not self.orphan_chunks else "mid-write"


@dataclass
class KillRun:
    """Kills on one fresh home, then the re-run and its comparison with the clean store."""

    kills: list[Kill] = field(default_factory=list)
    rerun_seconds: float = 0.0
    diffs: list[str] = field(default_factory=list)

    @property
    def match(self) -> bool:
        return not self.diffs


def index_env(home: Path, batch_chunks: int) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("NEWSDESK_")}
    env.update(OFFLINE_ENV)
    env["NEWSDESK_HOME"] = str(home)
    env["NEWSDESK_INDEX_BATCH_CHUNKS"] = str(batch_chunks)
    return env


def start_index(corpus: Path, home: Path, batch_chunks: int, log: Path):
    """`newsdesk index CORPUS` in the background, its stderr going to `log`."""
    home.mkdir(parents=True, exist_ok=True)
    with log.open("w") as err:
        return subprocess.Popen([NEWSDESK, "index", str(corpus), "--json"], cwd=str(ROOT),
                                env=index_env(home, batch_chunks), stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)


def bar_position(log: Path) -> int | None:
    """The last article count the progress bar printed, None before the bar appears."""
    found = BAR.findall(log.read_text(errors="replace")) if log.exists() else []
    return int(found[-1][0]) if found else None


def clean_index(corpus: Path, home: Path, batch_chunks: int) -> Timeline:
    """An uninterrupted index run, timing when the store opened and the first write landed."""
    log = home.parent / f"{home.name}.stderr"
    started = time.monotonic()
    proc = start_index(corpus, home, batch_chunks, log)
    store_open = first_write = None
    while proc.poll() is None:
        position = bar_position(log)
        now = time.monotonic() - started
        if position is not None and store_open is None:
            store_open = now
        if position and first_write is None:
            first_write = now
        time.sleep(POLL)
    if proc.returncode != 0:
        raise RuntimeError(f"clean index exited {proc.returncode}: {log.read_text()[-2000:]}")
    return Timeline(store_open, first_write, time.monotonic() - started)


def kill_index(corpus: Path, home: Path, batch_chunks: int, kill: Kill, log: Path) -> Kill:
    """Start an index run and SIGKILL it `kill.delay` seconds after its anchor."""
    started = time.monotonic()
    proc = start_index(corpus, home, batch_chunks, log)
    anchor_at = started
    if kill.anchor == "write":
        while proc.poll() is None and (bar_position(log) or 0) < kill.after:
            time.sleep(POLL)
        anchor_at = time.monotonic()
    while proc.poll() is None and time.monotonic() - anchor_at < kill.delay:
        time.sleep(POLL)
    if proc.poll() is None:
        kill.bar_seen = bar_position(log)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole session: no helper process survives
        kill.killed_at = round(time.monotonic() - started, 2)
    proc.wait()
    kill.returncode = proc.returncode
    inspect(home, kill)
    return kill


def inspect(home: Path, kill: Kill) -> None:
    """What the killed run left: articles, chunks, and chunks without their article record."""
    try:
        state = fresh_snapshot(home)
    except Exception as exc:  # a store the next run must still cope with: record, go on
        kill.inspect_error = f"{type(exc).__name__}: {exc}"[:300]
        return
    kill.articles = len(state["articles"])
    kill.chunks = state["chunk_count"]
    kill.orphan_chunks = sum(row[1] not in state["articles"] for row in state["chunks"])


def rerun(corpus: Path, home: Path, batch_chunks: int, log: Path) -> tuple[float, str]:
    """The re-run after the kills, to completion; an error text if it failed."""
    started = time.monotonic()
    proc = start_index(corpus, home, batch_chunks, log)
    proc.wait()
    error = "" if proc.returncode == 0 else (
        f"re-run exited {proc.returncode}: {log.read_text(errors='replace')[-500:]}")
    return time.monotonic() - started, error


def fresh_snapshot(home: Path) -> dict:
    """`snapshot(home)` plus every stored vector, read by a new Python process.

    chromadb's Rust core keeps per-process state that survives dropping the client, so a second
    look from this process at a home another process wrote since fails ("Error finding id");
    a child process sees the store exactly as the next `newsdesk` run would.
    """
    code = ("import json, sys; from pathlib import Path; import kill_runs; "
            "json.dump(kill_runs.read_state(Path(sys.argv[1])), sys.stdout)")
    env = {**os.environ, **OFFLINE_ENV,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    proc = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                          text=True, env=env, cwd=str(ROOT), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"reading {home} failed: {proc.stderr.strip()[-500:]}")
    state = json.loads(proc.stdout)
    state["chunks"] = [tuple(row) for row in state["chunks"]]
    state["lexical"] = {name: [tuple(row) for row in rows]
                        for name, rows in state["lexical"].items()}
    return state


def read_state(home: Path) -> dict:
    """The snapshot, vectors and vector-search check of one store (run in the child)."""
    from index.settings import Settings
    from index.store import Store

    state = snapshot(home)
    store = Store(Settings(home=str(home)))
    collections = {"chunks": store.chunks, "articles": store.articles}
    state["vectors"] = {name: _vectors(c) for name, c in collections.items()}
    state["unfindable"] = {name: _unfindable(c, state["vectors"][name])
                           for name, c in collections.items()}
    state["vectors"]["sentences"] = store.lexical.all_vectors()
    return state


def _vectors(collection) -> dict:
    got = collection.get(include=["embeddings"])
    return {record_id: [float(x) for x in vector]
            for record_id, vector in zip(got["ids"], got["embeddings"], strict=True)}


def _unfindable(collection, vectors: dict) -> list[str]:
    """Ids that a search with their own vector does not return: a vector index (HNSW) that
    lost or never got the record, which `get` (read from the record table) would not show."""
    ids = sorted(vectors)
    if not ids:
        return []
    found = collection.query(query_embeddings=[vectors[i] for i in ids],
                             n_results=min(3, len(ids)), include=[])["ids"]
    return [i for i, hits in zip(ids, found, strict=True) if i not in hits]


def compare(expected: dict, actual: dict) -> list[str]:
    """What differs between two snapshots, one line per kind of difference; [] if equal."""
    diffs = []
    want, got = expected["articles"], actual["articles"]
    if set(want) != set(got):
        diffs.append(f"article ids: {len(set(want) - set(got))} missing, "
                     f"{len(set(got) - set(want))} extra")
    changed = [i for i in set(want) & set(got) if want[i] != got[i]]
    if changed:
        diffs.append(f"{len(changed)} articles differ in key/title/text/offsets, e.g. {changed[0]}")
    want_rows, got_rows = set(expected["chunks"]), set(actual["chunks"])
    if want_rows != got_rows:
        diffs.append(f"chunk rows: {len(want_rows - got_rows)} missing, "
                     f"{len(got_rows - want_rows)} extra")
    if expected["chunk_count"] != actual["chunk_count"]:
        diffs.append(f"chunk count {actual['chunk_count']} != {expected['chunk_count']}")
    for name in ("articles", "sentences"):  # the sentence index: rows, terms, offsets
        want_rows = set(expected.get("lexical", {}).get(name, []))
        got_rows = set(actual.get("lexical", {}).get(name, []))
        if want_rows != got_rows:
            diffs.append(f"sentence index {name}: {len(want_rows - got_rows)} missing, "
                         f"{len(got_rows - want_rows)} extra")
    for name in ("chunks", "articles", "sentences"):
        lost = actual.get("unfindable", {}).get(name, [])
        if lost:
            diffs.append(f"{len(lost)} {name} not found by their own vector, e.g. {lost[0]}")
        diffs += _compare_vectors(name, expected.get("vectors", {}).get(name, {}),
                                  actual.get("vectors", {}).get(name, {}))
    return diffs


def _compare_vectors(name: str, want: dict, got: dict) -> list[str]:
    if set(want) != set(got):
        return [f"{name} vectors: ids differ"]
    off = [i for i in want
           if max(abs(a - b) for a, b in zip(want[i], got[i], strict=True)) > VECTOR_TOLERANCE]
    return [f"{len(off)} {name} vectors differ, e.g. {off[0]}"] if off else []


def run_kills(corpus: Path, home: Path, batch_chunks: int, kills: list[Kill],
              expected: dict | None) -> KillRun:
    """Each kill in turn on `home`, then a re-run to completion, compared with `expected`
    (or, if None, left for the caller to compare: the clean run may still be going)."""
    result = KillRun()
    for n, kill in enumerate(kills):
        result.kills.append(kill_index(corpus, home, batch_chunks, kill,
                                       home.parent / f"{home.name}.kill{n}.stderr"))
    result.rerun_seconds, error = rerun(corpus, home, batch_chunks,
                                        home.parent / f"{home.name}.rerun.stderr")
    if error:
        result.diffs = [error]
    elif expected is not None:
        result.diffs = compare(expected, fresh_snapshot(home))
    return result


def write_subset(source: Path, count: int, target: Path) -> Path:
    """The first `count` JSONL records of `source` (all if count <= 0), for shorter runs."""
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    if count > 0:
        lines = lines[:count]
    for line in lines:
        json.loads(line)  # a broken record would make the runs measure the loader instead
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
