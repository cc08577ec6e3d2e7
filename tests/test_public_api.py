"""The public face: what `assistant` and `index` export, and README's Python snippet run exactly
as written (real model, real embedded Chroma, the bundled sample, a temporary NEWSDESK_HOME)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT

BESIEGED = ("The town has been besieged since Monday, when government forces advancing from the "
            "south cut off a road leading into Al-Bab.")


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From Python", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "README has no Python snippet under 'From Python'"
    return blocks[0]


def test_the_packages_export_what_a_python_user_needs_without_loading_it():
    code = ("import sys, assistant, index; "
            "heavy = [m for m in ('assistant.engine', 'index.store', 'chromadb', 'torch') "
            "if m in sys.modules]; "
            "from assistant import (Answer, Assistant, Citation, Conversation, Filters, "
            "NewsdeskError, Settings, index_paths, load_settings); "
            "import index as i, index.indexer as x; "
            "assert i.index_paths is index_paths is x.index_paths; "
            "assert i.load_settings is load_settings and i.Settings is Settings; "
            "assert issubclass(NewsdeskError, Exception); print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"  # importing the packages loads nothing heavy


def test_an_unknown_name_is_an_attribute_error():
    import assistant
    import index

    for package in (assistant, index):
        try:
            package.no_such_name  # noqa: B018
        except AttributeError as exc:
            assert "no_such_name" in str(exc)
        else:
            raise AssertionError(f"{package.__name__}.no_such_name did not raise")


def test_the_readme_snippet_indexes_the_sample_and_answers_with_a_verbatim_citation(tmp_path):
    snippet = readme_snippet()
    assert len(snippet.strip().splitlines()) <= 6  # five lines and the import's blank line
    env = {**os.environ, "NEWSDESK_HOME": str(tmp_path / "home"),
           "NEWSDESK_ANSWERER": "extractive"}
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                          cwd=str(ROOT), env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert f"[1] {BESIEGED}" in lines, proc.stdout
    assert "government forces" in lines[0].lower(), proc.stdout
    assert any((tmp_path / "home").iterdir())  # the store went where NEWSDESK_HOME says


def test_evals_is_a_library_that_runs_a_suite_and_returns_the_recorded_run(tmp_path):
    """`evals.record.evaluate` as a Python user calls it: the shipped al-Bab suite, progress
    through callbacks, the run folder written and handed back, a second run diffed."""
    import json

    from evals.record import evaluate, failed_gates
    from index.settings import load_settings

    settings = load_settings({"home": str(tmp_path / "home"), "answerer": "extractive"})
    indexed, asked = [], []
    first = evaluate("al-bab", settings, runs_dir=tmp_path / "runs",
                     index_progress=lambda *a: indexed.append(a),
                     case_progress=lambda *a: asked.append(a))
    assert indexed[0] == (0, 1, 0) and indexed[-1][:2] == (1, 1) and indexed[-1][2] > 0
    assert asked[0] == (0, 9, None) and [a[0] for a in asked] == list(range(10))
    assert 0 <= asked[-1][2] <= 1  # the answer accuracy so far, for a bar
    assert first.folder.parent == tmp_path / "runs" / "al-bab" and first.diff is None
    assert json.loads((first.folder / "run.json").read_text(encoding="utf-8")) == first.record
    assert (first.folder / "report.html").is_file() and first.aggregate["cases"] == 9
    assert failed_gates(first.aggregate, {"citation_verbatim_rate": 1.0}) == []
    assert failed_gates(first.aggregate, {"answer_accuracy": 1.01}) == [
        ("answer_accuracy", first.aggregate["answer_accuracy"], 1.01)]

    again = evaluate("al-bab", settings, runs_dir=tmp_path / "runs")
    assert again.diff is not None and again.diff.before == str(first.folder)
    assert again.regressions == 0 and "no case got worse" in again.diff_text()
    assert again.record["index"]["articles_unchanged"] == 1
