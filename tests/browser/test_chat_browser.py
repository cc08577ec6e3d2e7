"""The web chat, end to end: the real `newsdesk chat` process over a store filled by the real
`newsdesk index`, driven by a real headless Chromium. The pure rendering and access rules are
checked first, without a browser, so a failure there names its cause directly.
"""

from __future__ import annotations

import itertools
import json
import re

import pytest
from support.browser_support import (
    ARTIFACTS,
    BOT,
    CHAT,
    QUESTION,
    SOURCES,
    VIEWPORT,
    ChatServer,
    ask,
    copy_home,
    last_answer,
    screenshot,
)

from assistant.retrieve import Filters
from assistant.types import Answer, Citation
from index.errors import NewsdeskError
from index.settings import Settings

AL_BAB_SENTENCE = ("The town has been besieged since Monday, when government forces advancing "
                   "from the south cut off a road leading into Al-Bab.")
UNANSWERABLE = "What did Angela Merkel say about the Indrani Roy foundation?"

LIBRARY_ARTICLE = {
    "title": "Harbour council approves floating library",
    "source": "Newsdesk Test Wire",
    "published_at": "2024-03-05",
    "url": "https://example.org/port-elsby/floating-library",
    "body": ("The Port Elsby harbour council approved a floating library on Tuesday. "
             "The library barge, named Marginalia, will moor at Pier 4 from June.\n\n"
             "Councillor Ama Quayson said the barge cost 2.4 million euros."),
}
MARKUP_ARTICLE = {
    "title": "Quillmoor <b>board</b> report",
    "source": "Newsdesk Test Wire",
    "published_at": "2024-03-06",
    "url": "https://example.org/quillmoor/report",
    "body": ("The Quillmoor water board said its filter plant logged the string "
             "<script>alert(1)</script> in a public report. Engineers also found <b>bold</b> "
             "tags and <img src=x onerror=\"window.__ndXss=1\"> in the Quillmoor filter plant "
             "log."),
}


# ---- without a browser -----------------------------------------------------------------------


def citation(paragraph: str, sentence: str, span: str = "", number: int = 1,
             url: str = "https://example.org/a") -> Citation:
    start = paragraph.index(sentence)
    span_start = paragraph.index(span, start) if span else None
    return Citation(number=number, text=sentence, article_id="a1", start=100 + start,
                    end=100 + start + len(sentence), title="T <i>x</i>", source="S & Co",
                    published_at="2024-01-02T03:04:05+00:00", url=url, paragraph=paragraph,
                    paragraph_start=100,
                    span_start=None if span_start is None else 100 + span_start,
                    span_end=None if span_start is None else 100 + span_start + len(span))


def test_paragraph_marks_sentence_and_span_and_escapes_markup():
    from ui.chat_render import paragraph_html

    paragraph = "Before <b>x</b>. Forces <script>go</script> took the town. After."
    c = citation(paragraph, "Forces <script>go</script> took the town.", span="the town")
    html = paragraph_html(c)
    assert html == ("Before &lt;b&gt;x&lt;/b&gt;. <mark>Forces &lt;script&gt;go&lt;/script&gt; "
                    'took <strong class="answer-span">the town</strong>.</mark> After.')


def test_source_card_escapes_metadata_and_drops_unsafe_links():
    from ui.chat_render import source_card

    card = source_card(citation("One. Two.", "Two.", url="javascript:alert(1)"))
    assert 'id="src-1"' in card and "T &lt;i&gt;x&lt;/i&gt;" in card and "S &amp; Co" in card
    assert "javascript" not in card and "<a " not in card and "2024-01-02" in card


def test_answer_markdown_links_markers_and_shows_article_text_literally():
    from ui.chat_render import answer_markdown

    c = citation("A *b* <i>c</i> [2] d.", "A *b* <i>c</i> [2] d.")
    answer = Answer("q", "q (about: x)", "A *b* <i>c</i> [2] d. [1]", [c], False)
    md = answer_markdown(answer)
    assert md == ("*Searched for: q (about: x)*\n\n"
                  "A \\*b\\* &lt;i&gt;c&lt;/i&gt; \\[2\\] d. [\\[1\\]](#src-1)")


def test_abstained_answer_names_the_state_and_lists_closest():
    from ui.chat_render import CLOSEST_LABEL, NO_ANSWER_TITLE, answer_markdown, sources_html

    c = citation("Near miss.", "Near miss.")
    answer = Answer("q", "q", "The corpus does not hold an answer to this question. (why)", [],
                    True, closest=[c], abstain_reason="why")
    assert answer_markdown(answer).startswith(f"**{NO_ANSWER_TITLE}.** (why)")
    html = sources_html(answer)
    assert NO_ANSWER_TITLE in html and CLOSEST_LABEL in html and 'id="closest-1"' in html
    assert 'id="src-' not in html and "answer-span" not in html


def test_stream_chunks_grow_to_the_full_text():
    from ui.chat import stream_chunks

    text = " ".join(f"w{i}" for i in range(50))
    chunks = stream_chunks(text)
    assert chunks[-1] == text and len(chunks) <= 9
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(chunks))


def test_filters_are_checked_before_asking():
    from ui.chat import _filters

    assert _filters(" 2023-10-01 ", "", ["BBC"]) == Filters("2023-10-01", "", ("BBC",))
    with pytest.raises(NewsdeskError, match="Published until: 'soon' is not a date"):
        _filters("", "soon", None)


def test_public_host_needs_a_password():
    from ui.chat import launch_options

    with pytest.raises(NewsdeskError, match="without a password"):
        launch_options(Settings(host="0.0.0.0"))
    with pytest.raises(NewsdeskError, match="user:password"):
        launch_options(Settings(host="0.0.0.0", auth="nopassword"))
    assert launch_options(Settings(host="0.0.0.0", auth="ed:s3:cret"))["auth"] == ("ed", "s3:cret")
    assert launch_options(Settings())["auth"] is None
    assert launch_options(Settings(host="localhost"))["server_name"] == "localhost"


# ---- in a real browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat_server(sample_home, tmp_path_factory):
    home = copy_home(sample_home, tmp_path_factory.mktemp("chat") / "home")
    with ChatServer(home, ARTIFACTS / "chat-server.log") as server:
        yield server


@pytest.fixture
def chat(page, chat_server):
    """A fresh session (pytest-playwright gives each test its own browser context)."""
    page.outside_requests = []
    page.on("request", lambda r: None if r.url.startswith((chat_server.url, "data:", "blob:"))
            else page.outside_requests.append(r.url))
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(chat_server.url)
    page.wait_for_selector(QUESTION)
    return page


def upload(page, tmp_path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.set_input_files("#nd-upload input[type=file]", str(path))
    report = page.locator("#nd-upload-report")
    report.locator(".nd-upload-ok, .nd-upload-bad").wait_for(timeout=120_000)
    return report.inner_text()


@pytest.mark.browser
def test_answer_streams_with_citation_and_highlighted_source(chat):
    timing = ask(chat, "Who besieged al-Bab?")
    assert "[1]" in last_answer(chat) and "government forces" in last_answer(chat)
    card = chat.locator(f"{SOURCES} #src-1")
    assert card.locator("mark").inner_text() == AL_BAB_SENTENCE
    assert card.locator("mark strong.answer-span").inner_text() == "government forces"
    # The marker links to its card; a click brings the card into view and leaves the page.
    # The extractive answer leads with the answer span ("Government forces [1].").
    assert last_answer(chat).startswith("Government forces [1]")
    chat.locator(f'{CHAT} a[href="#src-1"]').first.click()
    chat.wait_for_function("() => document.getElementById('src-1').classList.contains('nd-flash')")
    assert "#" not in chat.url
    assert chat.outside_requests == [], "the page must not call anything but its own server"
    screenshot(chat, "chat-answer")
    assert timing.first_text_ms <= timing.complete_ms


@pytest.mark.browser
def test_follow_up_is_searched_in_context_and_new_conversation_forgets(chat, browser):
    ask(chat, "Who besieged al-Bab?")
    ask(chat, "and when did that start?")
    answer = last_answer(chat)
    assert "Searched for:" in answer and "al-Bab" in answer.split("Searched for:")[1]
    assert "[1]" in answer and chat.locator(f"{SOURCES} #src-1 mark").count() == 1
    screenshot(chat, "chat-follow-up")

    # Another browser session has its own conversation: nothing to resolve "that" against.
    other = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        other.goto(chat.url)
        other.wait_for_selector(QUESTION)
        ask(other, "and when did that start?")
        assert "al-Bab" not in last_answer(other)
    finally:
        other.context.close()

    chat.click("#nd-new")
    chat.wait_for_function(f"() => document.querySelectorAll('{BOT}').length === 0")
    assert "Sources appear here" in chat.locator(SOURCES).inner_text()
    ask(chat, "and when did that start?")
    assert "al-Bab" not in last_answer(chat)


@pytest.mark.browser
def test_unanswerable_question_shows_no_evidence_and_closest(chat):
    ask(chat, UNANSWERABLE)
    assert "The corpus does not answer this" in last_answer(chat)
    panel = chat.locator(SOURCES)
    assert "The corpus does not answer this" in panel.inner_text()
    closest = panel.locator(".nd-closest")
    assert closest.count() >= 1 and "closest, not an answer" in closest.first.inner_text()
    assert panel.locator("[id^=src-]").count() == 0
    screenshot(chat, "chat-no-evidence")


@pytest.mark.browser
def test_uploaded_article_is_answerable_at_once(chat, tmp_path):
    stats_before = chat.locator("#nd-stats").inner_text()
    report = upload(chat, tmp_path, "library.jsonl",
                    [json.dumps(LIBRARY_ARTICLE), '{"title": "broken", "body": '])
    assert "1 added" in report and "library.jsonl:2" in report, report
    chat.wait_for_function("(before) => document.querySelector('#nd-stats').innerText !== before",
                           arg=stats_before)
    ask(chat, "What is the name of the library barge in Port Elsby?")
    assert "Marginalia" in last_answer(chat)
    card = chat.locator(f"{SOURCES} #src-1")
    assert "Harbour council approves floating library" in card.inner_text()
    assert "Newsdesk Test Wire" in card.inner_text()
    screenshot(chat, "chat-upload")


@pytest.mark.browser
def test_article_markup_is_shown_as_text(chat, tmp_path):
    report = upload(chat, tmp_path, "markup.jsonl", [json.dumps(MARKUP_ARTICLE)])
    assert "1 added" in report or "1 unchanged" in report, report
    ask(chat, "What did the Quillmoor water board filter plant log?")
    panel = chat.locator(SOURCES).inner_text()
    assert "<script>alert(1)</script>" in panel and "<b>bold</b>" in panel
    assert "Quillmoor <b>board</b> report" in panel
    assert "Quillmoor" in last_answer(chat)
    assert "<script>alert(1)</script>" in last_answer(chat) or "<b>bold</b>" in last_answer(chat)
    injected = chat.evaluate("""() => ({
        scripts: [...document.querySelectorAll('script')]
                     .filter(s => s.textContent.includes('alert(1)')).length,
        tags: document.querySelectorAll('#nd-chat b, #nd-sources b, #nd-chat img[src=x],'
                                        + ' #nd-sources img[src=x]').length,
        xss: window.__ndXss === undefined ? 0 : 1})""")
    assert injected == {"scripts": 0, "tags": 0, "xss": 0}
    assert chat.dialogs == []
    screenshot(chat, "chat-markup-as-text")


@pytest.fixture(scope="module")
def model_chat_server(sample_home, llama_server, tmp_path_factory):
    """The chat with the real llama.cpp server set through the environment, as a user would."""
    home = copy_home(sample_home, tmp_path_factory.mktemp("model-chat") / "home")
    env = {"NEWSDESK_LLM_URL": llama_server.url, "NEWSDESK_LLM_MODEL": llama_server.MODEL,
           "NEWSDESK_LLM_TIMEOUT": "120", "NEWSDESK_ANSWERER": "served"}
    with ChatServer(home, ARTIFACTS / "model-chat-server.log", env=env) as server:
        yield server


@pytest.mark.browser
def test_model_answer_streams_token_by_token_and_cites_only_stored_sentences(
        page, model_chat_server):
    page.goto(model_chat_server.url)
    page.wait_for_selector(QUESTION)
    timing = ask(page, "Who besieged al-Bab?", timeout_ms=240_000)
    final = last_answer(page)
    screenshot(page, "chat-model-answer")
    # Whatever the small model wrote, the proof is the stored sentence, highlighted.
    assert page.locator(f"{SOURCES} #src-1 mark").inner_text() == AL_BAB_SENTENCE
    if "showing the cited sentences instead" in final:  # the model gave nothing usable
        assert "government forces" in final
        return
    # It grew token by token: many distinct states before the verified text replaced them.
    assert len(timing.texts) >= 4, timing.texts
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", final)}
    cards = page.locator(f"{SOURCES} .nd-card").count()
    assert numbers and numbers <= set(range(1, cards + 1)), (final, cards)


@pytest.fixture(scope="module")
def local_chat_server(sample_home, tmp_path_factory):
    """The chat answering with the packaged local model, chosen through the environment."""
    home = copy_home(sample_home, tmp_path_factory.mktemp("local-chat") / "home")
    with ChatServer(home, ARTIFACTS / "local-chat-server.log",
                    env={"NEWSDESK_ANSWERER": "local"}) as server:
        yield server


@pytest.mark.browser
@pytest.mark.slow
def test_local_model_answer_comes_after_the_evidence_and_names_government_forces(
        page, local_chat_server):
    from ui.chat_render import WRITING

    page.goto(local_chat_server.url)
    page.wait_for_selector(QUESTION)
    placeholder = WRITING.strip("*")
    timing = ask(page, "Who besieged al-Bab?", timeout_ms=240_000)
    final = last_answer(page)
    screenshot(page, "chat-local-answer")
    # Evidence first: the sources panel and the cited sentence, with the model still writing.
    first_token = timing.first_ms_without(placeholder)
    assert timing.evidence_ms is not None and first_token is not None, timing
    assert timing.evidence_ms < first_token, timing
    assert any(placeholder in t and AL_BAB_SENTENCE in t for t in timing.texts), timing.texts
    # Then the answer streamed in (several states) and names government forces, citing [1].
    assert len([t for t in timing.texts if placeholder not in t]) >= 3, timing.texts
    lead = final.split("\n")[0].lower()
    assert "government forces" in lead, final
    assert "[1]" in final and AL_BAB_SENTENCE in final
    assert page.locator(f"{SOURCES} #src-1 mark").inner_text() == AL_BAB_SENTENCE
    print(f"\nevidence {timing.evidence_ms:.0f} ms, first answer token {first_token:.0f} ms, "
          f"complete {timing.complete_ms:.0f} ms")


@pytest.mark.browser
@pytest.mark.slow
def test_local_model_answers_a_yes_no_question_yes_or_no_first(page, local_chat_server):
    page.goto(local_chat_server.url)
    page.wait_for_selector(QUESTION)
    ask(page, "Has the town of Al-Bab been besieged since Monday?", timeout_ms=240_000)
    final = last_answer(page)
    screenshot(page, "chat-local-yes-no")
    assert final.split("\n")[0].strip().rstrip(".") in {"Yes", "No"}, final
    assert "[1]" in final
