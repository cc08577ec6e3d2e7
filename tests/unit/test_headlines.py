"""A URL is not a headline: what `index.headlines` derives, and that the loader and the
embedded texts use it. Plain functions and the real JSONL loader; no model needed."""

from __future__ import annotations

import json

from index.headlines import heading_line, headline, is_url, slug_headline
from index.loaders import iter_inputs
from index.types import Article


def test_is_url():
    assert is_url("https://www.example.com/2022/06/12/media/some-story/index.html")
    assert is_url("www.example.com/a")
    assert not is_url("Storm hits the coast")
    assert not is_url("https://example.com/a and more words")


def test_slug_words_skip_files_dates_and_ids():
    assert slug_headline("https://news.example/2022/06/12/media/harbour-bridge-reopens-2/index.html"
                         ) == "Harbour bridge reopens 2"
    assert slug_headline("https://paper.example/story/money/2022/06/11/"
                         "town-library-wins-award/1234567001/"
                         ) == "Town library wins award"
    assert slug_headline("https://site.example/news/city_council_votes_budget.php"
                         ) == "City council votes budget"
    # No segment with two or more words: nothing to derive.
    assert slug_headline("https://site.example/article/12345678") == ""
    assert slug_headline("not a url at all") == ""


def test_headline_keeps_real_titles_and_replaces_urls():
    url = "https://news.example/2022/07/07/europe/prime-minister-resigns/index.html"
    assert headline("Prime minister resigns", url, "Body.") == "Prime minister resigns"
    assert headline(url, url, "Body.") == "Prime minister resigns"
    assert headline("", url, "Body.") == "Prime minister resigns"
    # No usable URL: a heading-like first line, else nothing.
    assert headline("", "", "Council passes budget\n\nThe council voted on Monday.") == \
        "Council passes budget"
    assert headline("", "", "The council voted on Monday. It was close.") == ""


def test_heading_line_rejects_sentences_datelines_and_urls():
    assert heading_line("New York CNN —\n\nText.") == ""
    assert heading_line("https://a.example/b-c-d\nText") == ""
    assert heading_line("\n\n  Storm  closes schools across the state \nText.") == \
        "Storm closes schools across the state"


def test_loader_derives_the_headline_and_keeps_the_url(tmp_path):
    url = "https://news.example/2022/06/12/media/harbour-bridge-reopens-2/index.html"
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"title": url, "url": url, "body": "The show returns.",
                                "source": "news.example"}) + "\n" +
                    json.dumps({"title": "", "url": url + "?v=2", "body": "Another page.",
                                "source": "news.example"}) + "\n", encoding="utf-8")
    articles = [a for a in iter_inputs([path]) if isinstance(a, Article)]
    assert [a.title for a in articles] == ["Harbour bridge reopens 2", "Harbour bridge reopens 2"]
    assert articles[0].url == url
    # Identity still comes from the URL, not from the derived headline.
    assert articles[0].key == "url:" + url
    assert articles[0].key != articles[1].key
