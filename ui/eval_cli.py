"""`newsdesk eval ...`: run suites, compare runs, import public QA sets.

A front end over the `evals` library (`evals.record` runs, records, reports and diffs; the
importers and the suite format do the rest), thin like the rest of the CLI: results on stdout
(one JSON object with --json), progress bars and logs on stderr, a user-fixable problem as one
line and a non-zero exit. Everything heavy (the model, Chroma, matplotlib) is imported inside
the commands, so `newsdesk --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from evals.suite import relative_to_suite

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Run, import and compare eval suites.")
import_app = typer.Typer(no_args_is_help=True, add_completion=False,
                         pretty_exceptions_enable=False,
                         help="Turn a public QA dataset into a suite (to stdout, or -o FILE).")
app.add_typer(import_app, name="import")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]
MaxRegressionsOpt = Annotated[int | None, typer.Option(
    "--max-regressions", help="Exit non-zero if more than N cases got worse.", min=0)]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _emit(obj: dict) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False))


def _quiet() -> None:
    from ui.cli import quiet_libraries

    quiet_libraries()


def _parse_gates(values: list[str]) -> dict[str, float]:
    from evals.metrics import RATE_METRICS

    gates = {}
    for value in values:
        metric, sep, bar = value.partition("=")
        metric = metric.strip()
        if not sep or metric not in RATE_METRICS:
            _fail(f"--fail-under {value!r}: expected METRIC=VALUE with METRIC one of "
                  f"{', '.join(RATE_METRICS)}")
        try:
            gates[metric] = float(bar)
        except ValueError:
            _fail(f"--fail-under {value!r}: {bar!r} is not a number")
    return gates


def _check_regressions(count: int, limit: int | None) -> None:
    if limit is not None and count > limit:
        _fail(f"{count} case(s) got worse, more than --max-regressions {limit}")


@app.command("run")
def run_cmd(
    suite: Annotated[str, typer.Argument(
        help="Suite file (JSONL), or the name of a shipped suite in evals/suites.")],
    corpus: Annotated[list[Path] | None, typer.Option(
        "--corpus", help="Index these paths instead of the suite's corpus (repeatable).")] = None,
    top_k: Annotated[int | None, typer.Option(
        "--top-k", help="Retrieval depth (NEWSDESK_TOP_K).", min=1)] = None,
    home: Annotated[str | None, typer.Option(
        "--home", help="Data directory (NEWSDESK_HOME); the suite's store goes under "
                       "HOME/evals/<suite>.")] = None,
    as_json: JsonOpt = False,
    fail_under: Annotated[list[str] | None, typer.Option(
        "--fail-under", help="METRIC=VALUE: exit non-zero if METRIC ends below VALUE, e.g. "
                             "answer_accuracy=0.9 (repeatable).")] = None,
    max_regressions: MaxRegressionsOpt = None,
    runs_dir: Annotated[Path | None, typer.Option(
        "--runs-dir", help="Where run folders go (default evals/runs).")] = None,
    answerer: Annotated[str | None, typer.Option(
        "--answerer", help="local, served, extractive or auto (NEWSDESK_ANSWERER).")] = None,
    local_model: Annotated[str | None, typer.Option(
        "--local-model", help="Packaged model name or GGUF path (NEWSDESK_LOCAL_MODEL).")] = None,
    llm_url: Annotated[str | None, typer.Option(
        "--llm-url", help="OpenAI-compatible model server (NEWSDESK_LLM_URL).")] = None,
) -> None:
    """Index the suite's corpus, ask every case, score, report, and diff against the last run."""
    from evals.record import evaluate, failed_gates
    from evals.report import summary
    from evals.suite import find_suite, load_suite
    from index.errors import NewsdeskError
    from index.settings import load_settings
    from ui.progress import CaseBar, IndexBar

    _quiet()
    gates = _parse_gates(fail_under or [])
    index_bar = IndexBar()
    try:
        loaded = load_suite(find_suite(suite))
        flags = {k: v for k, v in {"top_k": top_k, "home": home, "answerer": answerer,
                                   "local_model": local_model, "llm_url": llm_url}.items()
                 if v is not None}
        settings = load_settings(flags)
        case_bar = CaseBar(loaded.name)
        try:
            recorded = evaluate(loaded, settings, corpus, runs_dir, index_bar, case_bar)
        finally:
            index_bar.close()
            case_bar.close()
    except NewsdeskError as exc:
        _fail(str(exc))
    except OSError as exc:  # the runs folder or the report: the scores were computed but lost
        _fail(f"cannot write the run ({exc}); check --runs-dir")
    folder, record, diff = recorded.folder, recorded.record, recorded.diff
    for error in record["index"].get("errors", []):
        typer.echo(f"warning: {_load_error(error)}", err=True)
    diff_text = recorded.diff_text()
    if as_json:
        typer.echo(diff_text, err=True)
        _emit({"suite": loaded.name, "run": str(folder), **record["aggregate"],
               "regressions": recorded.regressions,
               "previous_run": diff.before if diff else None, "by_tag": record["by_tag"],
               "accuracy_by_type": record["accuracy_by_type"], "answerer": record["answerer"]})
    else:
        typer.echo(summary(record))
        typer.echo(f"run: {folder}")
        typer.echo(f"report: {folder / 'report.html'}")
        typer.echo(diff_text)
    problems = [f"{m} is {_shown(value)}, under --fail-under {bar:g}"
                for m, value, bar in failed_gates(record["aggregate"], gates)]
    regressions = recorded.regressions
    if max_regressions is not None and regressions > max_regressions:
        problems.append(f"{regressions} case(s) got worse, more than --max-regressions "
                        f"{max_regressions}")
    if problems:
        _fail("; ".join(problems))


def _shown(value: float | None) -> str:
    return "n/a (no case it applies to)" if value is None else f"{value:.4g}"


def _load_error(error: dict) -> str:
    """An index run's load error as `LoadError` prints it (`file:line: message`)."""
    from index.types import LoadError

    return str(LoadError(error["file"], error["line"], error["message"]))


@app.command("diff")
def diff_cmd(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder (or its run.json).")],
    run_b: Annotated[Path, typer.Argument(help="The later run folder (or its run.json).")],
    as_json: JsonOpt = False,
    max_regressions: MaxRegressionsOpt = None,
) -> None:
    """Compare two runs: metric deltas and the cases that got worse from RUN_A to RUN_B."""
    from evals.diff import render
    from evals.record import compare_runs
    from index.errors import NewsdeskError

    try:
        diff = compare_runs(run_a, run_b)
    except NewsdeskError as exc:
        _fail(str(exc))
    if as_json:
        _emit(diff.to_json())
    else:
        typer.echo(render(diff))
    _check_regressions(len(diff.worse), max_regressions)


OutputOpt = Annotated[Path | None, typer.Option(
    "-o", "--output", help="Write the suite here instead of to stdout.")]
NameOpt = Annotated[str | None, typer.Option(
    "--name", help="Suite name (default: the output file's name).")]


def _write(imported, output: Path | None) -> None:
    imported.save(output, sys.stdout)


@import_app.command("multihop-rag")
def import_multihop_cmd(
    queries: Annotated[Path, typer.Argument(help="MultiHop-RAG queries (a JSON array).")],
    output: OutputOpt = None,
    corpus: Annotated[list[Path] | None, typer.Option(
        "--corpus", help="Articles to record as the suite's corpus (repeatable); stored "
                         "relative to the output file.")] = None,
    name: NameOpt = None,
) -> None:
    """Import MultiHop-RAG queries: null queries become unanswerable cases; tag = question type."""
    from evals.importers import multihop_rag
    from index.errors import NewsdeskError

    recorded = [relative_to_suite(p, output) for p in corpus or []]
    try:
        imported = multihop_rag(queries, name or _default_name(output, "multihop-rag"),
                                recorded)
        _write(imported, output)
    except NewsdeskError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {output} ({exc.strerror or exc})")
    if output is not None:
        unanswerable = sum(not c.answerable for c in imported.cases)
        typer.echo(f"wrote {len(imported.cases)} cases ({unanswerable} unanswerable) to {output}")


@import_app.command("rgb")
def import_rgb_cmd(
    file: Annotated[Path, typer.Argument(help="An RGB JSONL file (e.g. en_fact-dev.jsonl).")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Suite file to write; its passages go next to it as "
                               "<name>.passages.jsonl.")],
    negative_rejection: Annotated[bool, typer.Option(
        "--negative-rejection", help="Index only the passages without the answer: every case "
                                     "becomes unanswerable.")] = False,
    name: NameOpt = None,
) -> None:
    """Import RGB: its passages become the suite's corpus (never bundle RGB: CC BY-NC-SA)."""
    from evals.importers import rgb
    from index.errors import NewsdeskError

    stem = output.name.removesuffix(".jsonl")
    corpus_file = output.with_name(f"{stem}.passages.jsonl")
    try:
        imported = rgb(file, name or stem, corpus_file.name, negative_rejection)
        imported.save_passages(corpus_file)
        _write(imported, output)
    except NewsdeskError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {output} ({exc.strerror or exc})")
    typer.echo(f"wrote {len(imported.cases)} cases to {output} and "
               f"{len(imported.passages)} passages to {corpus_file}")


@import_app.command("realtimeqa")
def import_realtimeqa_cmd(
    questions: Annotated[Path, typer.Argument(
        help="RealTimeQA questions (JSONL: id, question, answer, choices, gold_urls, date).")],
    corpus: Annotated[Path, typer.Option(
        "--corpus", help="The articles (JSONL) the questions are asked over; referenced by "
                         "path (relative to the output file), never copied.")],
    output: OutputOpt = None,
    name: NameOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import RealTimeQA: cases carry the correct choice's text, the quiz date and the gold
    article URLs (the texts have no license: keep the suite's runs out of the repository)."""
    from evals.importers import realtimeqa
    from index.errors import NewsdeskError

    try:
        imported = realtimeqa(questions, name or _default_name(output, "realtimeqa"), corpus,
                              relative_to_suite(corpus, output))
        _write(imported, output)
    except NewsdeskError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {output} ({exc.strerror or exc})")
    for url in imported.gold_missing:
        typer.echo(f"warning: gold article {url} is not in {corpus}", err=True)
    line = (f"wrote {len(imported.cases)} cases to {output or 'stdout'} (corpus "
            f"{imported.corpus_articles} articles; {imported.gold_urls} gold URLs, "
            f"{len(imported.gold_missing)} missing from it)")
    if as_json:
        if output is not None:
            _emit({"cases": len(imported.cases), "output": str(output),
                   "corpus_articles": imported.corpus_articles,
                   "gold_urls": imported.gold_urls, "gold_missing": imported.gold_missing})
        else:
            typer.echo(line, err=True)
    elif output is not None:
        typer.echo(line)
    else:
        typer.echo(line, err=True)


def _default_name(output: Path | None, fallback: str) -> str:
    return output.name.removesuffix(".jsonl") if output else fallback
