"""RealTimeQA through the real CLI: the importer on the shared dev split, and a small run with
the real model and a real Chroma store, scored by gold article URL.

The RealTimeQA texts have no license: they are read from ../shared at test time and never
copied into the repository; the small run's corpus is a subset written under pytest's tmp_path.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import SHARED, run_cli

from evals.metrics import normal_url
from evals.suite import load_suite

RTQA = SHARED / "data" / "realtimeqa"
QUESTIONS = RTQA / "questions.jsonl"
CORPUS = RTQA / "corpus.jsonl"


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def last_json(proc) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no output; stderr:\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


def test_import_realtimeqa_from_the_shared_dev_split(tmp_path):
    out = tmp_path / "suites" / "rtqa.jsonl"
    proc = run_cli("eval", "import", "realtimeqa", str(QUESTIONS), "--corpus", str(CORPUS),
                   "-o", str(out), "--json", check=True)
    report = last_json(proc)
    assert report == {"cases": 74, "output": str(out), "corpus_articles": 646,
                      "gold_urls": 78, "gold_missing": []}
    suite = load_suite(out)
    assert suite.name == "rtqa" and suite.corpus == [CORPUS.resolve()]
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert not os.path.isabs(header["corpus"][0]) and "evaluation only" in header["license"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["rtqa.jsonl"]  # nothing copied
    raw = read_jsonl(QUESTIONS)
    cases = {c.id: c for c in suite.cases}
    assert len(cases) == len(raw) == 74
    for record in raw:
        case = cases[f"rtqa-{record['id']}"]
        assert case.question == record["question"] and case.answerable
        assert case.answers == (record["answer"],) and record["answer"] in record["choices"]
        assert case.date == record["date"].replace("/", "-")
        assert list(case.gold_urls) == list(dict.fromkeys(record["gold_urls"]))
        assert "realtimeqa" in case.tags
        assert not case.evidence
    assert "time-clue" in cases["rtqa-20220617_0"].tags  # "recently green lit"
    # No article text in the suite: only questions, answers, dates and URLs.
    text = out.read_text(encoding="utf-8")
    assert not any(a["body"][200:400] in text for a in read_jsonl(CORPUS)[:50])


def test_import_realtimeqa_errors_are_one_line(tmp_path):
    proc = run_cli("eval", "import", "realtimeqa", str(QUESTIONS), "-o",
                   str(tmp_path / "x.jsonl"))
    assert proc.returncode == 2 and "--corpus" in proc.stderr  # the corpus is required
    bad = tmp_path / "q.jsonl"
    bad.write_text(json.dumps({"id": "a", "question": "Which?", "answer": ["7"],
                               "choices": ["x", "y"], "gold_urls": [], "date": "2022/06/16"})
                   + "\n", encoding="utf-8")
    proc = run_cli("eval", "import", "realtimeqa", str(bad), "--corpus", str(CORPUS), "-o",
                   str(tmp_path / "x.jsonl"))
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode == 1 and len(errors) == 1
    assert f"{bad}:1: answer '7' is not the index of a choice" in errors[0]
    assert run_cli("eval", "import", "realtimeqa", "--help", check=True).stdout.strip()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Three questions over their gold articles and 12 distractors, through `eval run`."""
    base = tmp_path_factory.mktemp("rtqa")
    questions = read_jsonl(QUESTIONS)[:3]
    gold = {normal_url(u) for q in questions for u in q["gold_urls"]}
    articles = read_jsonl(CORPUS)
    picked = [a for a in articles if normal_url(a["url"]) in gold]
    picked += [a for a in articles if normal_url(a["url"]) not in gold][:12]
    corpus = base / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in picked), encoding="utf-8")
    subset = base / "questions.jsonl"
    subset.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    suite = base / "rtqa-small.jsonl"
    run_cli("eval", "import", "realtimeqa", str(subset), "--corpus", str(corpus), "-o",
            str(suite), check=True)
    proc = run_cli("eval", "run", str(suite), "--home", str(base / "home"), "--runs-dir",
                   str(base / "runs"), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = next((base / "runs" / "rtqa-small").iterdir())
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return {"proc": proc, "record": record, "folder": folder, "picked": picked,
            "questions": questions}


def test_a_run_scores_gold_articles_by_url(small_run):
    summary = last_json(small_run["proc"])
    for key in ("gold_article_at_3", "gold_article_at_10", "gold_article_cited",
                "answer_hit_cited"):
        assert summary[key] is not None, key
    # The gold article is in the corpus with only 12 distractors: retrieval must find it.
    assert summary["gold_article_at_10"] >= 2 / 3
    assert summary["gold_article_at_3"] <= summary["gold_article_at_10"]
    urls = {a["url"] for a in small_run["picked"]}
    for case, question in zip(small_run["record"]["cases"], small_run["questions"],
                              strict=True):
        assert case["date"] == question["date"].replace("/", "-")
        assert case["ranked_urls"] and set(case["ranked_urls"]) <= urls
        assert len(case["ranked_urls"]) == len(case["ranked"])
        cited = {c["url"] for c in case["answer"]["citations"]}
        hit = any(normal_url(u) in {normal_url(g) for g in question["gold_urls"]}
                  for u in cited)
        assert case["scores"]["gold_article_cited"] == float(hit)
    assert "progress" not in summary and "ETA" in small_run["proc"].stderr


def test_a_run_records_its_answerer_and_accuracy_by_type(small_run):
    record = small_run["record"]
    assert record["answerer"] == {"answerer": "extractive"}
    assert last_json(small_run["proc"])["answerer"] == {"answerer": "extractive"}
    kinds = record["accuracy_by_type"]
    assert kinds["question_type"]["realtimeqa"]["cases"] == 3
    assert kinds["answer_kind"]["other"]["cases"] == 3
    report = (small_run["folder"] / "report.md").read_text(encoding="utf-8")
    assert "Answerer: extractive." in report and "type: realtimeqa" in report
