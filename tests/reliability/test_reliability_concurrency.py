"""Simultaneous chat sessions through the Gradio API while new articles are uploaded.

The short form of `bench/rel_concurrent_chat.py` (same checks, tests/support/chat_load.py): the real
`newsdesk chat` over a private copy of the indexed sample, five sessions of their own asking
known-answer conversations for about 20 s while articles are uploaded through the chat. No
error, no lost question, no answer crossing between sessions, the new articles answered once
indexed, and the store whole afterwards.
"""

from __future__ import annotations

import json

import pytest
from gradio_client import Client
from support.browser_support import ChatServer, copy_home
from support.chat_load import (
    HTTP,
    NEW_ARTICLES,
    SAMPLE_ARTICLES,
    Shown,
    check_own_article,
    check_store,
    load_topics,
    run_load,
    server_problems,
)

SESSIONS = 5
SECONDS = 20
# `newsdesk index` from another process loads its own model (a minute and more on a busy
# 2-core machine), too slow for `make test`; the bench adds articles both ways.
UPLOAD_ONLY = ("upload",)


@pytest.fixture(scope="module")
def chat_home(sample_home, tmp_path_factory):
    return copy_home(sample_home, tmp_path_factory.mktemp("concurrency") / "home")


def test_sessions_and_indexing_do_not_interfere(chat_home, tmp_path):
    server = ChatServer(chat_home, tmp_path / "chat.log")
    server.start()
    try:
        report = run_load(server.url, chat_home, SESSIONS, SECONDS, tmp_path, log=print,
                          index_ways=UPLOAD_ONLY, index_delay=2)
        crossed = _crossing_is_caught(server.url)
    finally:
        server.stop()
    report.server_problems += server_problems(server.log_path.read_text(errors="replace"))
    new = [a for a in NEW_ARTICLES if a.via in UPLOAD_ONLY]
    report.store_problems += check_store(chat_home, SAMPLE_ARTICLES + len(new), new)
    print(report.summary())
    print(json.dumps(report.figures()))

    assert report.answered == len(report.turns) >= SESSIONS * 4, report.summary()
    assert report.problems() == [], report.summary()
    assert report.new_fact_turns >= SESSIONS * len(new), report.summary()
    assert crossed, "an answer about another session's article was not flagged as a crossing"


def _crossing_is_caught(url: str) -> bool:
    """The check itself: session 0's answer, judged as if session 1 had received it."""
    first, second = load_topics(2)
    client = Client(url, verbose=False, httpx_kwargs=dict(HTTP))
    try:
        job = client.submit(first.title, [], "", "", [], api_name="/respond")
        job.result(timeout=120)
        shown = Shown.from_outputs(first.title, job.outputs())
    finally:
        client.close()
    others = {first.word: first.title}
    problem, crossed = check_own_article(second, others, follow_up=False)(shown)
    return bool(problem) and crossed
