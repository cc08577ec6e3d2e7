"""Fuzz every loader with malformed files, then check the store after mixed good/bad indexing.

Part 1: hypothesis generates malformed and borderline files for each format (JSONL, JSON, CSV,
TXT, HTML: broken records, wrong field types, empty or huge fields, ragged CSV, non-UTF-8 and
binary bytes, BOM, CRLF, broken HTML, empty files, valid and invalid records mixed) and each is
loaded by `index.loaders.iter_inputs`, the loader `newsdesk index` uses. An input fails when
anything is raised, an error is not one line naming the file (and the line, for a record) and
saying what to do, a valid record does not become an article with exact sentence offsets, or
the result differs from the generator's oracle (see tests/support/fuzz_inputs.py).

Part 2: a base corpus is indexed once into a temporary home with the real `newsdesk index`;
then each of --store-runs files mixing valid and malformed records is indexed by the CLI, and
the store must hold exactly what it held plus that file's valid articles, the exit code must be
1 when there were errors, and stderr must show each error on one line.

Last stdout line: one JSON object {"bench": "rel_fuzz_loaders", ...}. Exit code 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from offline_env import ROOT  # first: offline env, project and tests on sys.path

SAMPLE = ROOT / "data" / "sample"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Tally:
    """Inputs tried and failed for one format, with the first few failures to show."""

    tried: int = 0
    failures: int = 0
    articles: int = 0
    errors: int = 0
    kinds: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def fuzz_format(fmt: str, count: int, seed: int, folder: Path) -> Tally:
    """Drive hypothesis for `count` inputs of one format, recording failures instead of raising
    so every input is tried (hypothesis would stop and shrink at the first)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from support.fuzz_inputs import cases, check_case

    tally = Tally()
    started = time.perf_counter()

    def one(case) -> None:
        outcome = check_case(case, folder, f"{fmt}-")
        tally.tried += 1
        tally.kinds[case.kind] += 1
        tally.articles += len(outcome.articles)
        tally.errors += len(outcome.errors)
        if outcome.problems:
            tally.failures += 1
            if len(tally.examples) < 5:
                tally.examples.append(f"{case.kind} {case.suffix} {case.data[:120]!r}: "
                                      f"{outcome.problems[0]}")

    round_seed = seed
    while tally.tried < count:  # hypothesis may stop a little short; top up with a new seed
        remaining = count - tally.tried
        run = settings(max_examples=remaining, database=None, deadline=None,
                       phases=[Phase.generate], suppress_health_check=list(HealthCheck))(
            given(case=cases(fmt))(one))
        hypothesis_seed(round_seed)(run)()
        round_seed += 1
        if tally.tried < count:
            log(f"  {fmt}: hypothesis stopped at {tally.tried}; continuing with seed {round_seed}")
    tally.seconds = time.perf_counter() - started
    return tally


def store_part(runs: int, seed: int, folder: Path) -> dict:
    """Base corpus via the CLI, then `runs` mixed files, each checked against the snapshot."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from support.fuzz_inputs import index_cli, mixed_file, store_problems

    home = folder / "home"
    t = time.perf_counter()
    base = index_cli(SAMPLE, home)
    if base.returncode != 0:
        raise SystemExit(f"indexing the base corpus failed:\n{base.stderr[-2000:]}")
    log(f"base corpus {SAMPLE} indexed in {time.perf_counter() - t:.0f} s")
    result = {"runs": 0, "failures": 0, "valid_articles": 0, "examples": []}

    def one(case) -> None:
        number = result["runs"]
        t = time.perf_counter()
        problems, valid = store_problems(case, folder, home, f"mixed-{number}")
        result["runs"] += 1
        result["valid_articles"] += valid
        log(f"  store run {number + 1}/{runs}: {valid} valid articles, "
            f"{'ok' if not problems else problems[0]} ({time.perf_counter() - t:.0f} s)")
        if problems:
            result["failures"] += 1
            result["examples"].append(f"run {number}: {problems[0]}")

    run = settings(max_examples=runs, database=None, deadline=None, phases=[Phase.generate],
                   suppress_health_check=list(HealthCheck))(given(case=mixed_file())(one))
    hypothesis_seed(seed)(run)()
    return result


def print_table(tallies: dict[str, Tally]) -> None:
    print(f"{'format':<7} {'inputs':>7} {'failures':>8} {'articles':>8} {'errors':>7} "
          f"{'s':>6}  damaged (of inputs)")
    for fmt, t in tallies.items():
        damage = sum(n for kind, n in t.kinds.items() if "+" in kind)
        print(f"{fmt:<7} {t.tried:>7} {t.failures:>8} {t.articles:>8} {t.errors:>7} "
              f"{t.seconds:>6.0f}  {damage}")
    total = sum(t.tried for t in tallies.values())
    failed = sum(t.failures for t in tallies.values())
    print(f"{'total':<7} {total:>7} {failed:>8}")
    for fmt, t in tallies.items():
        for example in t.examples:
            print(f"  FAIL {fmt}: {example}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000,
                        help="generated inputs in all, split evenly over the five formats")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed")
    parser.add_argument("--store-runs", type=int, default=30,
                        help="mixed files indexed with the CLI against the store (0: skip)")
    parser.add_argument("--formats", default="jsonl,json,csv,txt,html",
                        help="comma-separated subset of formats to fuzz")
    args = parser.parse_args()

    formats = [f for f in args.formats.split(",") if f]
    folder = Path(tempfile.mkdtemp(prefix="rel-fuzz-"))
    try:
        tallies = {}
        for number, fmt in enumerate(formats):
            count = args.inputs // len(formats) + (number < args.inputs % len(formats))
            tallies[fmt] = fuzz_format(fmt, count, args.seed, folder)
            log(f"{fmt}: {tallies[fmt].tried} inputs, {tallies[fmt].failures} failures, "
                f"{tallies[fmt].seconds:.0f} s")
        print_table(tallies)
        store = (store_part(args.store_runs, args.seed, folder) if args.store_runs
                 else {"runs": 0, "failures": 0, "valid_articles": 0, "examples": []})
        print(f"store runs: {store['runs']}, failures: {store['failures']}, valid articles "
              f"indexed: {store['valid_articles']}")
        for example in store["examples"][:5]:
            print(f"  FAIL store: {example}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    inputs = sum(t.tried for t in tallies.values())
    failures = sum(t.failures for t in tallies.values())
    print(json.dumps({
        "bench": "rel_fuzz_loaders", "inputs": inputs, "failures": failures,
        "per_format": {fmt: {"inputs": t.tried, "failures": t.failures, "articles": t.articles,
                             "errors": t.errors, "seconds": round(t.seconds, 1)}
                       for fmt, t in tallies.items()},
        "store_runs": store["runs"], "store_failures": store["failures"],
        "store_valid_articles": store["valid_articles"], "seed": args.seed,
    }))
    sys.exit(1 if failures or store["failures"] else 0)


if __name__ == "__main__":
    main()
