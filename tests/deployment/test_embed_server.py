"""NEWSDESK_EMBED_URL against a real OpenAI-compatible embedding server on loopback.

The server is `newsdesk embed serve` (the packaged MiniLM through the same ONNX graph as local
embedding) started as a subprocess; the client is `index.remote_embed`, and the real CLI for
indexing and questions. Vectors must equal the local ones within 1e-4, a store indexed through
the server must equal one indexed locally, and a server that is down, answers in another
dimension or serves another model gives one error line and writes nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, run_cli, run_json
from support.embed_texts import TEXTS
from support.store_snapshot import snapshot

from index.embed import resolve_model_path
from index.embed_identity import TEXT_FORM
from index.errors import NewsdeskError
from index.indexer import batch_texts, read_inputs
from index.remote_embed import RemoteEmbedder
from index.settings import Settings
from index.store import Store

MODEL = Settings().embed_model
QUESTIONS = ["Who besieged al-Bab?", "Which company did the FTC sue?"]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def index_texts(embedder, count: int = 40) -> list[str]:
    """What an index run embeds for real articles: chunks, headlines, sentences."""
    from index.indexer import Indexer

    articles, _ = read_inputs([SAMPLE / "multihop-rag-evidence.jsonl"])
    articles = articles[:count]
    indexer = Indexer(None, lambda: embedder, Settings().chunk_tokens)
    chunks = [c for a in articles for c in indexer.prepare(a)]
    return batch_texts(articles, chunks)[0]


def test_server_vectors_equal_the_local_ones(embed_server, embedder):
    remote = RemoteEmbedder(MODEL, embed_server.url, batch_size=16)
    texts = index_texts(embedder) + TEXTS
    assert len(texts) > 100  # several requests, some in flight at once
    got = remote.embed(texts)
    expected = embedder.embed(texts)
    assert got.shape == expected.shape == (len(texts), 384) and got.dtype == np.float32
    assert float(np.abs(got - expected).max()) < 1e-4
    query = remote.embed_query("Who besieged al-Bab?")
    assert float(np.abs(query - embedder.embed_query("Who besieged al-Bab?")).max()) < 1e-4


def test_the_openai_client_speaks_to_the_server(embed_server, embedder):
    """The protocol as OpenAI's own client uses it (base64 vectors by default)."""
    import openai

    client = openai.OpenAI(base_url=embed_server.url, api_key="unused", max_retries=0)
    response = client.embeddings.create(input=TEXTS[:3], model=MODEL)
    got = np.array([row.embedding for row in response.data], dtype=np.float32)
    assert float(np.abs(got - embedder.embed(TEXTS[:3])).max()) < 1e-4
    assert response.usage.prompt_tokens > 0
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.embeddings.create(input=["x"], model="another-model")


def test_index_and_ask_through_the_server_equal_local(embed_server, sample_home, tmp_path):
    home = tmp_path / "home"
    report = run_json("index", str(SAMPLE), "--embed-url", embed_server.url, home=home)
    assert report["errors"] == [] and report["articles_added"] == 327
    assert not (home.parent / "model-cache").exists()
    served, local = snapshot(home), snapshot(sample_home)
    assert served == local  # ids, texts, offsets, chunks, sentence rows
    ours, theirs = Store(Settings(home=str(home))), Store(Settings(home=str(sample_home)))
    assert ours.embedding_identity().text_form == TEXT_FORM  # a new store: texts as they are
    ids = sorted(local["articles"])[:50]
    for collection in ("chunks", "articles"):
        a = getattr(ours, collection).get(where={"article_id": {"$in": ids}}
                                          if collection == "chunks" else None,
                                          ids=None if collection == "chunks" else ids,
                                          include=["embeddings"])
        b = getattr(theirs, collection).get(ids=a["ids"], include=["embeddings"])
        assert len(a["ids"]) >= 50 and a["ids"] == b["ids"]
        assert float(np.abs(np.array(a["embeddings"]) - np.array(b["embeddings"])).max()) < 1e-4
    vectors_a, vectors_b = ours.lexical.all_vectors(), theirs.lexical.all_vectors()
    assert vectors_a.keys() == vectors_b.keys() and len(vectors_a) > 400
    keys = sorted(vectors_a)
    assert float(np.abs(np.array([vectors_a[k] for k in keys])
                        - np.array([vectors_b[k] for k in keys])).max()) < 1e-4

    answers = {}
    for name, where, extra in (("served", home, ["--embed-url", embed_server.url]),
                               ("local", sample_home, [])):
        proc = run_cli("ask", "--json", *extra, home=where, check=True,
                       stdin="\n".join(QUESTIONS) + "\n")
        answers[name] = [json.loads(line) for line in proc.stdout.splitlines() if line]
    for s, e in zip(answers["served"], answers["local"], strict=True):
        assert [c["text"] for c in s["citations"]] == [c["text"] for c in e["citations"]]
        assert s["abstained"] == e["abstained"]
    assert answers["served"][0]["abstained"] is False


@pytest.mark.parametrize("command", ["index", "ask"])
def test_a_server_that_is_down_gives_one_error_line_naming_it(command, dead_url, sample_home,
                                                              tmp_path):
    home = tmp_path / "home" if command == "index" else sample_home
    args = ["index", str(SAMPLE / "al-bab-2017.txt")] if command == "index" else \
        ["ask", "Who besieged al-Bab?"]
    proc = run_cli(*args, "--embed-url", dead_url, home=home, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and dead_url in lines[0] and "embedding server" in lines[0], \
        proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stdout.strip() == ""
    if command == "index":
        assert Store(Settings(home=str(home))).article_count() == 0


def model_folder_like(tmp_path: Path, name: str, **config) -> Path:
    """A copy of the packaged model's folder with changed configuration."""
    folder = tmp_path / name
    shutil.copytree(resolve_model_path(MODEL), folder)
    path = folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return folder


def test_a_server_of_another_dimension_is_refused(embed_server, tmp_path):
    """The client expects a 768-dimensional model; the server serves the 384-dimensional one."""
    folder = model_folder_like(tmp_path, "wide", hidden_size=768)
    env = {"NEWSDESK_EMBED_MODEL": str(folder), "NEWSDESK_EMBED_SERVER_MODEL": MODEL}
    proc = run_cli("index", str(SAMPLE / "al-bab-2017.txt"), "--embed-url", embed_server.url,
                   home=tmp_path / "home", env=env)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and embed_server.url in lines[0], proc.stderr[-2000:]
    assert "384-dimensional" in lines[0] and "768" in lines[0]
    with pytest.raises(NewsdeskError, match="384-dimensional"):
        RemoteEmbedder(str(folder), embed_server.url, server_model=MODEL).embed(["x"])


@pytest.fixture(scope="module")
def other_model_server(embed_server_factory, tmp_path_factory):
    """A real server of another model with the same dimension: the packaged weights with
    the word embeddings shuffled (so its vectors differ), exported to ONNX at its start."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path_factory.mktemp("other-model") / "minilm-shuffled"
    shutil.copytree(resolve_model_path(MODEL), folder)
    weights = load_file(folder / "model.safetensors")
    name = next(k for k in weights if k.endswith("word_embeddings.weight"))
    weights[name] = np.random.default_rng(7).permutation(weights[name])
    save_file(weights, folder / "model.safetensors")
    return embed_server_factory(str(folder)), folder


def test_a_server_of_another_model_cannot_write_to_or_search_the_store(
        other_model_server, embed_server, embedder, tmp_path):
    server, folder = other_model_server
    home = tmp_path / "home"
    new = tmp_path / "lighthouse.txt"
    new.write_text("Quillmoor lighthouse repainted\n\nThe Quillmoor lighthouse was repainted "
                   "in cobalt blue by volunteers on Tuesday.\n", encoding="utf-8")
    run_cli("index", str(SAMPLE / "al-bab-2017.txt"), home=home, check=True)  # local model
    before = snapshot(home)
    # The client names the packaged model; the server answers with its own vectors.
    other = RemoteEmbedder(MODEL, server.url, server_model=str(folder))
    assert other.embed(["x"]).shape == (1, 384)  # same dimension: only the probe tells
    for args in (["index", str(new)],
                 ["ask", "Who besieged al-Bab?"]):
        proc = run_cli(*args, "--embed-url", server.url, home=home,
                       env={"NEWSDESK_EMBED_SERVER_MODEL": str(folder)})
        assert proc.returncode == 1, proc.stderr[-2000:]
        lines = error_lines(proc.stderr)
        assert len(lines) == 1 and server.url in lines[0] and "does not match" in lines[0], \
            proc.stderr[-2000:]
    assert snapshot(home) == before  # nothing written
    # The right server still writes to it.
    run_cli("index", str(new), "--embed-url", embed_server.url,
            home=home, check=True)
    assert len(snapshot(home)["articles"]) == len(before["articles"]) + 1


def test_a_store_indexed_before_identities_were_recorded_is_checked_by_its_vectors(
        other_model_server, tmp_path, embedder, caplog):
    server, folder = other_model_server
    settings = Settings(home=str(tmp_path / "home"))
    articles, _ = read_inputs([SAMPLE / "al-bab-2017.txt"])
    store = Store(settings)
    from index.indexer import Indexer

    indexer = Indexer(store, lambda: embedder, settings.chunk_tokens)
    indexer.embedder  # noqa: B018 - records the identity; removed below, as in an old store
    store.articles.modify(metadata={"legacy": True})
    article = articles[0]
    chunks = indexer.prepare(article)
    store.write([article], chunks, *indexer.embed_batch([article], chunks))
    assert store.embedding_identity() is None and store.sample_title() is not None
    from index.embed_identity import check_store

    other = RemoteEmbedder(MODEL, server.url, server_model=str(folder))
    with pytest.raises(NewsdeskError, match="stored headline vectors"):
        check_store(store, other, record=True)
    assert store.embedding_identity() is None
    with caplog.at_level("WARNING", logger="index.embed_identity"):
        check_store(store, embedder, record=True)  # the right model adopts the store
    # ... recorded as of an earlier text form (its sentences were embedded behind their
    # headlines), which every later check names until it is re-indexed.
    assert store.embedding_identity() is not None
    assert store.embedding_identity().text_form == ""
    assert "indexed by an earlier Newsdesk" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="index.embed_identity"):
        check_store(store, embedder)
    assert "indexed by an earlier Newsdesk" in caplog.text
