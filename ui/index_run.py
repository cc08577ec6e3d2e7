"""Running an index job from a front end, with a progress bar on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from index.embed import embedder_for
from index.indexer import Indexer, IndexReport, read_inputs
from index.settings import Settings
from index.store import Store


def run_index(settings: Settings, paths: Sequence[str | Path], strict: bool = False,
              show_progress: bool = True) -> IndexReport:
    articles, errors = read_inputs(paths, strict=strict)
    store = Store(settings)
    indexer = Indexer(store, lambda: embedder_for(settings), settings.chunk_tokens,
                      settings.index_batch_chunks)
    bar = tqdm(total=len(articles), unit="article", file=sys.stderr, dynamic_ncols=True,
               disable=not show_progress or not articles, mininterval=0.5)

    def progress(done: int, sentences: int) -> None:
        bar.update(done - bar.n)
        elapsed = bar.format_dict.get("elapsed") or 0
        rate = sentences / elapsed if elapsed else 0.0
        bar.set_postfix_str(f"{sentences} sentences, {rate:.0f} sent/s", refresh=False)

    try:
        return indexer.run(articles, errors, progress)
    finally:
        bar.close()
