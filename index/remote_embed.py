"""Embeddings from an OpenAI-compatible `/v1/embeddings` server (`NEWSDESK_EMBED_URL`).

Why: embedding is the index run's main cost (chunks, headlines and every sentence), and one
server with a GPU (Text Embeddings Inference, vLLM, Infinity, llama.cpp's server) or one big
CPU machine (`newsdesk embed serve`) can embed for every laptop and indexer of a newsroom.

The server must serve the model named by `embed_model`: its tokenizer and configuration are
still read from the local package or folder (chunks are sized in the model's tokens, and
texts longer than the model's limit are cut here, so that servers that refuse long inputs
instead of truncating still work), but its weights are never loaded. Whether the server
really serves that model is checked against the store (`index.embed_identity`), and every
answer's dimension is checked against the model's.

Requests go out in batches of `embed_batch_size` texts, a few at once; a server that says a
batch is too large gets it in halves. Vectors are re-normalised here (servers differ on
whether they normalise), so dot product stays cosine similarity.
"""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from index.embed import Embedder
from index.errors import NewsdeskError

# Requests in flight at once: enough to keep a batching server (TEI, vLLM) busy while the
# previous answer is parsed, few enough not to flood a small CPU server.
WORKERS = 4
RETRIES = 2  # for a dropped connection or a 502/503/504, after 0.5 s then 1 s


def api_base(url: str) -> str:
    """Servers document their URL with or without `/v1` (or as the full endpoint)."""
    url = url.rstrip("/")
    if url.endswith("/embeddings"):
        url = url[: -len("/embeddings")]
    return url if url.endswith("/v1") else url + "/v1"


class RemoteEmbedder(Embedder):
    """The `Embedder` interface over HTTP; token counting stays local (same tokenizer)."""

    def __init__(self, model_name: str, url: str, server_model: str = "", api_key: str = "",
                 batch_size: int = 64, timeout: float = 60.0):
        super().__init__(model_name, batch_size, cache_dir=None)
        self.url = api_base(url)
        self.endpoint = self.url + "/embeddings"
        self.server_model = server_model or model_name
        self.timeout = float(timeout)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._headers = headers
        self._client = None
        self._pool: ThreadPoolExecutor | None = None
        self._setup = threading.Lock()

    @property
    def engine(self) -> str:
        return "remote"

    @property
    def model(self):
        raise NewsdeskError(f"the embedding model runs at {self.url}, not in this process; "
                            "unset NEWSDESK_EMBED_URL to load it here")

    def _http(self):
        with self._setup:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    headers=self._headers,
                    timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)))
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="embed-http")
            return self._client

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = self._fit(texts)
        self._http()
        size = max(1, self.batch_size)
        parts = [texts[i:i + size] for i in range(0, len(texts), size)]
        if len(parts) == 1:
            results = [self._request_halving(parts[0])]
        else:
            results = list(self._pool.map(self._request_halving, parts))
        vectors = np.concatenate(results).astype(np.float32, copy=False)
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return (vectors / norms).astype(np.float32)

    def _fit(self, texts: list[str]) -> list[str]:
        """Texts cut to the model's token limit (less [CLS] and [SEP]) where longer, at a
        token's end, as the local model truncates them."""
        limit = max(1, self.max_tokens - 2)
        out = list(texts)
        for i, encoding in enumerate(self._counter.encode_batch(texts, add_special_tokens=False)):
            if len(encoding.ids) > limit:
                out[i] = texts[i][: encoding.offsets[limit - 1][1]]
        return out

    def _request_halving(self, texts: list[str]) -> np.ndarray:
        try:
            return self._request(texts)
        except _TooLarge:
            if len(texts) == 1:
                raise self._error("refused a single text as too large", "raise its input "
                                  "limit (e.g. TEI's --auto-truncate)") from None
            half = len(texts) // 2
            return np.concatenate([self._request_halving(texts[:half]),
                                   self._request_halving(texts[half:])])

    def _request(self, texts: list[str]) -> np.ndarray:
        import httpx

        body = {"input": texts, "model": self.server_model, "encoding_format": "float"}
        for attempt in range(RETRIES + 1):
            try:
                response = self._client.post(self.endpoint, json=body)
            except httpx.ConnectError as exc:
                raise self._down(exc) from None  # nothing listens: no use waiting
            except httpx.TransportError as exc:  # a timeout, a dropped connection
                if attempt == RETRIES:
                    raise self._down(exc) from None
                time.sleep(0.5 * 2**attempt)
                continue
            if response.status_code in (502, 503, 504) and attempt < RETRIES:
                time.sleep(0.5 * 2**attempt)
                continue
            return self._parse(response, len(texts))
        raise AssertionError("unreachable")

    def _parse(self, response, expected: int) -> np.ndarray:
        text = " ".join(response.text.split())[:200]
        if response.status_code == 413 or (response.status_code in (400, 422)
                                           and "batch" in text.lower()):
            raise _TooLarge()
        if response.status_code != 200:
            raise self._error(f"answered HTTP {response.status_code} ({text})",
                              "check that it serves an OpenAI-compatible /v1/embeddings for "
                              f"the model '{self.server_model}' (NEWSDESK_EMBED_SERVER_MODEL), "
                              "and its API key (NEWSDESK_EMBED_API_KEY)")
        try:
            rows = sorted(response.json()["data"], key=lambda row: row["index"])
            vectors = np.array([_vector(row["embedding"]) for row in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._error(f"did not answer with embeddings ({exc}: {text})",
                              "check that the URL is an OpenAI-compatible /v1/embeddings "
                              "server") from None
        if vectors.ndim != 2 or len(vectors) != expected:
            raise self._error(f"answered {len(vectors)} vectors for {expected} texts",
                              "check the server")
        if vectors.shape[1] != self.dimension:
            raise self._error(
                f"returned {vectors.shape[1]}-dimensional vectors, but the model "
                f"'{self.name}' has {self.dimension}",
                f"serve '{self.name}' there, or set NEWSDESK_EMBED_MODEL to the model it "
                "serves (and index into a new collection)")
        return vectors

    def _down(self, exc: BaseException) -> NewsdeskError:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return NewsdeskError(
            f"cannot reach the embedding server at {self.url} ({reason}); start it (e.g. "
            "`newsdesk embed serve`) or unset NEWSDESK_EMBED_URL to embed on this machine, "
            "then re-run: nothing already indexed was lost")

    def _error(self, what: str, fix: str) -> NewsdeskError:
        return NewsdeskError(f"the embedding server at {self.url} {what}; {fix}")


class _TooLarge(Exception):
    """The server refused a batch for its size."""


def _vector(value) -> np.ndarray:
    """A row's embedding: a list of floats, or base64 float32 (OpenAI's other format)."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4")
    return np.asarray(value, dtype=np.float32)
