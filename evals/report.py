"""The run's reports: `report.md` and a self-contained `report.html`, with their PNG plots.

Both are rendered from one list of blocks built from `run.json` alone (plus the diff and the
suite's history), so the two never disagree and a report can be redrawn from an old run.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import plots
from evals.diff import RunDiff, fmt
from evals.metrics import METRICS

PLOTS = {"metrics_by_tag.png": "Scores by tag", "latency.png": "Latency per case",
         "history.png": "History over the suite's runs"}
TAG_COLUMNS = ("cases", "recall_at_10", "mrr_at_10", "answer_hit_at_10", "citation_precision",
               "citation_recall", "answer_accuracy", "answer_f1", "abstention_f1",
               "latency_p50_ms")
TYPE_COLUMNS = ("cases", "answer_accuracy", "answer_f1")
ANSWER_CHARS = 300

Block = tuple  # ("h", text) | ("p", text) | ("table", headers, rows) | ("list", items)
#              | ("img", alt, src) | ("pre", text)


def write_report(folder: Path, record: dict[str, Any], diff: RunDiff | None,
                 history: Sequence[tuple[str, dict]]) -> list[Path]:
    """Write plots and both reports into the run folder; returns the files written."""
    cases = record["cases"]
    aggregate = record["aggregate"]
    plots.metrics_by_tag(aggregate, record["by_tag"], folder / "metrics_by_tag.png")
    plots.latency([c["scores"]["latency_ms"] for c in cases], aggregate.get("latency_p50_ms"),
                  aggregate.get("latency_p95_ms"), folder / "latency.png")
    plots.history(history, folder / "history.png")
    blocks = build(record, diff)
    (folder / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    title = f"Eval {record['suite']} {record['run']}"
    (folder / "report.html").write_text(to_html(blocks, title), encoding="utf-8")
    return [folder / name for name in (*PLOTS, "report.md", "report.html")]


def build(record: dict[str, Any], diff: RunDiff | None) -> list[Block]:
    agg = record["aggregate"]
    settings = record.get("settings", {})
    git = record.get("git", {})
    blocks: list[Block] = [
        ("h", f"Eval run: {record['suite']} / {record['run']}"),
        ("p", f"{agg.get('cases')} cases ({agg.get('answerable')} answerable, "
              f"{agg.get('unanswerable')} unanswerable; {agg.get('abstained')} abstained, "
              f"{agg.get('errors')} errors); "
              f"started {record.get('created_at')}, {record.get('seconds')} s; code "
              f"{git.get('sha')}{' (uncommitted changes)' if git.get('dirty') else ''}."),
        ("p", f"Suite: {record.get('suite_file')}. Corpus: {', '.join(record.get('corpus', []))}."
              f" Settings: top_k={settings.get('top_k')}, max_citations="
              f"{settings.get('max_citations')}, embed_model={settings.get('embed_model')}, "
              f"chunk_tokens={settings.get('chunk_tokens')}, abstain_threshold="
              f"{settings.get('abstain_threshold')}."),
        ("p", f"Answerer: {answerer_line(record.get('answerer'))}."),
        ("h2", "Scores"),
        ("table", ["metric", "value"], [[m, fmt(agg.get(m))] for m in METRICS]),
        ("h2", "Answer accuracy by question type"),
        ("table", ["group", *TYPE_COLUMNS], _type_rows(record.get("accuracy_by_type", {}))),
        ("h2", "By tag"),
        ("table", ["tag", *TAG_COLUMNS],
         [[tag, *[fmt(s.get(k)) if k != "cases" else str(s.get(k)) for k in TAG_COLUMNS]]
          for tag, s in record.get("by_tag", {}).items()]),
        ("h2", "Against the previous run"),
    ]
    if diff is None:
        blocks.append(("p", "This is the first run of this suite: nothing to compare with."))
    else:
        blocks.append(("p", f"Previous run: {diff.before}"))
        if diff.notes:
            blocks.append(("list", [f"note: {n}" for n in diff.notes]))
        blocks.append(("table", ["metric", "before", "after", "delta"],
                       [[d.metric, fmt(d.before), fmt(d.after),
                         fmt(d.delta, signed=True, ms=d.metric.endswith("_ms"))
                         + (" (worse)" if d.worse else "")]
                        for d in diff.deltas if d.before is not None or d.after is not None]))
        if diff.worse:
            blocks.append(("p", f"{len(diff.worse)} case(s) got worse:"))
            blocks.append(("list", [f"{c.case_id}: {', '.join(c.reasons)} ({c.question})"
                                    for c in diff.worse]))
        else:
            blocks.append(("p", "No case got worse."))
        if diff.better:
            blocks.append(("list", [f"{c.case_id}: {', '.join(c.reasons)}"
                                    for c in diff.better]))
    blocks.append(("h2", "Plots"))
    blocks += [("img", alt, src) for src, alt in PLOTS.items()]
    blocks.append(("h2", "Cases"))
    blocks.append(("table", ["id", "tags", "correct", "abstained", "recall@10", "cit. P",
                             "cit. R", "ms", "question"], [_case_row(c) for c in record["cases"]]))
    wrong = [c for c in record["cases"] if c["scores"].get("answer_correct") is False]
    if wrong:
        blocks.append(("h2", "Wrong answers"))
        items = []
        for c in wrong:
            answer = (c.get("answer") or {}).get("answer") or c["scores"].get("error", "")
            if len(answer) > ANSWER_CHARS:
                answer = answer[:ANSWER_CHARS] + "..."
            expected = ("(abstain)" if not c.get("answerable", True)
                        else " | ".join(c.get("answers", [])))
            items.append(f"{c['id']}: {' / '.join(_turns(c))} -- expected: {expected} -- "
                         f"got: {answer}")
        blocks.append(("list", items))
    return blocks


def answerer_line(info: dict | None) -> str:
    """"local, model qwen...gguf, sha256 1a2b..." from the run's answerer record."""
    if not info:
        return "not recorded (a run made before answerers were recorded)"
    rest = [f"{k} {v}" for k, v in info.items() if k != "answerer" and v not in (None, "")]
    return ", ".join([str(info.get("answerer", "unknown")), *rest])


def _type_rows(by_type: dict) -> list[list[str]]:
    rows = []
    for group, label in (("question_type", "type"), ("answer_kind", "answer")):
        for name, s in by_type.get(group, {}).items():
            rows.append([f"{label}: {name}", str(s.get("cases")),
                         fmt(s.get("answer_accuracy")), fmt(s.get("answer_f1"))])
    return rows


def _turns(case: dict) -> list[str]:
    return case.get("turns") or [case.get("question", "")]


def _case_row(case: dict) -> list[str]:
    s = case["scores"]
    correct = {True: "yes", False: "no", None: "n/a"}[s.get("answer_correct")]
    return [str(case["id"]), ", ".join(case.get("tags", [])), correct,
            "yes" if s.get("abstained") else "no", fmt(s.get("recall_at_10")),
            fmt(s.get("citation_precision")), fmt(s.get("citation_recall")),
            f"{s.get('latency_ms', 0):.0f}", " / ".join(_turns(case))]


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out.append(f"# {block[1]}")
        elif kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "list":
            out.append("\n".join(f"- {_md_cell(item)}" for item in block[1]))
        elif kind == "img":
            out.append(f"![{block[1]}]({block[2]})")
        elif kind == "table":
            headers, rows = block[1], block[2]
            lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:1em 0;font-size:90%}th,td{border:1px solid #ccc;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}img{max-width:100%;
display:block;margin:1em 0}h2{margin-top:1.6em;border-bottom:1px solid #ddd}"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """Self-contained: inline CSS, no scripts, images next to it referenced relatively."""
    e = html.escape
    out = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}"
           f"</title><style>{_CSS}</style></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out.append(f"<h1>{e(block[1])}</h1>")
        elif kind == "h2":
            out.append(f"<h2>{e(block[1])}</h2>")
        elif kind == "p":
            out.append(f"<p>{e(block[1])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in block[1]) + "</ul>")
        elif kind == "img":
            out.append(f"<img src=\"{e(block[2])}\" alt=\"{e(block[1])}\">")
        elif kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>"
                           for row in block[2])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def summary(record: dict[str, Any]) -> str:
    """The few lines a person reads in the terminal after a run."""
    a = record["aggregate"]

    def row(label: str, *pairs: tuple[str, str]) -> str:
        return f"  {label:<11}" + "   ".join(f"{name} {fmt(a.get(key))}" for name, key in pairs)

    lines = [
        f"{record['suite']}: {a.get('cases')} cases ({a.get('answerable')} answerable, "
        f"{a.get('unanswerable')} unanswerable; {a.get('abstained')} abstained, "
        f"{a.get('errors')} errors) in "
        f"{record.get('seconds')} s",
        row("retrieval", ("recall@4", "recall_at_4"), ("recall@10", "recall_at_10"),
            ("MRR@10", "mrr_at_10"), ("answer hit@4", "answer_hit_at_4"),
            ("@10", "answer_hit_at_10")),
        *([row("articles", ("gold article@3", "gold_article_at_3"),
               ("@10", "gold_article_at_10"), ("cited", "gold_article_cited"),
               ("answer in cited", "answer_hit_cited"))]
          if a.get("gold_article_at_10") is not None else []),
        row("citations", ("precision", "citation_precision"), ("recall", "citation_recall"),
            ("verbatim", "citation_verbatim_rate")),
        row("answers", ("accuracy", "answer_accuracy"), ("token F1", "answer_f1")),
        row("abstention", ("precision", "abstention_precision"),
            ("recall", "abstention_recall"), ("F1", "abstention_f1")),
        row("latency", ("p50 ms", "latency_p50_ms"), ("p95 ms", "latency_p95_ms")),
        f"  answerer   {answerer_line(record.get('answerer'))}",
    ]
    for tag, s in record.get("by_tag", {}).items():
        lines.append(f"  tag {tag} ({s.get('cases')}): answer accuracy "
                     f"{fmt(s.get('answer_accuracy'))}, recall@10 {fmt(s.get('recall_at_10'))}, "
                     f"citation recall {fmt(s.get('citation_recall'))}")
    return "\n".join(lines)
