"""The packaged embedding model as an ONNX graph, so that a question is embedded without torch.

Importing sentence-transformers (torch, transformers, scikit-learn) costs 8-12 s on these
machines, which made every `newsdesk ask` process slow to start. onnxruntime and tokenizers
(both already installed as chromadb's dependencies) load the same weights in under a second
and embed one question in ~6 ms. The graph is exported once from the packaged weights, on a
machine that has loaded torch anyway (the first `newsdesk index`), into a cache folder; it is
derived from the package, never downloaded, and is checked against sentence-transformers'
own vectors before it is kept.

Only the architecture of the packaged model is supported: a BERT-style transformer, mean
pooling, L2 normalisation (`supports`). Anything else keeps using sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger("newsdesk.embed")

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Largest difference from sentence-transformers' vectors we accept for an exported graph
# (measured: 1.3e-7 on unit vectors; float32 reordering stays well under this).
MAX_DIFFERENCE = 1e-4


def supports(model_path: str) -> bool:
    """True when the folder is transformer -> mean pooling -> normalize, the shape we export."""
    folder = Path(model_path)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        pooling_config = json.loads((folder / pooling["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    mean_only = pooling_config.get("pooling_mode_mean_tokens") and not any(
        pooling_config.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                        "pooling_mode_mean_sqrt_len_tokens"))
    return (types == ["Transformer", "Pooling", "Normalize"] and bool(mean_only)
            and (folder / "tokenizer.json").is_file())


def graph_path(cache_dir: Path, model_name: str, model_path: str) -> Path:
    """One file per model version: the key changes whenever the weights file does."""
    weights = Path(model_path) / "model.safetensors"
    stat = weights.stat() if weights.exists() else None
    size, mtime = (stat.st_size, stat.st_mtime_ns) if stat else (0, 0)
    identity = f"{Path(model_path).resolve()}|{size}|{mtime}"
    key = hashlib.sha1(identity.encode()).hexdigest()[:12]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_name)
    return cache_dir / f"{safe}-{key}.onnx"


def load_tokenizer(model_path: str, max_tokens: int | None, pad: bool = True):
    """The model's fast tokenizer; truncated to `max_tokens` (and padded per batch, if `pad`)
    when given."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if max_tokens is not None:
        tokenizer.enable_truncation(max_tokens)
        if pad:
            tokenizer.enable_padding()  # to the longest text of each batch
    return tokenizer


class OnnxEncoder:
    """Unit vectors from the exported graph: tokenize, run, mean-pool, normalise.

    Used for questions and for bulk indexing alike, with the same vectors as
    sentence-transformers (within `MAX_DIFFERENCE`; tests/cli/test_embed.py checks it on index
    texts). Texts are sorted by length and run in small batches, so little compute goes to
    padding. Parallelism is across batches, not inside one: each run is single-threaded and
    `workers` runs go at once (an onnxruntime session may be run from several threads).
    Measured on 2 shared cores: the same CPU per text as one run on 2 intra-op threads
    without spinning, in ~1/3 of the wall time when other processes compete for the cores
    (spinning intra-op threads then burn 2x the CPU); sentence-transformers needs ~3x the CPU.
    """

    def __init__(self, graph: Path, model_path: str, max_tokens: int, batch_size: int = 32,
                 workers: int | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(graph), options,
                                                    providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer(model_path, max_tokens, pad=False)
        self.batch_size = batch_size
        self.workers = max(1, workers or min(os.cpu_count() or 1, 4))
        self._pool = None

    def encode(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
        order = np.argsort(lengths, kind="stable")
        batches = []
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)  # 0 = [PAD], masked out below
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                e = encoded[i]
                n = len(e.ids)
                ids[r, :n] = e.ids
                mask[r, :n] = e.attention_mask
                types[r, :n] = e.type_ids
            batches.append((rows, ids, mask, types))
        if not batches:
            return np.zeros((0, 0), dtype=np.float32)
        if self.workers > 1 and len(batches) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx")
            results = list(self._pool.map(lambda b: self._run(*b[1:]), batches))
        else:
            results = [self._run(*b[1:]) for b in batches]
        out = np.empty((len(texts), results[0].shape[1]), dtype=np.float32)
        for (rows, *_), vectors in zip(batches, results, strict=True):
            out[rows] = vectors
        return out

    def _run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": types})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)


def export(sentence_transformer, model_path: str, target: Path) -> bool:
    """Write the graph of a loaded sentence-transformers model to `target`; True if kept.

    Written to a temporary file, checked against the model's own vectors, then moved into
    place atomically, so that concurrent processes never read half a file. Any failure is
    logged and leaves nothing behind: the caller simply keeps using torch.
    """
    import torch

    transformer = sentence_transformer[0].auto_model.eval()

    class Graph(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    probe = ["Who besieged al-Bab?", "Government forces cut off a road leading into Al-Bab, "
             "and the town has been besieged since Monday — «ça va» 3.5% Ünïcödé."]
    tokenizer = load_tokenizer(model_path, int(sentence_transformer.max_seq_length))
    encoded = tokenizer.encode_batch(probe)
    example = tuple(torch.tensor([getattr(e, name) for e in encoded], dtype=torch.long)
                    for name in ("ids", "attention_mask", "type_ids"))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Graph(transformer), example, temporary, input_names=list(INPUTS),
                output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                dynamic_axes={name: {0: "batch", 1: "tokens"}
                              for name in (*INPUTS, "last_hidden_state")})
        expected = sentence_transformer.encode(probe, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False)
        got = OnnxEncoder(Path(temporary), model_path,
                          int(sentence_transformer.max_seq_length)).encode(probe)
        difference = float(np.abs(got - expected).max())
        if difference > MAX_DIFFERENCE:
            log.warning("exported query encoder differs from the model by %.2g; not used",
                        difference)
            return False
        os.chmod(temporary, 0o644)  # mkstemp makes it private; it is a shareable cache
        os.replace(temporary, target)
        return True
    except Exception as exc:  # noqa: BLE001 - an optional speed-up must never stop indexing
        log.warning("could not export the query encoder (%s); questions use torch", exc)
        return False
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
