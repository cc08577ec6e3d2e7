"""`newsdesk eval` through the real CLI, the real model and a real store: importers on the real
datasets (read from ../shared/data beside the checkout, never bundled), the al-Bab suite end
to end, diffs that must and must not find a regression, and the quality gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import AL_BAB, MULTIHOP_QUERIES, ROOT, SHARED, run_cli

from evals.suite import load_suite

RGB = SHARED / "data" / "rgb" / "en_fact-dev.jsonl"
BESIEGED = ("The town has been besieged since Monday, when government forces advancing from the "
            "south cut off a road leading into Al-Bab.")
PLOTS = ("metrics_by_tag.png", "latency.png", "history.png")


def last_json(proc) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no output; stderr:\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


def error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


# ---- importers -----------------------------------------------------------------------------

def test_import_multihop_rag_from_the_shared_dev_queries(tmp_path):
    out = tmp_path / "suites" / "mh.jsonl"
    proc = run_cli("eval", "import", "multihop-rag", str(MULTIHOP_QUERIES), "-o", str(out),
                   "--corpus", str(ROOT / "data" / "sample"), check=True)
    assert "150 cases (20 unanswerable)" in proc.stdout
    suite = load_suite(out)
    raw = json.loads(MULTIHOP_QUERIES.read_text(encoding="utf-8"))
    assert suite.name == "mh" and len(suite.cases) == len(raw) == 150
    assert suite.corpus == [(ROOT / "data" / "sample").resolve()]
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert not Path(header["corpus"][0]).is_absolute()  # relative to the suite file
    by_question = {c.question: c for c in suite.cases}
    for record in raw:
        case = by_question[record["query"]]
        assert case.tags == (record["question_type"],)
        if record["question_type"] == "null_query":
            assert not case.answerable and not case.answers and not case.evidence
        else:
            assert case.answerable and case.answers == (record["answer"],)
            assert set(case.evidence) == {e["fact"] for e in record["evidence_list"]}
    assert sum(not c.answerable for c in suite.cases) == 20
    # To stdout, without -o: the same cases.
    proc = run_cli("eval", "import", "multihop-rag", str(MULTIHOP_QUERIES), check=True)
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0])["suite"] == "multihop-rag" and len(lines) == 151


def test_import_rgb_both_variants_with_their_passages(tmp_path):
    raw = [json.loads(line) for line in RGB.read_text(encoding="utf-8").splitlines() if line]
    normal = tmp_path / "rgb-fact.jsonl"
    proc = run_cli("eval", "import", "rgb", str(RGB), "-o", str(normal), check=True)
    passages = [json.loads(line) for line in
                (tmp_path / "rgb-fact.passages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(passages) == sum(len(r["positive"]) + len(r["negative"]) for r in raw)
    assert f"{len(passages)} passages" in proc.stdout
    assert passages[0] == {"title": f"RGB {raw[0]['id']} passage 0", "source": "RGB",
                           "body": raw[0]["positive"][0]}
    suite = load_suite(normal)
    assert len(suite.cases) == 30 and all(c.answerable and c.answers for c in suite.cases)
    assert suite.corpus == [(tmp_path / "rgb-fact.passages.jsonl").resolve()]
    nested = next(r for r in raw if isinstance(r["answer"], list))
    case = next(c for c in suite.cases if c.id == f"rgb-{nested['id']}")
    assert set(case.answers) == {a for alts in nested["answer"] for a in alts}

    negative = tmp_path / "rgb-neg.jsonl"
    run_cli("eval", "import", "rgb", str(RGB), "-o", str(negative), "--negative-rejection",
            check=True)
    neg_passages = (tmp_path / "rgb-neg.passages.jsonl").read_text(encoding="utf-8")
    assert len(neg_passages.splitlines()) == sum(len(r["negative"]) for r in raw)
    positives = {p for r in raw for p in r["positive"]} - {p for r in raw for p in r["negative"]}
    assert not any(json.loads(line)["body"] in positives for line in neg_passages.splitlines())
    suite = load_suite(negative)
    assert len(suite.cases) == 30
    assert all(not c.answerable and not c.answers for c in suite.cases)


def test_bad_inputs_fail_in_one_line_before_any_model_loads(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q?"}\n{"id": "b", "questoin": "q?"}\n',
                   encoding="utf-8")
    proc = run_cli("eval", "run", str(bad), "--home", str(tmp_path / "home"))
    assert proc.returncode == 1 and f"{bad}:2: unknown key(s) ['questoin']" in error_line(proc)
    proc = run_cli("eval", "run", "al-bab", "--fail-under", "accuracy=0.9")
    assert proc.returncode == 1 and "METRIC=VALUE" in error_line(proc)
    proc = run_cli("eval", "diff", str(tmp_path), str(tmp_path))
    assert proc.returncode == 1 and "not a run folder" in error_line(proc)
    proc = run_cli("eval", "import", "rgb", str(tmp_path / "missing.jsonl"), "-o",
                   str(tmp_path / "x.jsonl"))
    assert proc.returncode == 1 and "missing.jsonl" in error_line(proc)
    for command in (["run"], ["diff"], ["import", "multihop-rag"], ["import", "rgb"]):
        assert run_cli("eval", *command, "--help", check=True).stdout.strip()


# ---- the al-Bab suite end to end -----------------------------------------------------------

@pytest.fixture(scope="module")
def al_bab_runs(tmp_path_factory):
    """Three real runs of the shipped al-Bab suite into one runs folder: a baseline, an
    identical re-run, and a run on a corpus missing the sentence that answers "Who besieged
    al-Bab?" (a regression made on purpose)."""
    base = tmp_path_factory.mktemp("evals")
    home, runs = base / "home", base / "runs"
    broken = base / "al-bab-without-the-siege.txt"
    broken.write_text(AL_BAB.read_text(encoding="utf-8").replace(BESIEGED + "\n", ""),
                      encoding="utf-8")
    assert BESIEGED not in broken.read_text(encoding="utf-8")
    common = ("--home", str(home), "--runs-dir", str(runs))
    first = run_cli("eval", "run", "al-bab", *common, "--json",
                    "--fail-under", "citation_verbatim_rate=1.0", "--max-regressions", "0")
    assert first.returncode == 0, first.stderr[-3000:]
    bar = last_json(first)["answer_accuracy"] + 0.01
    again = run_cli("eval", "run", str(ROOT / "evals" / "suites" / "al-bab.jsonl"), *common,
                    "--fail-under", f"answer_accuracy={bar}", "--max-regressions", "0")
    worse = run_cli("eval", "run", "al-bab", *common, "--corpus", str(broken),
                    "--max-regressions", "0")
    folders = sorted((runs / "al-bab").iterdir())
    assert len(folders) == 3
    return {"first": first, "again": again, "worse": worse, "folders": folders, "home": home,
            "bar": bar}


def test_a_run_writes_reports_plots_and_a_complete_run_json(al_bab_runs):
    summary = last_json(al_bab_runs["first"])
    folder = al_bab_runs["folders"][0]
    assert summary["run"] == str(folder) and summary["suite"] == "al-bab"
    for key in ("cases", "answerable", "unanswerable", "recall_at_4", "recall_at_10",
                "mrr_at_10", "answer_hit_at_4", "answer_hit_at_10", "citation_precision",
                "citation_recall", "citation_verbatim_rate",
                "answer_accuracy", "answer_f1", "abstention_precision", "abstention_recall",
                "abstention_f1", "latency_p50_ms", "latency_p95_ms", "regressions", "by_tag"):
        assert key in summary, key
    assert summary["citation_verbatim_rate"] == 1.0 and summary["regressions"] == 0
    assert summary["previous_run"] is None and summary["unanswerable"] == 2
    assert summary["abstained"] >= 2 and summary["errors"] == 0
    assert set(summary["by_tag"]) == {"single-turn", "follow-up", "unanswerable"}
    assert summary["by_tag"]["unanswerable"]["abstention_recall"] == 1.0
    name = folder.name
    assert name.endswith("Z-nogit") or len(name.rsplit("-", 1)[1]) >= 7
    for file in (*PLOTS, "report.md", "report.html"):
        assert (folder / file).stat().st_size > 0, file
    for png in PLOTS:
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert all(f'src="{png}"' in html for png in PLOTS) and "<script" not in html
    assert "Who besieged al-Bab?" in (folder / "report.md").read_text(encoding="utf-8")

    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert record["suite"] == "al-bab" and record["aggregate"]["cases"] == 9
    assert record["settings"]["top_k"] == 40 and record["versions"]["numpy"]
    assert record["corpus"] == [str(AL_BAB.resolve())]
    assert Path(record["index"]["data_dir"]).is_relative_to(al_bab_runs["home"] / "evals" /
                                                            "al-bab")
    cases = {c["id"]: c for c in record["cases"]}
    who = cases["besieged-who"]
    assert who["scores"]["answer_correct"] and who["scores"]["citation_recall"] == 1.0
    assert who["answer"]["citations"][0]["text"] == BESIEGED
    assert who["ranked"][0] == BESIEGED and who["scores"]["mrr_at_10"] == 1.0
    follow = next(c for c in record["cases"] if len(c.get("turns", [])) > 1)
    assert len(follow["turn_latencies_ms"]) == len(follow["turns"])
    assert all(cases[i]["scores"]["abstained"] for i in ("eurovision", "merkel-quota"))


def test_an_identical_rerun_reuses_the_store_and_shows_no_regression(al_bab_runs):
    again = al_bab_runs["again"]
    assert "no case got worse" in again.stdout
    record = json.loads((al_bab_runs["folders"][1] / "run.json").read_text(encoding="utf-8"))
    assert record["index"]["articles_unchanged"] == 1 and record["index"]["articles_added"] == 0
    first = json.loads((al_bab_runs["folders"][0] / "run.json").read_text(encoding="utf-8"))
    assert record["index"]["data_dir"] == first["index"]["data_dir"]
    proc = run_cli("eval", "diff", *map(str, al_bab_runs["folders"][:2]), "--json",
                   "--max-regressions", "0", check=True)
    diff = last_json(proc)
    assert diff["regressions"] == 0 and not diff["worse"] and not diff["better"]
    assert diff["deltas"]["answer_accuracy"]["delta"] == 0


def test_fail_under_exits_non_zero_with_one_line(al_bab_runs):
    again = al_bab_runs["again"]
    assert again.returncode == 1
    line = error_line(again)
    assert "answer_accuracy" in line and "--fail-under" in line
    assert f"{al_bab_runs['bar']:g}" in line


def test_a_corpus_without_the_evidence_is_a_regression(al_bab_runs):
    worse = al_bab_runs["worse"]
    assert worse.returncode == 1 and "--max-regressions 0" in error_line(worse)
    assert "besieged-who: answer lost, citation lost" in worse.stdout
    assert "note: corpus differs" in worse.stdout
    proc = run_cli("eval", "diff", *map(str, al_bab_runs["folders"][1:]), "--json")
    diff = last_json(proc)
    worse_cases = {c["case_id"]: c["reasons"] for c in diff["worse"]}
    assert "answer lost" in worse_cases["besieged-who"]
    assert diff["deltas"]["citation_recall"]["delta"] < 0
    assert diff["deltas"]["answer_accuracy"]["delta"] < 0
    proc = run_cli("eval", "diff", *map(str, al_bab_runs["folders"][1:]), "--max-regressions",
                   str(len(worse_cases) - 1))
    assert proc.returncode == 1 and "besieged-who" in proc.stdout
    report = (al_bab_runs["folders"][2] / "report.md").read_text(encoding="utf-8")
    assert "got worse" in report and "besieged-who" in report
