"""Evals as a library: run a suite and get the run back, record it, report it, diff it.

    from evals.record import evaluate
    recorded = evaluate("al-bab", load_settings())   # a shipped suite's name, or a path
    recorded.folder, recorded.record["aggregate"], recorded.regressions

`evaluate` is what `newsdesk eval run` does, minus the terminal: `run_suite` (evals/runner.py)
asks and scores every case; `record_run` writes the run folder (`run.json`, the reports and
plots) and compares the run with the suite's previous one; `compare_runs` diffs two stored
runs; `failed_gates` checks a run's scores against minimums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.diff import RunDiff, diff_runs, render
from evals.report import write_report
from evals.runner import CaseProgress, RunResult, run_suite
from evals.runs import (
    StoredRun,
    default_runs_dir,
    git_revision,
    history,
    load_run,
    new_run_dir,
    run_record,
    save_run,
)
from evals.suite import Suite, find_suite, load_suite
from index.indexer import RunProgress
from index.settings import Settings

FIRST_RUN = "first run of this suite: nothing to compare with"


@dataclass(frozen=True)
class RecordedRun:
    """A run written to its folder, with its diff against the suite's previous run."""

    folder: Path
    record: dict[str, Any]  # what run.json holds
    diff: RunDiff | None  # None: the suite's first run in this runs folder

    @property
    def aggregate(self) -> dict[str, Any]:
        return self.record["aggregate"]

    @property
    def regressions(self) -> int:
        """Cases that got worse than in the previous run."""
        return len(self.diff.worse) if self.diff else 0

    def diff_text(self) -> str:
        return render(self.diff) if self.diff else FIRST_RUN


def record_run(result: RunResult, runs_dir: Path | None = None) -> RecordedRun:
    """Write the run into a new folder under `runs_dir` (default: `evals/runs` in a checkout,
    else under the data directory): `run.json`, then the diff against the suite's previous run,
    then `report.md`, `report.html` and their plots."""
    runs_root = runs_dir or default_runs_dir(result.settings)
    name = result.suite.name
    earlier = history(runs_root, name)
    sha, dirty = git_revision()
    folder = new_run_dir(runs_root, name, sha)
    record = run_record(result, folder, sha, dirty)
    save_run(folder, record)
    diff = diff_runs(earlier[-1], StoredRun(folder, record)) if earlier else None
    write_report(folder, record, diff, [(r.name, r.aggregate) for r in history(runs_root, name)])
    return RecordedRun(folder, record, diff)


def evaluate(suite: Suite | str | Path, settings: Settings,
             corpus: Sequence[Path] | None = None, runs_dir: Path | None = None,
             index_progress: RunProgress | None = None,
             case_progress: CaseProgress | None = None) -> RecordedRun:
    """Run a suite (a `Suite`, a suite file, or a shipped suite's name) and record the run.
    `runs_dir` defaults as in `record_run`; the suite's store goes under
    `settings.home/evals/<suite>`. Raises `NewsdeskError` for a problem the user can fix, and
    `OSError` when the run folder or its report cannot be written."""
    loaded = suite if isinstance(suite, Suite) else load_suite(find_suite(suite))
    paths = [Path(p).resolve() for p in corpus] if corpus else None
    result = run_suite(loaded, settings, paths, index_progress, case_progress)
    return record_run(result, runs_dir)


def compare_runs(before: str | Path, after: str | Path) -> RunDiff:
    """The diff between two stored runs (their folders or their run.json files)."""
    return diff_runs(load_run(before), load_run(after))


def failed_gates(aggregate: dict[str, Any], gates: dict[str, float]
                 ) -> list[tuple[str, float | None, float]]:
    """(metric, value, minimum) for each gate the scores miss; a metric with no value (no case
    it applies to) misses its gate."""
    return [(metric, aggregate.get(metric), bar) for metric, bar in gates.items()
            if aggregate.get(metric) is None or aggregate[metric] < bar]
