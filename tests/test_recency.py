"""The question's date (`as_of`): the time-clue rule, the staleness curve, and a real
assistant over a real store that prefers the page of the question's week only when asked
with a date and a clue."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from assistant.engine import Assistant
from assistant.recency import has_time_clue, parse_as_of, staleness
from index.indexer import Indexer, read_inputs
from index.settings import Settings
from index.store import Store


def test_time_clues():
    assert has_time_clue("Which show was recently green lit for a new season?")
    assert has_time_clue("Which automaker recalled 2.9 million vehicles this week?")
    assert has_time_clue("Who will soon require a common charger?")
    assert not has_time_clue("Who besieged al-Bab?")
    assert not has_time_clue("Which company did Apple buy in 2014?")


def test_parse_as_of():
    assert parse_as_of("2022-06-16") == date(2022, 6, 16)
    assert parse_as_of("2022/06/16") == date(2022, 6, 16)
    assert parse_as_of(None) is None
    with pytest.raises(ValueError):
        parse_as_of("last tuesday")


def _ts(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


def test_staleness_is_zero_near_the_date_and_full_a_year_away():
    as_of = date(2022, 6, 16)
    assert staleness(_ts("2022-06-10"), as_of) == 0.0
    assert staleness(_ts("2022-07-10"), as_of) == 0.0
    assert 0.0 < staleness(_ts("2022-03-01"), as_of) < 1.0
    assert staleness(_ts("2019-06-16"), as_of) == 1.0
    assert staleness(_ts("2023-12-01"), as_of) == 1.0
    assert staleness(None, as_of) == 0.0


def test_as_of_prefers_the_page_of_the_week(tmp_path, embedder):
    old = {"title": "City picks a new fire chief", "url": "https://news.example/old",
           "published_at": "2018-03-02", "source": "news.example",
           "body": "The city council named Maria Lopez as the new fire chief on Thursday. "
                   "She replaces a chief who retired after twenty years."}
    new = {"title": "City names a new fire chief", "url": "https://news.example/new",
           "published_at": "2022-06-14", "source": "news.example",
           "body": "The city council named Daniel Park as the new fire chief on Tuesday. "
                   "He replaces a chief who resigned in May."}
    path = tmp_path / "chiefs.jsonl"
    path.write_text(json.dumps(old) + "\n" + json.dumps(new) + "\n", encoding="utf-8")
    settings = Settings(home=str(tmp_path / "home"), answerer="extractive")
    store = Store(settings)
    articles, errors = read_inputs([path])
    Indexer(store, lambda: embedder, settings.chunk_tokens).run(articles, errors)
    assistant = Assistant(settings, store=store, embedder=embedder)
    question = "Who was recently named the city's new fire chief?"
    dated = assistant.ask(question, as_of="2022-06-16")
    assert "Daniel Park" in dated.citations[0].text
    # The same date in the other year picks the other page: the date decides, not the words.
    assert "Maria Lopez" in assistant.ask(question, as_of="2018-03-05").citations[0].text
    with pytest.raises(ValueError):
        assistant.ask(question, as_of="soon")
