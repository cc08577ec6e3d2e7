"""HTML and Markdown for the web chat, as pure functions of an `Answer`.

Article text is data, never markup: every piece of it passes through `html.escape` (and, in
the chat message, a Markdown escape as well) before it reaches the page, so an article that
holds `<script>` shows those characters and runs nothing.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

from assistant.types import Answer, Citation
from assistant.verify import UNSUPPORTED_MARK
from index.indexer import IndexReport
from index.store import StoreStats

NO_ANSWER_TITLE = "The corpus does not answer this"
CLOSEST_LABEL = "closest, not an answer"
CONTEXT_CHARS = 500  # of the paragraph around a cited sentence; a wall of text helps no one

# The characters that start inline markup (`<`, `>` and `&` go through html.escape first);
# block markup can only start a line, and `md_text` folds line breaks into spaces.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
_BLOCK_START = re.compile(r"^(\s*)(?:([#+\-])|(\d+)([.)]))")
_MARKER = re.compile(r"\[(\d+)\]")

EMPTY_SOURCES = ('<div class="nd-empty">Sources appear here: each cited article, with the '
                 'sentence that proves the answer highlighted.</div>')
SEARCHING = '<div class="nd-empty">Searching the corpus…</div>'
WRITING = "*Writing the answer from the sources…*"


def md_text(text: str) -> str:
    """Text that Markdown shows exactly as written (no tags, links, emphasis or lists)."""
    text = _INLINE_SPECIAL.sub(r"\\\1", escape(re.sub(r"\s+", " ", text), quote=False))
    return _BLOCK_START.sub(_escape_block_start, text)


def _escape_block_start(m: re.Match) -> str:
    if m.group(2):
        return f"{m.group(1)}\\{m.group(2)}"
    return f"{m.group(1)}{m.group(3)}\\{m.group(4)}"


# How a model's sentence that cites no source is flagged (only in a model's answer: an
# article sentence that happens to contain the mark is shown as written).
UNSUPPORTED_MD = "**⚠ \\[unsupported\\]**"
_UNSUPPORTED_ESCAPED = md_text(UNSUPPORTED_MARK)


def cited_markdown(text: str, numbers: set[int] | None = None, from_model: bool = False) -> str:
    """Answer text escaped, its markers linked to their source cards (all markers when
    `numbers` is None: a streamed model answer only ever shows cleaned, valid numbers), and a
    model's sentences that cite nothing visibly flagged."""
    out = []
    for i, piece in enumerate(_MARKER.split(text)):
        if i % 2 == 0:
            piece = md_text(piece)
            out.append(piece.replace(_UNSUPPORTED_ESCAPED, UNSUPPORTED_MD) if from_model
                       else piece)
        elif numbers is None or int(piece) in numbers:
            out.append(f"[\\[{piece}\\]](#src-{piece})")
        else:
            out.append(md_text(f"[{piece}]"))
    return "".join(out)


def answer_body_markdown(text: str, numbers: set[int] | None = None, from_model: bool = False,
                         lead: bool = False) -> str:
    """The answer's paragraphs; with `lead`, the first one (the direct answer) in bold."""
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    out = [cited_markdown(p, numbers, from_model).strip() for p in paragraphs]
    if lead and len(out) > 1:
        out[0] = f"**{out[0]}**"
    return "\n\n".join(out)


def evidence_markdown(answer: Answer) -> str:
    """The cited sentences under a model's answer, each after its marker: the proof stays in
    view while (and after) the answer is written."""
    return "\n".join(f"> [\\[{c.number}\\]](#src-{c.number}) {md_text(c.text)}  "
                     for c in answer.citations)


def answer_markdown(answer: Answer) -> str:
    """The chat message: article sentences escaped, markers as links to their source cards."""
    lines = []
    if answer.standalone_question != answer.question:
        lines.append(f"*Searched for: {md_text(answer.standalone_question).strip()}*")
    if answer.abstained:
        reason = answer.abstain_reason
        lines.append(f"**{NO_ANSWER_TITLE}.**" + (f" ({md_text(reason)})" if reason else ""))
        if answer.closest:
            lines.append(f"The closest sentences are listed beside the chat, marked "
                         f"*{CLOSEST_LABEL}*.")
    else:
        lines.append(answer_body_markdown(answer.text, {c.number for c in answer.citations},
                                          from_model=bool(answer.model),
                                          lead=bool(answer.direct_answer)))
    if answer.notice:
        lines.append(f"*{md_text(answer.notice)}*")
    return "\n\n".join(lines)


def sources_html(answer: Answer) -> str:
    """The cited articles in citation order, or, without evidence, the closest sentences."""
    if answer.abstained:
        head = (f'<div class="nd-no-answer"><strong>{NO_ANSWER_TITLE}.</strong> '
                f'No indexed article supports an answer.</div>')
        if not answer.closest:
            return head
        cards = "".join(source_card(c, closest=True) for c in answer.closest)
        return f'{head}<div class="nd-closest-head">Closest sentences in the corpus</div>{cards}'

    if not answer.citations:
        return EMPTY_SOURCES
    return "".join(source_card(c) for c in answer.citations)


def source_card(c: Citation, closest: bool = False) -> str:
    anchor = f"closest-{c.number}" if closest else f"src-{c.number}"
    badge = CLOSEST_LABEL if closest else f"[{c.number}]"
    title = escape(c.title or "(untitled)")
    url = safe_url(c.url)
    if url:
        title = f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = [escape(c.source or "unknown source"), escape(c.published_at[:10] or "undated")]
    if url:
        meta.append(escape(urlsplit(url).hostname or ""))
    kind = "nd-card nd-closest" if closest else "nd-card"
    return (f'<article class="{kind}" id="{anchor}">'
            f'<div class="nd-card-head"><span class="nd-badge">{escape(badge)}</span> '
            f'<span class="nd-title">{title}</span></div>'
            f'<div class="nd-meta">{" · ".join(m for m in meta if m)}</div>'
            f'<p class="nd-para">{paragraph_html(c, mark_span=not closest)}</p></article>')


def paragraph_html(c: Citation, mark_span: bool = True) -> str:
    """The paragraph with the cited sentence in <mark> and the answer span in <strong>."""
    text, offset = c.paragraph, c.paragraph_start
    start = min(max(c.start - offset, 0), len(text))
    end = min(max(c.end - offset, start), len(text))
    inner = escape(text[start:end])
    if mark_span and c.span_start is not None and c.span_end is not None:
        a, b = c.span_start - offset, c.span_end - offset
        if start <= a < b <= end:
            inner = (escape(text[start:a]) + '<strong class="answer-span">'
                     + escape(text[a:b]) + "</strong>" + escape(text[b:end]))
    before, after = text[:start], text[end:]
    if len(before) > CONTEXT_CHARS:
        before = "…" + before[-CONTEXT_CHARS:].split(" ", 1)[-1]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0] + "…"
    return f"{escape(before)}<mark>{inner}</mark>{escape(after)}"


def safe_url(url: str) -> str:
    """Only web links: a stored `javascript:` URL must never become a clickable link."""
    url = (url or "").strip()
    return url if urlsplit(url).scheme.lower() in {"http", "https"} else ""


def stats_line(stats: StoreStats) -> str:
    if not stats.articles:
        return "The store is empty: add articles with the upload box or `newsdesk index`."
    span = ""
    if stats.first_published and stats.last_published:
        span = f", published {stats.first_published[:10]} to {stats.last_published[:10]}"
    return (f"{_count(stats.articles, 'article')} from {_count(stats.sources, 'source')}, "
            f"{_count(stats.sentences, 'sentence')}{span}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def upload_html(report: IndexReport, files: list[str], names: dict[str, str]) -> str:
    """What an upload did, with one line per problem; `names` maps temp paths to file names."""
    summary = (f"{len(files)} file(s): {report.articles_added} added, "
               f"{report.articles_updated} updated, {report.articles_unchanged} unchanged, "
               f"{report.articles_failed} failed")
    if not report.errors:
        return f'<div class="nd-upload-ok">{escape(summary)}.</div>'
    items = []
    for error in report.errors:
        message = str(error)
        for path, name in names.items():
            message = message.replace(path, name)
        items.append(f"<li>{escape(message)}</li>")
    return (f'<div class="nd-upload-bad">{escape(summary)}; {len(report.errors)} problem(s):'
            f'<ul class="nd-errors">{"".join(items)}</ul></div>')


def error_html(message: str) -> str:
    return f'<div class="nd-upload-bad nd-upload-error">{escape(message)}</div>'
