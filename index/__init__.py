"""Newsdesk's index layer: article files in, a searchable Chroma store out.

This layer is the bottom of the one-way flow (articles -> index -> assistant -> evals -> ui):
it imports nothing from `assistant`, `ui` or `evals`.

What a Python user needs is importable from here (each name is loaded on first use, so
`import index` stays cheap):

    from index import index_paths, load_settings
    report = index_paths(load_settings(), ["data/sample"])   # an IndexReport
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.lazy import lazy_exports

_EXPORTS = {
    "index_paths": "index.indexer",
    "IndexReport": "index.indexer",
    "Settings": "index.settings",
    "load_settings": "index.settings",
    "NewsdeskError": "index.errors",
    "Article": "index.types",
    "LoadError": "index.types",
    "Store": "index.store",
}
__all__ = ["Article", "IndexReport", "LoadError", "NewsdeskError", "Settings", "Store",
           "index_paths", "load_settings"]

if TYPE_CHECKING:
    from index.errors import NewsdeskError
    from index.indexer import IndexReport, index_paths
    from index.settings import Settings, load_settings
    from index.store import Store
    from index.types import Article, LoadError


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
