"""Reliability: `newsdesk index` killed with SIGKILL at random moments, then re-run.

Goal (issue 8): after every kill and re-run the store is identical to an uninterrupted index of
the same files: article ids, texts, sentence offsets, chunk rows, chunk count (and, checked
here too, every stored vector within 1e-4). Goal: 0 mismatches over 20+ runs.

The corpus is the first `--articles` MultiHop-RAG evidence articles (or `--corpus`), indexed
once without interruption to give the reference store and the run's timeline (store open,
first batch written, end). Then each run takes a fresh home and:
- even runs kill at a delay drawn over the whole clean duration, from the process start
  (start-up, reading, model load, writing, the end);
- odd runs wait until the bar shows a random number (1..N/2) of committed articles, then
  kill within a second, so kills land between batches, and sometimes between a batch's
  chunks and its article records, whatever the machine's pace;
- every `--twice-every`-th run is first killed mid-write, then kills the run restarted on the
  partly written home at a delay drawn up to the clean run's first write (its start-up,
  `recover()`, model load, first batches), before the final re-run.
Small write batches (`--batch-chunks`) make many commit points to be killed between.

Every process start loads the embedding model, the bulk of a run's time on a busy machine;
`--articles` sizes the rest. Human-readable table on stdout, progress on stderr, last stdout
line one JSON object {"bench": "rel_kill_index", ...}. Exit status 1 on any mismatch.
Run: `.venv/bin/python bench/rel_kill_index.py [--runs 20] [--seed S] [--articles 16] [--jobs 2]`.
Rows print as runs finish (with --jobs > 1, not in order).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# first: offline env; the project and tests/ (the kill/re-run/compare logic the test uses too)
# on sys.path
from offline_env import ROOT

MULTIHOP_ARTICLES = ROOT.parent / "shared" / "data" / "multihop-rag" / "evidence-articles.jsonl"

from kill_runs import (  # noqa: E402
    Kill,
    KillRun,
    Timeline,
    clean_index,
    fresh_snapshot,
    run_kills,
    write_subset,
)


def log(message: str) -> None:
    print(f"[rel-kill-index] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="kill-and-re-run rounds (20)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the kill moments (default: the clock, printed)")
    parser.add_argument("--corpus", type=Path, default=MULTIHOP_ARTICLES,
                        help="a JSONL file of articles (default: MultiHop-RAG evidence)")
    parser.add_argument("--articles", type=int, default=16,
                        help="index only the first N records of --corpus (0: all; 16)")
    parser.add_argument("--batch-chunks", type=int, default=2,
                        help="NEWSDESK_INDEX_BATCH_CHUNKS for every run (2)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at a time, each on its own home (1); more finishes sooner "
                             "on a busy machine, but each run's moments stretch")
    parser.add_argument("--twice-every", type=int, default=4,
                        help="every Nth run is killed twice before its re-run (4; 0: never)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    return parser.parse_args(argv)


def draw_kills(run: int, rng: random.Random, clean: Timeline, total: int,
               twice_every: int) -> list[Kill]:
    """The kill moments of one run: from the clean run's timeline, or, for a mid-write aim,
    from the killed run's own progress (the machine's load changes, and so does its pace)."""
    twice = twice_every > 0 and run % twice_every == twice_every - 1
    if run % 2 == 0 and not twice:
        kills = [Kill("start", rng.uniform(0.0, clean.seconds))]
    else:  # a twice-killed run restarts on a partly written home
        kills = [Kill("write", rng.uniform(0.0, 1.0), after=rng.randint(1, max(1, total // 2)))]
    if twice:  # the restart has less to write: aim at its start-up, recover(), model load
        kills.append(Kill("start", rng.uniform(0.0, clean.first_write or clean.seconds)))
    return kills


def describe(kill: Kill, total: int) -> str:
    anchor = f"write{kill.after}" if kill.anchor == "write" else kill.anchor
    moment = f"{anchor}+{kill.delay:5.1f}s"
    if kill.killed_at is None:
        return f"{moment} exited first ({kill.articles} art)"
    held = f"{kill.articles:>3} art {kill.chunks:>3} ch"
    if kill.orphan_chunks:
        held += f" ({kill.orphan_chunks} orphan)"
    if kill.inspect_error:
        held += f" [unreadable: {kill.inspect_error[:60]}]"
    return f"{moment} @{kill.killed_at:5.1f}s {kill.phase(total):<12} {held}"


def print_row(n: int, run: KillRun, total: int) -> None:
    verdict = "match" if run.match else "MISMATCH"
    first, *more = [describe(k, total) for k in run.kills]
    print(f"{n:>3}  {first:<62} {run.rerun_seconds:6.1f}s  {verdict}", flush=True)
    for line in more:
        print(f"     {line}", flush=True)
    for diff in run.diffs:
        print(f"       diff: {diff}", flush=True)


def totals(runs: list[KillRun], total: int) -> dict:
    kills = [k for run in runs for k in run.kills]
    phases = [k.phase(total) for k in kills]
    return {
        "runs": len(runs),
        "mismatches": sum(not run.match for run in runs),
        "kills": len(kills),
        "killed_before_write": phases.count("before-write"),
        "killed_mid_write": phases.count("mid-write"),
        "killed_after_write": phases.count("after-write"),
        "exited_before_kill": phases.count("exited"),
        "kills_leaving_orphan_chunks": sum(k.orphan_chunks > 0 for k in kills),
        "killed_twice": sum(len(run.kills) > 1 for run in runs),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="rel-kill-index-"))
    try:
        corpus = write_subset(args.corpus, args.articles, work / "corpus.jsonl")
        log(f"clean index of {corpus} (batch {args.batch_chunks} chunks)")
        clean = clean_index(corpus, work / "clean", args.batch_chunks)
        expected = fresh_snapshot(work / "clean")
        total = len(expected["articles"])
        print(f"corpus: {total} articles, {expected['chunk_count']} chunks, "
              f"batches of {args.batch_chunks} chunks; seed {seed}")
        print(f"clean run: store open {clean.store_open or 0:.1f}s, first batch written "
              f"{clean.first_write or 0:.1f}s, done {clean.seconds:.1f}s")
        print(f"\n{'run':>3}  {'kill (anchor+delay, killed at, phase, killed store)':<62} "
              f"{'re-run':>7}  result")
        plans = [draw_kills(n, rng, clean, total, args.twice_every) for n in range(args.runs)]
        printing = threading.Lock()

        def one(n: int) -> KillRun:
            log(f"run {n + 1}/{args.runs}: " + ", ".join(f"{k.anchor}+{k.delay:.1f}s"
                                                         for k in plans[n]))
            run = run_kills(corpus, work / f"run{n:02d}", args.batch_chunks, plans[n], expected)
            with printing:
                print_row(n + 1, run, total)
            if not args.keep and run.match:
                shutil.rmtree(work / f"run{n:02d}", ignore_errors=True)
            return run

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = list(pool.map(one, range(args.runs)))
        summary = totals(runs, total)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"homes kept in {work}")
    minutes = (time.monotonic() - started) / 60
    print(f"\nruns {summary['runs']}, mismatches {summary['mismatches']} (goal 0); "
          f"kills {summary['kills']}: {summary['killed_before_write']} before any write, "
          f"{summary['killed_mid_write']} mid-write "
          f"({summary['kills_leaving_orphan_chunks']} left orphan chunks), "
          f"{summary['killed_after_write']} after the last write, "
          f"{summary['exited_before_kill']} exited before the kill; "
          f"{summary['killed_twice']} runs killed twice; {minutes:.1f} min")
    print(json.dumps({"bench": "rel_kill_index", **summary, "articles": total,
                      "batch_chunks": args.batch_chunks, "jobs": args.jobs, "seed": seed,
                      "minutes": round(minutes, 1)}))
    return 1 if summary["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
