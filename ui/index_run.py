"""An index run from a front end (the CLI, the chat's upload): `index.indexer.index_paths` with
a progress bar on stderr."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from index.indexer import IndexReport, index_paths
from index.settings import Settings
from ui.progress import IndexBar


def run_index(settings: Settings, paths: Sequence[str | Path], strict: bool = False,
              show_progress: bool = True) -> IndexReport:
    bar = IndexBar(show_progress)
    try:
        return index_paths(settings, paths, strict, bar)
    finally:
        bar.close()
