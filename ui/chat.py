"""The Gradio web chat: `newsdesk chat`.

One `Assistant` per process (the model and the lexical index load once); one `Conversation`
per browser session, held in `gr.State`, so two tabs never see each other's follow-ups.
Evidence first: with a model (local or served), the cited sentences and the sources panel are
shown as soon as retrieval is done, the model's answer then streams in above the sentences
token by token and is finally replaced by its verified form. The extractive answer arrives
complete, so it is streamed in word chunks only to show it appear.

Questions and uploads share one concurrency group: the shared `Assistant` is not thread-safe,
and an upload refreshes it, so they run one at a time.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from assistant.engine import Assistant, Conversation
from assistant.retrieve import Filters
from assistant.types import Answer
from index.dates import check_date
from index.errors import NewsdeskError
from index.loaders import SUPPORTED_SUFFIXES
from index.settings import Settings
from ui import chat_render as render
from ui.index_run import run_index

log = logging.getLogger(__name__)

STREAM_STEPS = 8  # chunks an answer is streamed in
STREAM_PAUSE = 0.015  # seconds between chunks: visibly streaming, yet done in about 0.1 s
GROUP = "assistant"

CSS = """
.nd-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
           padding: 10px 12px; margin: 0 0 10px 0; background: var(--background-fill-primary);
           scroll-margin-top: 12px; transition: box-shadow .3s; }
.nd-card.nd-flash { box-shadow: 0 0 0 3px var(--color-accent); }
.nd-closest { border-style: dashed; opacity: .92; }
.nd-card-head { font-weight: 600; line-height: 1.35; }
.nd-badge { color: var(--color-accent); margin-right: 4px; }
.nd-closest .nd-badge { font-weight: 400; font-style: italic;
                        color: var(--body-text-color-subdued); }
.nd-meta { font-size: .85em; color: var(--body-text-color-subdued); margin: 2px 0 6px; }
.nd-para { margin: 0; line-height: 1.5; font-size: .95em; }
.nd-para mark { background: #fff3a3; color: inherit; padding: 0 1px; }
.nd-closest .nd-para mark { background: var(--background-fill-secondary); }
.nd-para .answer-span { text-decoration: underline; text-decoration-thickness: 2px; }
.nd-no-answer { border-left: 4px solid #d97706; padding: 8px 10px; margin-bottom: 10px;
                background: var(--background-fill-secondary); }
.nd-closest-head { font-size: .85em; text-transform: uppercase; letter-spacing: .03em;
                   color: var(--body-text-color-subdued); margin: 6px 0; }
.nd-empty { color: var(--body-text-color-subdued); padding: 8px 0; }
.nd-errors { margin: 4px 0 0 18px; color: #b91c1c; }
.nd-upload-error { color: #b91c1c; }
#nd-sources { max-height: 640px; overflow-y: auto; }
#nd-stats { color: var(--body-text-color-subdued); }
#nd-chat a[href^="#src-"] { color: var(--color-accent); font-weight: 600; text-decoration: none;
                            font-size: .9em; vertical-align: 1px; }
"""

# Markers link to `#src-n`; the chat's Markdown may open links in a new tab, so clicks on them
# are caught first and the card is scrolled into view (and flashed) in place.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    if (!link) return;
    const card = document.getElementById(link.getAttribute('href').slice(1));
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    card.classList.remove('nd-flash');
    void card.offsetWidth;
    card.classList.add('nd-flash');
  }, true);
}
"""


def launch_options(settings: Settings) -> dict:
    """Refuse to expose the corpus beyond this machine without a password."""
    auth = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not sep or not user or not password:
            raise NewsdeskError("auth must be 'user:password' (NEWSDESK_AUTH); fix its value")
        auth = (user, password)
    if not _is_loopback(settings.host) and auth is None:
        raise NewsdeskError(
            f"refusing to serve on {settings.host} without a password: set NEWSDESK_AUTH="
            f"user:password, or bind to 127.0.0.1")
    # The default theme's fonts ship with Gradio: the page makes no request beyond this server.
    theme = gr.themes.Default(primary_hue="indigo", neutral_hue="slate")
    return {"server_name": settings.host, "server_port": settings.port, "auth": auth,
            "css": CSS, "js": JS, "theme": theme, "ssr_mode": False, "footer_links": [],
            "mcp_server": False}


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings) -> None:
    options = launch_options(settings)  # before loading anything: fail fast
    app = build_app(settings)
    app.queue(default_concurrency_limit=1).launch(**options)


def build_app(settings: Settings, assistant: Assistant | None = None,
              warm_up: bool = True) -> gr.Blocks:
    assistant = assistant or Assistant(settings)
    if warm_up:
        _warm_up(assistant)
    chat = ChatHandlers(assistant, settings)
    with gr.Blocks(title="Newsdesk", analytics_enabled=False) as app:
        conversation = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("## Newsdesk\nAnswers from your news corpus, each one proven by "
                            "its own sentences.")
                stats = gr.Markdown(chat.stats_text(), elem_id="nd-stats")
                with gr.Group():
                    since = gr.Textbox(label="Published since", placeholder="YYYY-MM-DD",
                                       max_lines=1)
                    until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD",
                                       max_lines=1)
                    sources = gr.Dropdown(choices=chat.source_choices(), value=[],
                                          multiselect=True, label="Sources",
                                          info="Empty: all sources")
                upload = gr.File(label="Add articles", file_count="multiple",
                                 file_types=sorted(SUPPORTED_SUFFIXES), elem_id="nd-upload")
                upload_report = gr.HTML(elem_id="nd-upload-report")
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    label="Chat", height=560, elem_id="nd-chat", render_markdown=True,
                    sanitize_html=True, allow_tags=False, latex_delimiters=[],
                    feedback_options=None, buttons=["copy"],
                    placeholder="Ask about the corpus. Every answer quotes its sources; "
                                "click a marker like [1] to see where it comes from.")
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question…",
                                          scale=5, max_lines=3, autofocus=True,
                                          elem_id="nd-question")
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=80,
                                    elem_id="nd-ask")
                new = gr.Button("New conversation", size="sm", elem_id="nd-new")
            with gr.Column(scale=2, min_width=320):
                gr.Markdown("### Sources")
                panel = gr.HTML(render.EMPTY_SOURCES, elem_id="nd-sources")

        ask_inputs = [question, chatbot, conversation, since, until, sources]
        ask_outputs = [question, chatbot, panel, conversation]
        # The Chatbot's tracker is always "minimal"; the panel's full one marks the event with
        # `generating` while it streams, which is what a watching page (or test) can wait on.
        for trigger in (question.submit, ask.click):
            trigger(chat.respond, ask_inputs, ask_outputs, concurrency_id=GROUP,
                    show_progress="full", show_progress_on=[chatbot, panel])
        # The Chatbot's own trash button must forget the conversation too, or a follow-up would
        # be resolved against turns no longer on screen.
        for trigger in (new.click, chatbot.clear):
            trigger(chat.reset, None, [question, chatbot, panel, conversation], queue=False)
        upload.upload(chat.add_files, [upload], [upload_report, stats, sources],
                      concurrency_id=GROUP)
    return app


def _warm_up(assistant: Assistant) -> None:
    """Load the models and the lexical index now, not on the first user's question."""
    try:
        assistant.ask("Who said what, and when?")
    except NewsdeskError as exc:
        log.warning("warm-up question failed: %s", exc)


class ChatHandlers:
    """The event handlers, bound to the process's one Assistant."""

    def __init__(self, assistant: Assistant, settings: Settings):
        self.assistant = assistant
        self.settings = settings

    def stats_text(self) -> str:
        return render.md_text(render.stats_line(self.assistant.store.stats()))

    def source_choices(self) -> list[str]:
        return self.assistant.store.sources()

    def respond(self, message, history, conversation, since, until, sources):
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            yield "", history, gr.skip(), conversation
            return
        conversation = conversation or Conversation()
        history.append({"role": "user", "content": render.md_text(message)})
        yield "", history, render.SEARCHING, conversation
        if self.assistant.generator is None:
            yield from self._respond_extractive(message, history, conversation, since, until,
                                                sources)
            return
        # Evidence first: the cited sentences and the sources panel as soon as retrieval is
        # done, then the model's answer streams in above the sentences.
        history.append({"role": "assistant", "content": render.WRITING})
        evidence: Answer | None = None
        text = ""
        try:
            filters = _filters(since, until, sources)
            for kind, item in self._ask_streaming(message, conversation, filters):
                if kind == "evidence":
                    evidence = item
                    if item.abstained:
                        continue
                    history[-1] = {"role": "assistant", "content": _writing(item, "")}
                    yield gr.skip(), history, render.sources_html(item), gr.skip()
                elif kind == "delta":
                    text += item
                    history[-1] = {"role": "assistant", "content": _writing(evidence, text)}
                    yield gr.skip(), history, gr.skip(), gr.skip()
                else:
                    answer = item
        except NewsdeskError as exc:
            history[-1] = {"role": "assistant",
                           "content": f"**error:** {render.md_text(str(exc))}"}
            yield "", history, render.EMPTY_SOURCES, conversation
            return
        content = render.answer_markdown(answer)
        if answer.model and answer.citations:
            content += "\n\n" + render.evidence_markdown(answer)
        history[-1] = {"role": "assistant", "content": content}
        yield "", history, render.sources_html(answer), conversation

    def _respond_extractive(self, message, history, conversation, since, until, sources):
        """No model: the answer is the evidence, complete at once; it is streamed in word
        chunks only so that it visibly appears."""
        try:
            filters = _filters(since, until, sources)
            with conversation.lock:
                answer = self.assistant.ask(message, conversation, filters)
        except NewsdeskError as exc:
            error = f"**error:** {render.md_text(str(exc))}"
            history.append({"role": "assistant", "content": error})
            yield "", history, render.EMPTY_SOURCES, conversation
            return
        history.append({"role": "assistant", "content": ""})
        for i, text in enumerate(stream_chunks(render.answer_markdown(answer))):
            history[-1] = {"role": "assistant", "content": text}
            if i == 0:
                yield "", history, render.sources_html(answer), conversation
                continue
            time.sleep(STREAM_PAUSE)
            yield gr.skip(), history, gr.skip(), gr.skip()  # resend only the growing answer

    def _ask_streaming(self, message: str, conversation: Conversation, filters: Filters
                       ) -> Iterator[tuple[str, object]]:
        """("evidence", extractive Answer), then ("delta", text) as the model writes, then
        ("answer", the final Answer).

        `Assistant.ask` calls back with the evidence and each delta; it runs in a worker thread
        so that this generator can hand them to Gradio as they come."""
        events: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work() -> None:
            try:
                with conversation.lock:
                    outcome["answer"] = self.assistant.ask(
                        message, conversation, filters,
                        on_delta=lambda d: events.put(("delta", d)),
                        on_evidence=lambda a: events.put(("evidence", a)))
            except BaseException as exc:  # re-raised in the Gradio worker below
                outcome["error"] = exc
            finally:
                events.put(None)

        threading.Thread(target=work, name="newsdesk-ask", daemon=True).start()
        while (event := events.get()) is not None:
            yield event
        if "error" in outcome:
            raise outcome["error"]
        yield "answer", outcome["answer"]

    @staticmethod
    def reset():
        return "", [], render.EMPTY_SOURCES, None

    def add_files(self, files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - Gradio API
        paths = [str(f) for f in files or []]
        if not paths:
            return gr.skip(), gr.skip(), gr.skip()
        progress(0, desc="Indexing")
        names = {p: Path(p).name for p in paths}
        try:
            report = run_index(self.settings, paths, strict=False, show_progress=True)
        except NewsdeskError as exc:
            return render.error_html(str(exc)), gr.skip(), gr.skip()
        self.assistant.refresh()
        return (render.upload_html(report, paths, names), self.stats_text(),
                gr.Dropdown(choices=self.source_choices()))


def _filters(since: str, until: str, sources) -> Filters:
    since, until = (since or "").strip(), (until or "").strip()
    check_date(since, "Published since:")
    check_date(until, "Published until:")
    return Filters(since, until, tuple(sources or ()))


def _writing(evidence: Answer | None, text: str) -> str:
    """The message while the model writes: its text so far above the evidence."""
    head = (render.answer_body_markdown(text, from_model=True, lead=True) if text.strip()
            else render.WRITING)
    if evidence is None or not evidence.citations:
        return head
    return f"{head}\n\n{render.evidence_markdown(evidence)}"


def stream_chunks(text: str, steps: int = STREAM_STEPS) -> list[str]:
    """Growing prefixes of the text, cut at spaces so no escape or link is ever split."""
    words = text.split(" ")
    size = max(1, -(-len(words) // steps))
    return [" ".join(words[:i]) for i in range(size, len(words), size)] + [text]
