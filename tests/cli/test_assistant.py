"""The assistant with the real model and the real store of the bundled sample corpus."""

from __future__ import annotations

import json

import pytest
from conftest import MULTIHOP_QUERIES, run_cli, run_json

from assistant.engine import Assistant, Conversation
from assistant.retrieve import Filters
from index.settings import Settings

BESIEGED = ("The town has been besieged since Monday, when government forces advancing from the "
            "south cut off a road leading into Al-Bab.")
ABSENT = [
    "What did Angela Merkel say about Brexit?",
    "What is the recipe for lasagna?",
    "Who won the 1998 FIFA World Cup?",
]


@pytest.fixture(scope="module")
def assistant(sample_home):
    return Assistant(Settings(home=str(sample_home), answerer="extractive"))


def dev_queries() -> list[dict]:
    return json.loads(MULTIHOP_QUERIES.read_text(encoding="utf-8"))


def assert_verbatim(answer, assistant) -> None:
    cited = answer.citations + answer.closest
    articles = assistant.store.get_articles(sorted({c.article_id for c in cited}))
    for c in cited:
        text = articles[c.article_id].text
        assert text[c.start:c.end] == c.text
        assert c.paragraph[c.start - c.paragraph_start:c.end - c.paragraph_start] == c.text
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_who_besieged_al_bab_via_the_cli(sample_home):
    out = run_json("ask", "Who besieged al-Bab?", home=sample_home)
    assert out["question"] == out["standalone_question"] == "Who besieged al-Bab?"
    assert out["abstained"] is False
    first = out["citations"][0]
    assert first["number"] == 1 and first["text"] == BESIEGED
    assert first["answer_span"] == "government forces"
    assert first["title"] == "End goal of Turkey in Syria is Raqqa: Tayyip Erdogan"
    assert set(first) >= {"number", "text", "article_id", "start", "end", "title", "source",
                          "published_at", "url", "paragraph", "paragraph_start"}
    assert BESIEGED + " [1]" in out["answer"]
    assert set(out["timings"]) >= {"total_ms", "embed_ms", "rerank_ms"}
    human = run_cli("ask", "Who besieged al-Bab?", home=sample_home, check=True).stdout
    assert "[1] End goal of Turkey in Syria is Raqqa" in human and "government forces" in human


@pytest.fixture(scope="module")
def dev_answers(assistant):
    """Every dev query (and the absent-topic questions) asked once, shared by the tests."""
    cases = [(q["query"], q["question_type"] == "null_query") for q in dev_queries()]
    cases += [(q, True) for q in ABSENT]
    return [(assistant.ask(q), unanswerable) for q, unanswerable in cases]


def test_every_dev_answer_is_verbatim(assistant, dev_answers):
    for answer, _ in dev_answers:
        assert answer.citations or answer.abstained
        assert_verbatim(answer, assistant)


def test_abstains_on_null_queries_and_absent_topics_but_not_on_answerable(assistant,
                                                                          dev_answers):
    null = [a for a, unanswerable in dev_answers if unanswerable]
    answerable = [a for a, unanswerable in dev_answers if not unanswerable]
    assert sum(a.abstained for a in null) / len(null) >= 0.9
    for a in null:
        if a.abstained:
            assert not a.citations and a.closest and "does not hold" in a.text
    assert sum(a.abstained for a in answerable) / len(answerable) <= 0.05
    assert not assistant.ask("Who besieged al-Bab?").abstained


def test_follow_up_is_rewritten_and_answered(assistant):
    conversation = Conversation()
    first = assistant.ask("Who besieged al-Bab?", conversation)
    assert first.citations[0].text == BESIEGED
    second = assistant.ask("and when did that start?", conversation)
    assert second.standalone_question != second.question
    assert "al-Bab" in second.standalone_question
    assert not second.abstained
    assert any("Monday" in c.text or "2014" in c.text for c in second.citations)
    assert len(conversation.turns) == 2


def test_follow_ups_from_stdin_share_one_conversation(sample_home):
    proc = run_cli("ask", "--json", home=sample_home, check=True,
                   stdin="Who besieged al-Bab?\nand when did that start?\n")
    first, second = (json.loads(line) for line in proc.stdout.splitlines() if line.strip())
    assert first["citations"][0]["text"] == BESIEGED
    assert "al-Bab" in second["standalone_question"]


def test_source_and_date_filters(assistant):
    question = "What did Taylor Swift share about her relationship with Travis Kelce?"
    unfiltered = assistant.ask(question)
    assert not unfiltered.abstained
    only = assistant.ask(question, filters=Filters(sources=("CBSSports.com",)))
    assert only.citations and {c.source for c in only.citations} == {"CBSSports.com"}
    window = assistant.ask(question, filters=Filters(since="2023-12-01", until="2023-12-31"))
    assert window.citations
    assert all("2023-12-01" <= c.published_at[:10] <= "2023-12-31" for c in window.citations)
    early = assistant.ask(question, filters=Filters(until="2023-10-01"))
    assert all(c.published_at[:10] <= "2023-10-01" for c in early.citations + early.closest)


def test_cli_filters_and_bad_date(sample_home):
    out = run_json("ask", "What did Taylor Swift share about Travis Kelce?", "--source",
                   "CBSSports.com", home=sample_home)
    assert {c["source"] for c in out["citations"]} <= {"CBSSports.com"}
    bad = run_cli("ask", "anything", "--since", "last tuesday-ish", home=sample_home)
    assert bad.returncode == 1 and "--since" in bad.stderr and "YYYY-MM-DD" in bad.stderr
