"""The two embedding engines give the same vectors, and a question-only process skips torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SAMPLE, run_cli
from support.embed_texts import TEXTS

from index import onnx_encoder
from index.embed import Embedder
from index.settings import Settings


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Embedder:
    """A fresh embedder whose ONNX graph is exported into its own cache folder."""
    cache = tmp_path_factory.mktemp("model-cache")
    fresh = Embedder(Settings().embed_model, cache_dir=cache)
    assert fresh._graph is not None and not fresh._graph.exists()
    fresh.embed(TEXTS * 3)  # a bulk batch loads torch, which exports the graph
    assert fresh._graph.exists(), "loading the torch model did not export the query encoder"
    return fresh


def test_onnx_vectors_equal_sentence_transformers(exported, embedder):
    expected = embedder.embed(TEXTS * 3)[: len(TEXTS)]  # > QUERY_BATCH texts: torch
    got = exported.embed(TEXTS)  # <= QUERY_BATCH texts: the ONNX graph
    assert exported._onnx is not None, "the small batch did not use the ONNX graph"
    assert got.shape == expected.shape and got.dtype == np.float32
    assert float(np.abs(got - expected).max()) < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_bulk_onnx_vectors_equal_sentence_transformers(exported, embedder):
    """What indexing embeds (chunks, headlines, sentences of real articles), in bulk through
    the graph (sorted by length, small padded batches), equals sentence-transformers' vectors."""
    from index.indexer import Indexer, batch_texts, read_inputs

    articles, _ = read_inputs([SAMPLE / "multihop-rag-evidence.jsonl"])
    articles = articles[:60]
    indexer = Indexer(None, lambda: exported, Settings().chunk_tokens)
    chunks = [c for a in articles for c in indexer.prepare(a)]
    texts, _ = batch_texts(articles, chunks)
    texts += TEXTS
    assert len(texts) > 200, len(texts)
    got = exported.embed(texts)
    assert exported.engine == "onnx"
    expected = embedder.model.encode(texts, batch_size=64, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert float(np.abs(got - expected).max()) < onnx_encoder.MAX_DIFFERENCE


def test_token_counts_equal_the_models_own_tokenizer(embedder):
    texts = [t for t in TEXTS if t] + ["Dr. Smith's U.N. report, Jan. 2017: 'hello'."]
    hf = embedder.model.tokenizer(texts, add_special_tokens=False, truncation=False)
    assert embedder.count_tokens(texts) == [len(ids) for ids in hf["input_ids"]]
    assert embedder.count_tokens([]) == []


def test_a_corrupt_cached_graph_falls_back_to_torch(tmp_path, embedder, caplog):
    fresh = Embedder(Settings().embed_model, cache_dir=tmp_path)
    fresh._graph.parent.mkdir(parents=True, exist_ok=True)
    fresh._graph.write_bytes(b"not an onnx graph")
    got = fresh.embed(TEXTS[:2])
    assert "using torch" in caplog.text
    assert fresh._graph.stat().st_size > 1_000_000, "the bad graph was not replaced"
    assert float(np.abs(got - embedder.embed(TEXTS[:2])).max()) < 1e-5


def test_a_model_without_mean_pooling_is_not_exported(tmp_path):
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    assert not onnx_encoder.supports(str(tmp_path))


def test_answering_a_question_never_imports_torch(tmp_path):
    """The cold `newsdesk ask` path: store, BM25, ONNX question vectors, spaCy; no torch."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    env = {"NEWSDESK_MODEL_CACHE": str(cache)}
    run_cli("index", str(SAMPLE / "al-bab-2017.txt"), home=home, env=env, check=True)
    run_cli("ask", "Who besieged al-Bab?", home=home, env=env, check=True)
    probe = (
        "import sys, json\n"
        "from ui.cli import app\n"
        "sys.argv = ['newsdesk', 'ask', '--json', 'Who besieged al-Bab?']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, "
        "'sentence_transformers': 'sentence_transformers' in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=300,
                          env={**os.environ, "NEWSDESK_HOME": str(home), **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    answer, modules = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert modules == {"torch": False, "sentence_transformers": False}
    assert any("government forces" in c["text"] for c in answer["citations"])
