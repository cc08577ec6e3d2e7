"""Indexing throughput and memory, against the embedding model's own speed as the ceiling.

One run measures three things:

1. the bundled sample corpus (`data/sample`), indexed by the real `newsdesk index` CLI into a
   fresh temporary store;
2. a larger generated corpus (`--articles`, default 5000) recombined from the sample's
   sentences, indexed the same way, with the CLI process's peak RSS;
3. the ceiling: the same embedding model through the same engine as the indexer (the ONNX
   graph), embedding exactly the texts the indexer embeds for the generated corpus (chunks,
   headlines, and sentences unless `NEWSDESK_INDEX_SENTENCE_VECTORS` is off), in one call;
   sentence-transformers' (torch) speed beside it.

Indexing rates come from the report's `seconds` (time inside `Indexer.run`, which excludes
process start and reading the inputs, but includes the lazy model load on the first article).
The ratio is indexing articles/s over raw-embedding articles/s; the goals are ratio >= 0.8
and peak RSS < 2 GiB.

Human-readable figures go to stdout, progress and logs to stderr, and the last stdout line is
one JSON object: {"bench": "index", ...}. Run: `make bench`, or
`.venv/bin/python bench/bench_index.py [--articles N] [--json-only]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from offline_env import ROOT, use_offline_env  # the project on sys.path, offline env

SAMPLE = "data/sample"  # relative to ROOT, where every child process runs
GOAL_RATIO = 0.8
GOAL_RSS_BYTES = 2 * 1024**3
SEED = 0

# The bench always measures a fresh embedded store, never a configured server.
DROPPED_ENV = ("NEWSDESK_HOME", "NEWSDESK_CHROMA_URL", "NEWSDESK_CHROMA_TOKEN")


def log(message: str) -> None:
    print(f"[bench-index] {message}", file=sys.stderr, flush=True)


def setup_env() -> None:
    use_offline_env()
    # Index and question timings are the pipeline's; a model's writing time is bench_answers'.
    os.environ["NEWSDESK_ANSWERER"] = "extractive"
    for name in DROPPED_ENV:
        os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


# ---- running the real CLI -------------------------------------------------------------------


def newsdesk_executable() -> Path:
    """The `newsdesk` script beside this interpreter (not resolved: a venv python is a link)."""
    exe = Path(sys.executable).parent / "newsdesk"
    if not exe.exists():
        raise SystemExit(f"error: {exe} not found; run `make install` first")
    return exe


def run_index_cli(inputs: str, home: Path) -> dict:
    """`newsdesk index INPUTS --home HOME --json` in a child process.

    The child is reaped with os.wait4, which returns that one child's own resource usage, so
    its peak RSS is exact whatever other children this process ran before or after.
    """
    cmd = [str(newsdesk_executable()), "index", inputs, "--home", str(home),
           "--chroma-url", "", "--json"]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=None, env=os.environ.copy())
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: leave no orphan indexer behind
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"error: `{' '.join(cmd)}` exited {proc.returncode}:\n{stdout}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"error: `{' '.join(cmd)}` printed no JSON report")
    report = json.loads(lines[-1])
    indexed = report["articles_added"] + report["articles_updated"]
    seconds = float(report["seconds"])
    return {
        "articles": indexed,
        "sentences": report["sentences"],
        "chunks": report["chunks"],
        "failed": report["articles_failed"],
        "seconds": seconds,
        "wall_seconds": round(wall, 3),
        "articles_per_s": round(indexed / seconds, 2) if seconds else None,
        "sentences_per_s": round(report["sentences"] / seconds, 1) if seconds else None,
        # Linux reports ru_maxrss in KiB.
        "peak_rss_bytes": int(usage.ru_maxrss) * 1024,
        # The whole process (start-up and model load included); steadier than wall time
        # when other work shares the CPUs.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
    }


def busy_cpu_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux), else None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# ---- the generated corpus -------------------------------------------------------------------


def sample_material() -> tuple[list[str], list[str]]:
    """All sentence texts of the sample corpus, and its (non-empty) sources."""
    from index.loaders import iter_inputs
    from index.sentences import split_sentences
    from index.types import Article

    sentences: list[str] = []
    sources: set[str] = set()
    for item in iter_inputs([ROOT / SAMPLE]):
        if not isinstance(item, Article):
            continue
        if item.source:
            sources.add(item.source)
        for sentence in split_sentences(item.text, item.id):
            sentences.append(item.sentence_text(sentence))
    if not sentences:
        raise SystemExit(f"error: no sentences found in {ROOT / SAMPLE}")
    return sentences, sorted(sources) or ["Newsdesk Bench"]


def generate_corpus(count: int, path: Path) -> int:
    """`count` articles of 8-16 recombined sample sentences, as JSONL; returns the count.

    Each sentence gets one word (not its last) swapped for a word of the sample, so that no
    sentence text recurs across articles: the index run embeds a text met twice in a batch
    once, and a corpus recombined from ~1,000 sentences would otherwise measure that shortcut
    (six of seven sentences of a batch), not the model's speed on news.
    """
    sentences, sources = sample_material()
    vocabulary = sorted({w for s in sentences for w in s.split() if w.isalpha()})
    rng = random.Random(SEED)
    year_start = datetime(2023, 1, 1, tzinfo=UTC)

    def varied(sentence: str) -> str:
        words = sentence.split(" ")
        if len(words) > 1:
            words[rng.randrange(len(words) - 1)] = rng.choice(vocabulary)
        return " ".join(words)

    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            picked = [varied(rng.choice(sentences)) for _ in range(rng.randint(8, 16))]
            paragraphs: list[str] = []
            while picked:
                size = rng.randint(2, 4)
                paragraphs.append(" ".join(picked[:size]))
                picked = picked[size:]
            title = " ".join(rng.choice(sentences).split()[:10]).rstrip(".,;:")
            published = year_start + timedelta(seconds=rng.randrange(365 * 24 * 3600))
            record = {
                "title": title,
                "source": rng.choice(sources),
                "published_at": published.isoformat(),
                "url": f"https://bench.newsdesk.invalid/articles/{number:07d}",
                "body": "\n\n".join(paragraphs),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count


# ---- the ceiling ----------------------------------------------------------------------------


def measure_ceiling(corpus: Path, torch_texts: int = 2000) -> dict:
    """Raw embedding speed over exactly the texts the indexer embeds (chunks, headlines and,
    with `index_sentence_vectors`, sentences; each distinct text once), through the same
    engine the indexer uses (the ONNX graph); sentence-transformers' (torch) speed on the
    first `torch_texts` of them beside it."""
    import numpy as np

    from index.embed import Embedder
    from index.indexer import Indexer, batch_texts, read_inputs
    from index.settings import load_settings

    settings = load_settings(cwd=ROOT)
    articles, errors = read_inputs([corpus])
    if errors:
        raise SystemExit(f"error: the generated corpus has {len(errors)} bad records: {errors[0]}")

    embedder = Embedder(settings.embed_model, settings.embed_batch_size, settings.model_cache)
    # The store is not touched by prepare(); the chunking is the indexer's own.
    indexer = Indexer(None, lambda: embedder, settings.chunk_tokens,  # type: ignore[arg-type]
                      sentence_vectors=settings.index_sentence_vectors)
    started = time.perf_counter()
    chunks = [c for article in articles for c in indexer.prepare(article)]
    sentences = sum(len(a.sentences) for a in articles)
    texts = list(dict.fromkeys(batch_texts(articles, chunks,
                                           settings.index_sentence_vectors)[0]))
    prepare_seconds = time.perf_counter() - started
    log(f"{len(texts)} texts prepared in {prepare_seconds:.2f} s; embedding them")

    embedder.embed(texts[:256])  # warm-up (and the graph's export, if it is missing)
    engine = embedder.engine
    started, cpu_started = time.perf_counter(), time.process_time()
    vectors = embedder.embed(texts)
    embed_seconds = time.perf_counter() - started
    embed_cpu = time.process_time() - cpu_started
    assert len(vectors) == len(texts)

    started = time.perf_counter()
    model = embedder.model  # sentence-transformers (torch), for the figure beside it
    load_seconds = time.perf_counter() - started
    sample = texts[:torch_texts]
    model.encode(sample[:64], batch_size=settings.embed_batch_size, show_progress_bar=False)
    started = time.perf_counter()
    reference = model.encode(sample, batch_size=settings.embed_batch_size,
                             normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    torch_seconds = time.perf_counter() - started
    difference = float(np.abs(reference - vectors[:len(sample)]).max())

    return {
        "model": settings.embed_model,
        "engine": engine,
        "batch_size": settings.embed_batch_size,
        "chunk_tokens": indexer.chunk_tokens,
        "articles": len(articles),
        "sentences": sentences,
        "texts": len(texts),
        "embedded": ("chunks, headlines, sentences" if settings.index_sentence_vectors
                     else "chunks, headlines"),
        "seconds": round(embed_seconds, 3),
        "texts_per_s": round(len(texts) / embed_seconds, 1),
        "articles_per_s": round(len(articles) / embed_seconds, 2),
        "cpu_seconds": round(embed_cpu, 3),
        # sentence-transformers on the first texts, same vectors (max difference):
        "torch_texts": len(sample),
        "torch_texts_per_s": round(len(sample) / torch_seconds, 1),
        "torch_articles_per_s": round(len(sample) / torch_seconds * len(articles)
                                      / len(texts), 2),
        "torch_max_difference": difference,
        # Breakdown, for reading the gap (not part of the ceiling itself):
        "model_load_seconds": round(load_seconds, 3),
        "prepare_seconds": round(prepare_seconds, 3),
    }


# ---- output ---------------------------------------------------------------------------------


def gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB"


def rates(run: dict) -> str:
    return (f"indexing {run['seconds']:.2f} s: {run['articles_per_s']:.1f} articles/s, "
            f"{run['sentences_per_s']:.0f} sentences/s; process wall {run['wall_seconds']:.2f} s")


def print_human(result: dict) -> None:
    sample, large, ceiling = result["sample"], result["large"], result["ceiling"]
    print("Newsdesk indexing benchmark")
    print(f"  sample corpus ({SAMPLE}): {sample['articles']} articles, "
          f"{sample['sentences']} sentences, {sample['chunks']} chunks")
    print(f"    {rates(sample)}")
    print(f"  generated corpus: {large['articles']} articles, {large['sentences']} sentences, "
          f"{large['chunks']} chunks")
    print(f"    {rates(large)}")
    print(f"    peak RSS {gib(large['peak_rss_bytes'])} (goal < {gib(GOAL_RSS_BYTES)}): "
          f"{'OK' if result['rss_ok'] else 'MISSED'}")
    print(f"  ceiling, {ceiling['model']} through {ceiling['engine']} on the same "
          f"{ceiling['texts']} texts ({ceiling['embedded']}): {ceiling['seconds']:.2f} s, "
          f"{ceiling['texts_per_s']:.1f} texts/s = {ceiling['articles_per_s']:.1f} articles/s")
    print(f"    sentence-transformers (torch) on {ceiling['torch_texts']} of them: "
          f"{ceiling['torch_texts_per_s']:.1f} texts/s = {ceiling['torch_articles_per_s']:.1f} "
          f"articles/s (max difference {ceiling['torch_max_difference']:.1e})")
    print(f"    (not in the ceiling: split+chunk {ceiling['prepare_seconds']:.2f} s, "
          f"torch model load {ceiling['model_load_seconds']:.2f} s)")
    print(f"  ratio indexing/ceiling: {result['ratio']:.3f} (goal >= {GOAL_RATIO}): "
          f"{'OK' if result['ratio_ok'] else 'MISSED'}")
    print(f"    on CPU time: ceiling {ceiling['cpu_seconds']:.1f} s / indexing process "
          f"{large['cpu_seconds']:.1f} s = {result['cpu_ratio']:.3f}; "
          f"{result['cpus']} CPUs, load average {result['loadavg_before']:.2f} before")
    if result["other_cpu_share"] is not None:
        print(f"    other processes used {result['other_cpu_share']:.0%} of the CPUs meanwhile "
              "(rates are only comparable between runs on an otherwise idle machine)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark `newsdesk index` against the embedding model's raw speed.")
    parser.add_argument("--articles", type=int, default=5000, metavar="N",
                        help="articles in the generated corpus (default: 5000)")
    parser.add_argument("--json-only", action="store_true",
                        help="print only the final JSON line to stdout")
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_env()
    # A terminated bench still removes its temporary stores and stops its child.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-index-") as tmp:
        tmp_path = Path(tmp)
        corpus = tmp_path / "generated.jsonl"
        log(f"generating {args.articles} articles from the sample's sentences")
        generate_corpus(args.articles, corpus)

        load_before = os.getloadavg()[0]
        wall_started, busy_started = time.perf_counter(), busy_cpu_seconds()
        own_started = own_cpu_seconds()
        if load_before > 0.5:
            log(f"warning: load average {load_before:.2f} before starting: other work shares "
                "the CPUs, so rates (and the ratio) are noisier; compare cpu_seconds too")
        # The big index runs first and the ceiling right after it, so that the two figures
        # of the ratio are measured as close together in time as possible.
        log("indexing the generated corpus (newsdesk index, fresh store)")
        large = run_index_cli(str(corpus), tmp_path / "home-large")
        log(f"generated corpus: {large['seconds']:.2f} s in Indexer.run, "
            f"peak RSS {gib(large['peak_rss_bytes'])}")

        log("measuring the ceiling: raw embedding of the same chunk texts")
        ceiling = measure_ceiling(corpus)

        log(f"indexing the sample corpus ({SAMPLE}, fresh store)")
        sample = run_index_cli(SAMPLE, tmp_path / "home-sample")
        busy_ended, own_ended = busy_cpu_seconds(), own_cpu_seconds()
        capacity = (time.perf_counter() - wall_started) * (os.cpu_count() or 1)

    other_share = None
    if busy_started is not None and busy_ended is not None:
        other = (busy_ended - busy_started) - (own_ended - own_started)
        other_share = round(max(0.0, other) / capacity, 3)
    if other_share is not None and other_share > 0.1:
        log(f"warning: other processes used {other_share:.0%} of the CPUs during the bench; "
            "rates are lower than on an idle machine and the ratio is noisier")
    if ceiling["articles"] != large["articles"]:
        log(f"warning: the ceiling saw {ceiling['articles']} articles, "
            f"the indexer {large['articles']}")
    ratio = large["articles_per_s"] / ceiling["articles_per_s"]
    # The same ratio on CPU time: embedding CPU over the indexing process's whole CPU.
    cpu_ratio = ceiling["cpu_seconds"] / large["cpu_seconds"] if large["cpu_seconds"] else 0.0
    result = {
        "bench": "index",
        "sample": sample,
        "large": large,
        "ceiling": ceiling,
        "ratio": round(ratio, 3),
        "goal_ratio": GOAL_RATIO,
        "ratio_ok": ratio >= GOAL_RATIO,
        "peak_rss_bytes": large["peak_rss_bytes"],
        "goal_rss_bytes": GOAL_RSS_BYTES,
        "rss_ok": large["peak_rss_bytes"] < GOAL_RSS_BYTES,
        "cpu_ratio": round(cpu_ratio, 3),
        "cpus": os.cpu_count(),
        "loadavg_before": round(load_before, 2),
        # Share of all CPUs' time that other processes used while the bench ran.
        "other_cpu_share": other_share,
    }
    if not args.json_only:
        print_human(result)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
