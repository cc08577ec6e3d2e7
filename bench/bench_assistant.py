"""Assistant benchmark: retrieval, citations, abstention and latency on MultiHop-RAG dev.

Measured in one run over the bundled sample corpus (the MultiHop-RAG evidence articles plus
the al-Bab article), beside two baselines built on the same articles and the same embedding
model: a plain llama-index `VectorStoreIndex` (default chunking, top-k nodes) and plain BM25
(bm25s over the same nodes). The evidence corpus is small (326 short articles), which makes
retrieval easier than on the full MultiHop-RAG corpus: quote these figures with that caveat.

Last stdout line: one JSON object {"bench": "assistant", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from offline_env import ROOT  # first: offline env, project and tests on sys.path

QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
SAMPLE = ROOT / "data" / "sample"
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def norm(text: str) -> str:
    return " ".join(text.split())


def ranking_scores(ranked: list[list[str]], gold: list[set[str]], contains: bool) -> dict:
    """recall@4, recall@10 and MRR@10; a hit is an exact sentence, or a chunk holding it."""

    def hit(item: str, fact: str) -> bool:
        return fact in item if contains else item == fact

    r4 = r10 = mrr = 0.0
    for items, facts in zip(ranked, gold, strict=True):
        r4 += sum(any(hit(i, f) for i in items[:4]) for f in facts) / len(facts)
        r10 += sum(any(hit(i, f) for i in items[:10]) for f in facts) / len(facts)
        first = next((n for n, i in enumerate(items[:10]) if any(hit(i, f) for f in facts)), None)
        mrr += 0.0 if first is None else 1.0 / (first + 1)
    n = len(ranked)
    return {"recall@4": round(r4 / n, 3), "recall@10": round(r10 / n, 3),
            "mrr@10": round(mrr / n, 3)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def baselines(articles, embedder, queries, gold) -> dict:
    """Plain llama-index vector retrieval and plain BM25 over the same llama-index nodes."""
    import bm25s
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core import Settings as LISettings
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed_model = HuggingFaceEmbedding(model_name=embedder.path, device="cpu")
    LISettings.embed_model = embed_model
    docs = [Document(text=a.text, metadata={"title": a.title, "source": a.source})
            for a in articles]
    index = VectorStoreIndex.from_documents(docs, show_progress=False)
    retriever = index.as_retriever(similarity_top_k=10)
    vector_ranked = [[norm(n.node.get_content()) for n in retriever.retrieve(q)]
                     for q in queries]
    nodes = list(index.docstore.docs.values())
    texts = [norm(n.get_content()) for n in nodes]
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    ids, _ = bm25.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False),
                           k=10, show_progress=False)
    bm25_ranked = [[texts[int(i)] for i in row] for row in ids]
    return {"llama_index_vector": ranking_scores(vector_ranked, gold, contains=True),
            "bm25": ranking_scores(bm25_ranked, gold, contains=True)}


def chunk_texts(store) -> dict[tuple[str, int], str]:
    """(article id, sentence index) -> the normalised text of the stored chunk holding it."""
    stored = store.chunks.get(include=["metadatas", "documents"])
    out = {}
    for meta, text in zip(stored["metadatas"], stored["documents"], strict=True):
        for index in range(meta["sentence_start"], meta["sentence_end"]):
            out[(meta["article_id"], index)] = norm(text)
    return out


def first_distinct(items, k: int = 10) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
            if len(seen) == k:
                break
    return seen


def cold_ask_seconds(home: Path, runs: int) -> list[float]:
    times = []
    env = {**os.environ, "NEWSDESK_HOME": str(home)}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([NEWSDESK, "ask", "Who besieged al-Bab?"], env=env, check=True,
                       capture_output=True)
        times.append(round(time.perf_counter() - start, 2))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=3, help="cold `newsdesk ask` runs")
    parser.add_argument("--skip-baselines", action="store_true")
    args = parser.parse_args()

    from assistant.engine import Assistant
    from index.settings import Settings

    cases = json.loads(QUERIES.read_text(encoding="utf-8"))
    answerable = [c for c in cases if c["question_type"] != "null_query"]
    null = [c for c in cases if c["question_type"] == "null_query"]
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-assistant-") as tmp:
        home = Path(tmp)
        log("indexing the sample corpus ...")
        subprocess.run([NEWSDESK, "index", str(SAMPLE)], env={**os.environ,
                       "NEWSDESK_HOME": str(home)}, check=True, capture_output=True)
        assistant = Assistant(Settings(home=str(home), answerer="extractive"))
        lexical = assistant.lexical.get()
        assistant.ask("warm-up question about the siege of al-Bab")

        log("ranking (Newsdesk) ...")
        gold = [{norm(e["fact"]) for e in c["evidence_list"]} for c in answerable]
        chunk_of = chunk_texts(assistant.store)
        ranked, passages = [], []
        for c in answerable:
            pool = assistant.retriever.retrieve(c["query"], lexical)
            assistant.reranker.rerank(pool)
            ranked.append([norm(x.text) for x in pool.candidates[:10]])
            passages.append(first_distinct(chunk_of[(x.ref.article_id, x.ref.index)]
                                           for x in pool.candidates))
        newsdesk = ranking_scores(ranked, gold, contains=False)
        newsdesk_passages = ranking_scores(passages, gold, contains=True)

        log("answers ...")
        latencies, cited, cited_gold, gold_total, wrong_abstain = [], 0, 0, 0, 0
        for c, facts in zip(answerable, gold, strict=True):
            t = time.perf_counter()
            answer = assistant.ask(c["query"])
            latencies.append((time.perf_counter() - t) * 1000)
            texts = {norm(x.text) for x in answer.citations}
            cited += len(texts)
            cited_gold += len(texts & facts)
            gold_total += len(facts)
            wrong_abstain += answer.abstained
        null_abstained = 0
        for c in null:
            t = time.perf_counter()
            null_abstained += assistant.ask(c["query"]).abstained
            latencies.append((time.perf_counter() - t) * 1000)
        albab = []
        for _ in range(10):
            t = time.perf_counter()
            assistant.ask("Who besieged al-Bab?")
            albab.append((time.perf_counter() - t) * 1000)

        results = {
            "bench": "assistant",
            "queries": len(cases),
            "newsdesk": newsdesk,
            "newsdesk_passages": newsdesk_passages,
            "citation_precision": round(cited_gold / cited, 3) if cited else 0.0,
            "citation_recall": round(cited_gold / gold_total, 3),
            "null_abstained": round(null_abstained / len(null), 3),
            "answerable_wrongly_abstained": round(wrong_abstain / len(answerable), 3),
            "warm_ask_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)},
            "warm_ask_repeat_ms": {"p50": percentile(albab, 0.5)},
        }
        if not args.skip_baselines:
            log("baselines ...")
            articles = list(assistant.store.iter_articles())
            results.update(baselines(articles, assistant.embedder,
                                     [c["query"] for c in answerable], gold))
        log("cold asks ...")
        cold = cold_ask_seconds(home, args.cold_runs)
        results["cold_ask_s"] = {"median": statistics.median(cold), "runs": cold}

    print("Assistant on MultiHop-RAG dev (150 queries) over the bundled evidence articles")
    print("  (a small corpus: 327 articles; retrieval is easier than on the full corpus)")
    rows = [("Newsdesk sentences", newsdesk), ("Newsdesk passages", newsdesk_passages)]
    for name in ("llama_index_vector", "bm25"):
        if name in results:
            rows.append((name, results[name]))
    print(f"  {'':20} recall@4 recall@10 MRR@10")
    for name, r in rows:
        print(f"  {name:20} {r['recall@4']:8.3f} {r['recall@10']:9.3f} {r['mrr@10']:6.3f}")
    print("  sentences: a hit is a gold fact equal to one of the top-k sentences (what is cited);")
    print("  passages (like both baselines): a gold fact inside one of the top-k passages;")
    print("  Newsdesk's passages are its <= 128-token chunks, ordered by their best sentence;")
    print("  the baselines' are llama-index's default 1024-token nodes (whole articles here)")
    print("  goal: recall@10 >= 0.97, MRR@10 >= 0.95")
    print(f"  citations: precision {results['citation_precision']:.3f}, "
          f"recall {results['citation_recall']:.3f} (exact gold sentences)")
    print(f"  abstention: null queries abstained {results['null_abstained']:.3f} (goal >= 0.9),"
          f" answerable wrongly abstained {results['answerable_wrongly_abstained']:.3f}"
          " (goal <= 0.05)")
    print(f"  warm ask: p50 {results['warm_ask_ms']['p50']} ms, p95 "
          f"{results['warm_ask_ms']['p95']} ms over new questions (goal p50 < 300 ms); "
          f"a repeated question p50 {results['warm_ask_repeat_ms']['p50']} ms")
    print(f"  cold `newsdesk ask`: median {results['cold_ask_s']['median']} s of "
          f"{results['cold_ask_s']['runs']} (goal < 8 s)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
