"""Ask latency with a Chroma server vs the embedded store, same corpus, same questions, one run.

Both stores hold the bundled sample corpus, indexed in this process with one embedding model;
both assistants share that model, so the difference measured is the store: HTTP round trips
to `chroma run` on loopback against in-process calls. Questions alternate between the two
(embedded first on even rounds, server first on odd ones) so that the machine's load, noisy
here, falls on both alike. Goal: server p50 and p95 within 1.5x of embedded.

Last stdout line: one JSON object {"bench": "servers", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from offline_env import ROOT  # first: offline env, project and tests on sys.path

QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
SAMPLE = ROOT / "data" / "sample"
GOAL = 1.5


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def questions(count: int) -> list[str]:
    dev = json.loads(QUERIES.read_text(encoding="utf-8"))
    return ["Who besieged al-Bab?", *(q["query"] for q in dev[:count - 1])]


def signature(answer) -> tuple:
    return (answer.abstained, tuple((c.text, c.article_id) for c in answer.citations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from support.servers import ChromaServer

    from assistant.engine import Assistant
    from index.embed import embedder_for
    from index.settings import Settings
    from ui.index_run import run_index

    work = Path(tempfile.mkdtemp(prefix="bench-servers-"))
    chroma = ChromaServer(work / "chroma-data").start()
    url = chroma.url
    try:
        embedded = Settings(home=str(work / "embedded"), answerer="extractive")
        served = Settings(home=str(work / "served"), chroma_url=url, answerer="extractive")
        embedder = embedder_for(embedded)  # the instance run_index loads, not a second one
        for name, settings in (("embedded", embedded), ("server", served)):
            t = time.perf_counter()
            report = run_index(settings, [SAMPLE], show_progress=False)
            log(f"indexed {report.articles_added} articles into the {name} store in "
                f"{time.perf_counter() - t:.1f} s")
        assistants = {"embedded": Assistant(embedded, embedder=embedder),
                      "server": Assistant(served, embedder=embedder)}
        qs = questions(args.questions)
        for assistant in assistants.values():  # warm-up: BM25 built, caches filled
            assistant.ask(qs[0])
        times: dict[str, list[float]] = {"embedded": [], "server": []}
        same = 0
        for r in range(args.rounds):
            for q in qs:
                order = ["embedded", "server"] if r % 2 == 0 else ["server", "embedded"]
                answers = {}
                for name in order:
                    t = time.perf_counter()
                    answers[name] = assistants[name].ask(q)
                    times[name].append((time.perf_counter() - t) * 1000)
                same += signature(answers["embedded"]) == signature(answers["server"])
            log(f"round {r + 1}/{args.rounds} done")
    finally:
        chroma.stop()

    stats = {name: {"p50_ms": round(percentile(v, 0.5), 1), "p95_ms": round(percentile(v, 0.95), 1),
                    "mean_ms": round(statistics.mean(v), 1)} for name, v in times.items()}
    ratio_p50 = stats["server"]["p50_ms"] / stats["embedded"]["p50_ms"]
    ratio_p95 = stats["server"]["p95_ms"] / stats["embedded"]["p95_ms"]
    asked = len(times["server"])
    print(f"{asked} asks per store ({len(qs)} questions x {args.rounds} rounds), "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, s in stats.items():
        print(f"  {name:9s} p50 {s['p50_ms']:8.1f} ms   p95 {s['p95_ms']:8.1f} ms   "
              f"mean {s['mean_ms']:8.1f} ms")
    print(f"  server/embedded: p50 x{ratio_p50:.2f}, p95 x{ratio_p95:.2f} (goal <= x{GOAL})")
    print(f"  identical answers: {same}/{asked}")
    print(json.dumps({"bench": "servers", "questions": len(qs), "rounds": args.rounds,
                      "asks_per_store": asked, **{f"{k}_{m}": v for k, s in stats.items()
                                                  for m, v in s.items()},
                      "ratio_p50": round(ratio_p50, 2), "ratio_p95": round(ratio_p95, 2),
                      "goal_ratio": GOAL, "within_goal": max(ratio_p50, ratio_p95) <= GOAL,
                      "identical_answers": same, "load_avg": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
