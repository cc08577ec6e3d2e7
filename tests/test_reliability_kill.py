"""SIGKILL during `newsdesk index`, then a re-run: the store must equal an uninterrupted index.

The short version of `bench/rel_kill_index.py` (20+ runs). Three kills at random moments on one
home, each aimed at a different phase: early on a fresh home (start-up, reading, opening the
store: nothing written yet), mid-write (after a random number of committed articles), then early
again on the now partly written home (start-up, opening the store, `recover()`). One re-run to
completion must then leave exactly the clean store: ids, texts, offsets, chunks, vectors.

Every process start loads the embedding model, so the clean reference run goes on beside the
kills (two processes, two cores) and the kills aim by the killed run's own progress bar, not by
the clean run's timeline.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import MULTIHOP_ARTICLES
from kill_runs import Kill, clean_index, compare, fresh_snapshot, run_kills, write_subset

pytestmark = pytest.mark.kill

# Once the model is loaded, these short articles are written at ~45 per second in batches of
# two chunks, and the progress bar the kill aims by is redrawn every 0.5 s: 64 articles leave
# the mid-write kill (at most 8 articles + 0.5 s of bar lag + 0.2 s) well inside the writing.
ARTICLES = 64
BATCH_CHUNKS = 2  # about 35 write batches: many commit marks to be killed between


def test_three_kills_then_rerun_equals_a_clean_run(tmp_path):
    corpus = write_subset(MULTIHOP_ARTICLES, ARTICLES, tmp_path / "corpus.jsonl")
    seed = int(time.time())
    rng = random.Random(seed)
    kills = [Kill("start", rng.uniform(0.0, 2.0)),  # imports alone take longer: no write yet
             Kill("write", rng.uniform(0.0, 0.2), after=rng.randint(1, ARTICLES // 8)),
             Kill("start", rng.uniform(0.0, 4.0))]
    with ThreadPoolExecutor(max_workers=1) as pool:
        clean = pool.submit(clean_index, corpus, tmp_path / "clean", BATCH_CHUNKS)
        run = run_kills(corpus, tmp_path / "killed", BATCH_CHUNKS, kills, expected=None)
        clean.result()
    expected = fresh_snapshot(tmp_path / "clean")
    assert len(expected["articles"]) == ARTICLES
    early, mid, _ = run.kills
    described = f"seed {seed}, kills {run.kills}, re-run {run.diffs}"
    assert early.killed_at is not None and early.phase(ARTICLES) == "before-write", described
    assert mid.killed_at is not None and 0 < mid.articles < ARTICLES, described
    assert compare(expected, fresh_snapshot(tmp_path / "killed")) == [], described
    assert run.diffs == [], described
