"""Written answers side by side: extractive, and the local answerer with each packaged model.

One run, the same stores: the MultiHop-RAG dev suite over its evidence articles, RGB en_fact dev
(answers among its passages) and RGB negative rejection (only distractor passages indexed, so
every answer should be an abstention). For each answerer it prints answer accuracy overall and
per question type, abstention on null and answerable questions, the verbatim rate of the
citations, the share of the model's answer sentences marked unsupported, and latency on this
machine: evidence shown, first answer token, complete answer (p50/p95, warm process).

RGB is read from ../shared (CC BY-NC-SA, never bundled). Last stdout line: one JSON object
{"bench": "answers", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from offline_env import ROOT  # first: offline env, project and tests on sys.path

MULTIHOP = ROOT / "evals" / "suites" / "multihop-rag-dev.jsonl"
RGB = ROOT.parent / "shared" / "data" / "rgb" / "en_fact-dev.jsonl"
MODELS = {"local-1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m",
          "local-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    import numpy as np

    return round(float(np.percentile(values, q)), 1) if values else None


def rgb_suites(work: Path) -> dict[str, Path]:
    from evals.importers import rgb
    from evals.suite import write_suite

    out = {}
    for name, negative in (("rgb", False), ("rgb-negative", True)):
        passages = work / f"{name}.passages.jsonl"
        imported = rgb(RGB, name, passages.name, negative_rejection=negative)
        with open(passages, "w", encoding="utf-8") as f:
            for p in imported.passages:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
        suite = work / f"{name}.jsonl"
        with open(suite, "w", encoding="utf-8") as f:
            write_suite(f, imported.header, imported.cases)
        out[name] = suite
    return out


def figures(result) -> dict:
    """The bench's view of one run: the eval's own metrics plus timings and model use."""
    from index.sentences import split_sentences

    agg = result.aggregate
    cases = [r for r in result.cases if r.answer]
    answerable = [r for r in cases if r.case.answerable]
    null = [r for r in cases if not r.case.answerable]
    timings = [r.answer["timings"] for r in cases]
    used = [r.answer for r in cases if r.answer.get("model")]
    sentences = sum(len(a.get("unsupported") or []) for a in used)
    # Counted with the splitter the verifier uses, so the share is of the sentences it judged.
    total_sentences = sum(len(split_sentences(a["answer"], "answer")) for a in used)
    out = {
        "answer_accuracy": agg.get("answer_accuracy"),
        "by_type": {t: v["answer_accuracy"] for t, v in
                    result.accuracy_by_type.get("question_type", {}).items()},
        "by_kind": {t: v["answer_accuracy"] for t, v in
                    result.accuracy_by_type.get("answer_kind", {}).items()},
        "null_abstained": (sum(r.answer["abstained"] for r in null) / len(null)) if null else None,
        "answerable_abstained": (sum(r.answer["abstained"] for r in answerable) / len(answerable)
                                 if answerable else None),
        "citation_verbatim_rate": agg.get("citation_verbatim_rate"),
        "citation_precision": agg.get("citation_precision"),
        "recall_at_10": agg.get("recall_at_10"),
        "model_answers": len(used),
        "fallbacks": sum("showing the cited sentences instead" in (r.answer.get("notice") or "")
                         for r in cases),
        "unsupported_sentence_share": round(sentences / total_sentences, 4) if used else None,
    }
    for key in ("evidence_ms", "first_token_ms", "total_ms"):
        values = [t[key] for t in timings if key in t]
        out[f"{key}_p50"] = percentile(values, 50)
        out[f"{key}_p95"] = percentile(values, 95)
    return out


def cli_latency(home: str, model: str, questions: list[str]) -> dict:
    """Through the CLI, as a user runs it: one cold `newsdesk ask` (wall time to its first
    answer byte and to its exit), then the questions through one process (stdin, --json)."""
    import subprocess

    newsdesk = str(Path(sys.executable).with_name("newsdesk"))
    env = {**os.environ, "NEWSDESK_HOME": home, "NEWSDESK_ANSWERER": "local",
           "NEWSDESK_LOCAL_MODEL": model}
    t = time.perf_counter()
    proc = subprocess.Popen([newsdesk, "ask", questions[0]], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    first = os.read(proc.stdout.fileno(), 1)
    first_ms = (time.perf_counter() - t) * 1000 if first else None
    proc.stdout.read()
    proc.wait()
    cold = {"first_byte_ms": round(first_ms, 1) if first_ms else None,
            "exit_ms": round((time.perf_counter() - t) * 1000, 1)}
    out = subprocess.run([newsdesk, "ask", "--json"], input="\n".join(questions[1:]) + "\n",
                         capture_output=True, text=True, env=env, check=True)
    timings = [json.loads(line)["timings"] for line in out.stdout.splitlines() if line.strip()]
    warm = {}
    for key in ("evidence_ms", "first_token_ms", "total_ms"):
        values = [t[key] for t in timings if key in t]
        warm[f"{key}_p50"] = percentile(values, 50)
    return {"cold": cold, "warm_one_process": warm, "questions": len(timings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answerers", default="extractive,local-1.5b,local-0.5b",
                        help="Comma-separated: extractive, local-1.5b, local-0.5b.")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N cases per suite.")
    parser.add_argument("--home", default="", help="Data directory (default: a temporary one).")
    parser.add_argument("--details", default="",
                        help="Write every case's question, gold answers, answer and scores "
                             "to this JSON file (for looking at failures).")
    parser.add_argument("--cli-questions", type=int, default=9,
                        help="MultiHop questions asked through the CLI per local model.")
    parser.add_argument("--suites", default="multihop,rgb,rgb-negative",
                        help="Comma-separated subset of: multihop, rgb, rgb-negative.")
    args = parser.parse_args()

    from evals.runner import run_suite
    from evals.suite import load_suite
    from index.settings import Settings
    from ui.progress import CaseBar, IndexBar

    work = Path(tempfile.mkdtemp(prefix="bench-answers-"))
    wanted = args.suites.split(",")
    suites = {name: path for name, path in {"multihop": MULTIHOP, **rgb_suites(work)}.items()
              if name in wanted}
    base = Settings(home=args.home or str(work / "home"))
    results: dict[str, dict[str, dict]] = {}
    details: list[dict] = []
    for answerer in args.answerers.split(","):
        settings = (base.replace(answerer="extractive") if answerer == "extractive" else
                    base.replace(answerer="local", local_model=MODELS[answerer]))
        results[answerer] = {}
        for name, path in suites.items():
            suite = load_suite(path)
            if args.limit:
                suite = replace(suite, cases=suite.cases[:args.limit])
            t = time.perf_counter()
            index_bar, case_bar = IndexBar(), CaseBar(suite.name)
            try:
                run = run_suite(suite, settings, index_progress=index_bar,
                                case_progress=case_bar)
            finally:
                index_bar.close()
                case_bar.close()
            results[answerer][name] = figures(run)
            results[answerer][name]["answerer_info"] = run.answerer
            details.extend({"answerer": answerer, "suite": name, "id": r.case.id,
                            "question": r.case.turns[-1], "answers": list(r.case.answers),
                            "tags": list(r.case.tags), "correct": r.scores.answer_correct,
                            "answer": r.answer} for r in run.cases)
            log(f"{answerer} / {name}: {len(suite.cases)} cases in "
                f"{time.perf_counter() - t:.0f} s")
            if name == "multihop" and answerer != "extractive" and args.cli_questions:
                asked = [c.turns[-1] for c in suite.cases if c.answerable][:args.cli_questions]
                results[answerer]["cli"] = cli_latency(str(run.settings.home),
                                                       MODELS[answerer], asked)

    if args.details:
        Path(args.details).write_text(json.dumps(details, ensure_ascii=False, indent=1))
    names = list(results)
    print(f"Answers on 2 cores ({os.cpu_count()} CPUs seen), load average "
          f"{os.getloadavg()[0]:.1f}; warm process, times from the question")
    print(f"  {'':34s}" + "".join(f"{n:>13s}" for n in names))

    def row(label: str, suite: str, key: str, sub: str = "") -> None:
        cells = []
        for n in names:
            value = results[n].get(suite, {}).get(key)
            if sub:
                value = (value or {}).get(sub)
            cells.append(_shown(value))
        print(f"  {label:34s}" + "".join(f"{c:>13s}" for c in cells))

    row("MultiHop answer accuracy", "multihop", "answer_accuracy")
    for t in ("inference_query", "comparison_query", "temporal_query"):
        row(f"  {t}", "multihop", "by_type", t)
    for k in ("yes/no", "other"):
        row(f"  answers {k}", "multihop", "by_kind", k)
    row("MultiHop null abstained", "multihop", "null_abstained")
    row("MultiHop answerable abstained", "multihop", "answerable_abstained")
    row("MultiHop citations verbatim", "multihop", "citation_verbatim_rate")
    row("MultiHop citation precision", "multihop", "citation_precision")
    row("MultiHop unsupported sentence share", "multihop", "unsupported_sentence_share")
    row("MultiHop model answers (fallbacks)", "multihop", "model_answers")
    row("  fallbacks", "multihop", "fallbacks")
    row("RGB answer accuracy", "rgb", "answer_accuracy")
    row("RGB negative rejection (abstained)", "rgb-negative", "null_abstained")
    for key in ("evidence_ms", "first_token_ms", "total_ms"):
        row(f"MultiHop {key} p50", "multihop", f"{key}_p50")
        row(f"MultiHop {key} p95", "multihop", f"{key}_p95")
    for n in names:
        cli = results[n].get("cli")
        if cli:
            warm = cli["warm_one_process"]
            print(f"  CLI {n}: cold `newsdesk ask` first answer byte {cli['cold']['first_byte_ms']}"
                  f" ms, exit {cli['cold']['exit_ms']} ms; one process, {cli['questions']} "
                  f"questions: evidence p50 {warm['evidence_ms_p50']} ms, first token p50 "
                  f"{warm['first_token_ms_p50']} ms, complete p50 {warm['total_ms_p50']} ms")
    print(json.dumps({"bench": "answers", "results": results,
                      "load_avg": round(os.getloadavg()[0], 1)}))


def _shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value > 1.5 else f"{value:.3f}"
    return str(value)


if __name__ == "__main__":
    main()
