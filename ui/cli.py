"""The `newsdesk` command: a thin shell over the library, one small function per subcommand.

Results go to stdout (human text, or one JSON object with --json); logs, progress and errors
go to stderr. A user-fixable problem is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from index.errors import NewsdeskError
from index.settings import Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Newsdesk: answers about a news corpus, proven by its own sentences.")

HomeOpt = Annotated[str | None, typer.Option("--home", help="Data directory (NEWSDESK_HOME).")]
ChromaOpt = Annotated[str | None, typer.Option(
    "--chroma-url", help="Chroma server URL (NEWSDESK_CHROMA_URL); default: embedded store.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]


def quiet_libraries() -> None:
    """Keep third-party chatter off the terminal and forbid any model-hub download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("chromadb", "httpx", "sentence_transformers", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def settings_from(**flags) -> Settings:
    return load_settings({k: v for k, v in flags.items() if v is not None})


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def emit(obj: dict) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False))


@app.command("index")
def index_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of articles.")],
    strict: Annotated[bool, typer.Option(
        "--strict", help="Stop at the first bad input, before writing anything.")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
    chroma_url: ChromaOpt = None,
) -> None:
    """Index article files (JSONL, JSON, CSV, TXT, HTML, or folders of them)."""
    from ui.index_run import run_index

    quiet_libraries()
    try:
        report = run_index(settings_from(home=home, chroma_url=chroma_url), paths, strict)
    except NewsdeskError as exc:
        fail(str(exc))
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    if as_json:
        emit(report.to_json())
    else:
        typer.echo(
            f"{report.articles_added} added, {report.articles_updated} updated, "
            f"{report.articles_unchanged} unchanged, {report.articles_failed} failed; "
            f"{report.sentences} sentences in {report.chunks} chunks, {report.seconds:.1f} s"
        )
    if report.errors:
        raise typer.Exit(1)


@app.command("stats")
def stats_cmd(as_json: JsonOpt = False, home: HomeOpt = None,
              chroma_url: ChromaOpt = None) -> None:
    """Show what the store holds."""
    from dataclasses import asdict

    from index.store import Store

    quiet_libraries()
    try:
        stats = Store(settings_from(home=home, chroma_url=chroma_url)).stats()
    except NewsdeskError as exc:
        fail(str(exc))
    if as_json:
        emit(asdict(stats))
    else:
        span = (f", published {stats.first_published} to {stats.last_published}"
                if stats.first_published else "")
        typer.echo(f"{stats.articles} articles from {stats.sources} sources, "
                   f"{stats.sentences} sentences in {stats.chunks} chunks{span}")


def main() -> None:  # pragma: no cover - console entry point
    app()
