"""How the costs grow with the corpus: index, first ask, cold and warm asks, refresh, disk.

For each size (default 1,000, 3,000, 10,000 and 30,000 generated articles, from
bench/bench_index.py's generator) a fresh embedded store is indexed by the real CLI, then:

- index: `newsdesk index` time (the report's `seconds`), articles/s, peak RSS (os.wait4);
- first ask: the first `newsdesk ask` process after the index run, wall time;
- cold ask: p50/p95 over further `newsdesk ask` processes (`--cold-runs`);
- warm ask: p50/p95 of `Assistant.ask` over MultiHop-RAG dev questions in one long-running
  process (a child of this script, `--serve`), and that process's RSS (VmHWM, the peak);
- refresh: that warm process keeps running while another `newsdesk index` adds 5 articles,
  each holding a fact no other article has; its next question must cite one of them, and
  its latency is reported (goal < 2 s);
- disk: the data directory's size.

The log-log slope of each figure against the corpus size says how it grows (1 = linear,
0 = flat). Human-readable table on stdout, progress on stderr, and the last stdout line is
one JSON object: {"bench": "scale", ...}.

Run: `make bench`, or `.venv/bin/python bench/bench_scale.py [--sizes 1000,3000]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_index import (  # noqa: E402 - bench/ is not a package
    generate_corpus,
    gib,
    newsdesk_executable,
    run_index_cli,
    setup_env,
)

QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
DEFAULT_SIZES = (1000, 3000, 10000, 30000)
COLD_QUESTION = "Who besieged al-Bab?"
NEW_FACT = "The Quillmoor lighthouse number {n} was repainted in cobalt blue by {n} volunteers."
NEW_QUESTION = "Which Quillmoor lighthouse was repainted in cobalt blue by volunteers?"
GOALS = {"first_ask_s": 5.0, "refresh_ask_s": 2.0, "warm_p50_ms": 300.0,
         "answer_rss_bytes": 1.5 * 1024**3, "index_rss_bytes": 2 * 1024**3}


def log(message: str) -> None:
    print(f"[bench-scale] {message}", file=sys.stderr, flush=True)


def write_new_articles(path: Path, count: int = 5) -> None:
    """Articles another process adds: each holds one fact found nowhere else."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, count + 1):
            out.write(json.dumps({
                "title": f"Quillmoor lighthouse {n} repainted", "source": "Harbour Wire",
                "published_at": "2024-04-02", "url": f"https://bench.newsdesk.invalid/new/{n}",
                "body": NEW_FACT.format(n=n) + " The harbour council thanked them on Tuesday.",
            }) + "\n")


def ask_cli(home: Path, question: str = COLD_QUESTION) -> float:
    started = time.perf_counter()
    subprocess.run([str(newsdesk_executable()), "ask", question, "--home", str(home),
                    "--chroma-url", "", "--json"], cwd=ROOT, check=True, capture_output=True,
                   env=os.environ.copy())
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---- the warm process (this script with --serve) ---------------------------------------------


def serve(home: str) -> None:
    """One Assistant answering questions from stdin, one JSON line each (fresh conversation
    per question): the long-running answerer whose latency, RSS and refresh are measured."""
    from assistant.engine import Assistant
    from index.settings import load_settings

    settings = load_settings({"home": home, "chroma_url": "", "answerer": "extractive"})
    assistant = Assistant(settings)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        question = line.strip()
        if not question:
            continue
        started = time.perf_counter()
        answer = assistant.ask(question)
        seconds = time.perf_counter() - started
        timings = {k: v for k, v in answer.timings.items() if isinstance(v, int | float)}
        print(json.dumps({"seconds": seconds, "abstained": answer.abstained,
                          "urls": [c.url for c in answer.citations + answer.closest],
                          "timings": timings,
                          "rss": _status("VmRSS"), "hwm": _status("VmHWM")}), flush=True)


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


class Warm:
    def __init__(self, home: Path):
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(home)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=os.environ.copy())
        self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"error: the warm process exited {self.proc.wait()}")
        return json.loads(line)

    def ask(self, question: str) -> dict:
        self.proc.stdin.write(question.replace("\n", " ") + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- one size -------------------------------------------------------------------------------


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(size: int, tmp: Path, cold_runs: int, warm_questions: list[str]) -> dict:
    corpus, extra, home = tmp / f"corpus-{size}.jsonl", tmp / f"new-{size}.jsonl", tmp / "home"
    log(f"[{size}] generating the corpus")
    generate_corpus(size, corpus)
    write_new_articles(extra)
    log(f"[{size}] newsdesk index (fresh store)")
    index = run_index_cli(str(corpus), home)
    log(f"[{size}] indexed in {index['seconds']:.1f} s, peak RSS {gib(index['peak_rss_bytes'])}")
    first_ask = ask_cli(home)
    cold = [ask_cli(home) for _ in range(cold_runs)]
    log(f"[{size}] first ask {first_ask:.2f} s, cold {[round(c, 2) for c in cold]}")

    warm = Warm(home)
    try:
        warm.ask(COLD_QUESTION)  # one-time loads (spaCy, ONNX session) are the cold figure's
        answers = [warm.ask(q) for q in warm_questions]
        latencies = [a["seconds"] * 1000 for a in answers]
        # Where a warm question's time goes: each stage's p50 over the same questions.
        stages = {stage: round(percentile([a["timings"].get(stage, 0.0) for a in answers], 0.5), 1)
                  for stage in sorted({s for a in answers for s in a["timings"]})}
        log(f"[{size}] warm p50 {statistics.median(latencies):.0f} ms (stages: "
            + ", ".join(f"{stage} {ms}" for stage, ms in stages.items()) + "); adding 5 articles")
        added = run_index_cli(str(extra), home)
        after = warm.ask(NEW_QUESTION)
        second = warm.ask(NEW_QUESTION)
        rss, hwm = second["rss"], second["hwm"]
    finally:
        warm.close()
    found_new = any("/new/" in url for url in after["urls"])
    log(f"[{size}] next question after 5 more: {after['seconds']:.2f} s, "
        f"{'cites' if found_new else 'DOES NOT cite'} a new article")
    return {
        "articles": size, "sentences": index["sentences"], "chunks": index["chunks"],
        "index_s": index["seconds"], "index_wall_s": index["wall_seconds"],
        "articles_per_s": index["articles_per_s"], "index_rss_bytes": index["peak_rss_bytes"],
        "index_cpu_s": index["cpu_seconds"],
        "first_ask_s": round(first_ask, 3),
        "cold_p50_s": round(percentile(cold, 0.5), 3) if cold else None,
        "cold_p95_s": round(percentile(cold, 0.95), 3) if cold else None,
        "warm_p50_ms": round(percentile(latencies, 0.5), 1),
        "warm_p95_ms": round(percentile(latencies, 0.95), 1),
        "warm_stages_p50_ms": stages,
        "answer_rss_bytes": rss, "answer_peak_rss_bytes": hwm,
        "add5_index_s": added["seconds"], "add5_wall_s": added["wall_seconds"],
        "refresh_ask_s": round(after["seconds"], 3), "refresh_cites_new": found_new,
        "refresh_next_ask_s": round(second["seconds"], 3),
        "disk_bytes": disk_bytes(home),
    }


FIGURES = ("index_s", "index_cpu_s", "articles_per_s", "index_rss_bytes", "first_ask_s",
           "cold_p50_s", "cold_p95_s", "warm_p50_ms", "warm_p95_ms", "answer_rss_bytes",
           "add5_wall_s", "refresh_ask_s", "disk_bytes")


def slope(rows: list[dict], figure: str) -> float | None:
    """Least-squares slope of log(figure) over log(articles)."""
    points = [(math.log(r["articles"]), math.log(r[figure])) for r in rows
              if r.get(figure) and r[figure] > 0]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / den, 3) if den else None


def print_table(rows: list[dict], slopes: dict) -> None:
    def fmt(figure: str, value) -> str:
        if value is None:
            return "-"
        if figure.endswith("bytes"):
            return f"{value / 1024**3:.2f}G"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    print("Newsdesk at scale (generated articles, fresh embedded store per size)")
    header = f"  {'figure':18}" + "".join(f"{r['articles']:>10}" for r in rows) + "  log-log slope"
    print(header)
    for figure in FIGURES:
        cells = "".join(f"{fmt(figure, r.get(figure)):>10}" for r in rows)
        s = slopes.get(figure)
        print(f"  {figure:18}{cells}  {'-' if s is None else f'{s:+.2f}'}")
    print("  refresh_cites_new: " + ", ".join(str(r["refresh_cites_new"]) for r in rows))
    print("  goals: first ask < 5 s at every size; after 5 more articles the warm process's "
          "next question < 2 s and cites them; warm p50 < 300 ms and answering RSS < 1.5 GiB "
          "at 30,000; index peak RSS < 2 GiB")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="comma-separated corpus sizes (default: 1000,3000,10000,30000)")
    parser.add_argument("--cold-runs", type=int, default=3, metavar="N",
                        help="cold `newsdesk ask` runs after the first one (default 3)")
    parser.add_argument("--warm-questions", type=int, default=30, metavar="N",
                        help="MultiHop-RAG dev questions asked of the warm process (default 30)")
    parser.add_argument("--json-only", action="store_true")
    parser.add_argument("--serve", metavar="HOME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error("--sizes must be comma-separated integers")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_env()
    if args.serve:
        serve(args.serve)
        return 0
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    cases = json.loads(QUERIES.read_text(encoding="utf-8"))
    questions = [c["query"] for c in cases][:args.warm_questions]
    if os.getloadavg()[0] > 0.5:
        log(f"warning: load average {os.getloadavg()[0]:.2f}: other work shares the CPUs, so "
            "times are longer than on an idle machine; index_cpu_s is the steadier figure")
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"newsdesk-bench-scale-{size}-") as tmp:
            rows.append(measure(size, Path(tmp), args.cold_runs, questions))
    slopes = {figure: slope(rows, figure) for figure in FIGURES}
    largest = rows[-1]
    result = {
        "bench": "scale", "sizes": args.sizes, "rows": rows, "slopes": slopes,
        "goals": GOALS, "cpus": os.cpu_count(),
        "first_ask_ok": all(r["first_ask_s"] < GOALS["first_ask_s"] for r in rows),
        "refresh_ok": all(r["refresh_ask_s"] < GOALS["refresh_ask_s"]
                          and r["refresh_cites_new"] for r in rows),
        "warm_p50_ok": largest["warm_p50_ms"] < GOALS["warm_p50_ms"],
        "answer_rss_ok": largest["answer_peak_rss_bytes"] < GOALS["answer_rss_bytes"],
        "index_rss_ok": all(r["index_rss_bytes"] < GOALS["index_rss_bytes"] for r in rows),
    }
    if not args.json_only:
        print_table(rows, slopes)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
