"""Newsdesk's answering layer: cited answers from hybrid retrieval over the index.

It imports `index` only, never `ui` or `evals`.

What a Python user needs is importable from here, the index's entry point and settings
included (each name is loaded on first use, so `import assistant` stays cheap):

    from assistant import Assistant, Filters, index_paths, load_settings
    settings = load_settings()            # flags > NEWSDESK_* > newsdesk.toml > defaults
    index_paths(settings, ["data/sample"])
    answer = Assistant(settings).ask("Who besieged al-Bab?", filters=Filters(since="2017-01-01"))
    answer.text, answer.citations         # each Citation a verbatim sentence of an article
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.lazy import lazy_exports

_EXPORTS = {
    "Assistant": "assistant.engine",
    "Conversation": "assistant.engine",
    "Filters": "assistant.retrieve",
    "Answer": "assistant.types",
    "Citation": "assistant.types",
    "Settings": "index.settings",
    "load_settings": "index.settings",
    "NewsdeskError": "index.errors",
    "index_paths": "index.indexer",
    "IndexReport": "index.indexer",
}
__all__ = ["Answer", "Assistant", "Citation", "Conversation", "Filters", "IndexReport",
           "NewsdeskError", "Settings", "index_paths", "load_settings"]

if TYPE_CHECKING:
    from assistant.engine import Assistant, Conversation
    from assistant.retrieve import Filters
    from assistant.types import Answer, Citation
    from index.errors import NewsdeskError
    from index.indexer import IndexReport, index_paths
    from index.settings import Settings, load_settings


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
