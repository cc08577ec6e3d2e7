"""Loaders: every supported format in, clean Articles out, and every bad input a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.dates import date_sort_key, parse_date
from index.loaders import SUPPORTED_SUFFIXES, iter_inputs, load_file
from index.types import Article, LoadError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MULTIHOP = SHARED / "data" / "multihop-rag" / "evidence-articles.jsonl"
AL_BAB = SHARED / "data" / "sample-news" / "al-bab-2017.txt"

MULTIHOP_RECORD = {
    "title": "Kelce and Swift",
    "author": "Nell Geraets",
    "source": "The Age",
    "published_at": "2023-09-26T05:26:05+00:00",
    "category": "entertainment",
    "url": "https://example.com/kelce",
    "body": "In July, Kelce spoke on his podcast.\n\nSwifties were on high alert.",
}

HTML_PAGE = """<!doctype html>
<html><head>
<title>Flood waters rise in Valencia</title>
<meta name="author" content="Ana Ruiz">
<meta property="og:site_name" content="Example News">
<meta name="date" content="2024-10-30">
<link rel="canonical" href="https://example.com/valencia-floods">
</head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<article>
<h1>Flood waters rise in Valencia</h1>
<p>Heavy rain caused flash floods across the Valencia region on Tuesday, leaving streets under
water and cars piled up in the town centres.</p>
<p>Emergency services said more than two hundred people were rescued overnight, and the regional
government opened shelters in schools.</p>
<p>Forecasters expect the rain to ease by Thursday, but warned that rivers would stay high.</p>
</article>
<footer>Copyright 2024 Example News</footer>
</body></html>
"""


def load(path: Path) -> list[Article | LoadError]:
    return list(load_file(path))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def only_error(items: list) -> LoadError:
    assert len(items) == 1 and isinstance(items[0], LoadError), items
    error = items[0]
    assert "\n" not in error.message and "\r" not in error.message
    assert ";" in error.message  # what is wrong; what to do
    return error


# --- formats ---------------------------------------------------------------------------------


def test_jsonl_multihop_schema_loads_every_field(tmp_path):
    path = write(tmp_path, "a.jsonl", "\n" + json.dumps(MULTIHOP_RECORD) + "\n\n")
    [article] = load(path)
    assert isinstance(article, Article)
    assert article.title == "Kelce and Swift"
    assert article.author == "Nell Geraets"
    assert article.source == "The Age"
    assert article.category == "entertainment"
    assert article.url == "https://example.com/kelce"
    assert article.published_at == "2023-09-26T05:26:05+00:00"
    assert article.text == MULTIHOP_RECORD["body"]
    assert article.origin == f"{path}:2"


def test_ndjson_aliases_case_and_types(tmp_path):
    record = {
        "Headline": "Budget passed",
        "CONTENT": "The budget passed on Friday.",
        "date": "March 3, 2024",
        "publisher": {"id": "bbc", "name": "BBC News"},
        "link": "https://example.com/budget",
        "authors": ["A. Smith", "B. Jones", None],
        "section": 7,
        "title": None,
    }
    [article] = load(write(tmp_path, "b.ndjson", json.dumps(record)))
    assert isinstance(article, Article)
    assert article.title == "Budget passed"
    assert article.text == "The budget passed on Friday."
    assert article.published_at == "2024-03-03"
    assert article.source == "BBC News"
    assert article.url == "https://example.com/budget"
    assert article.author == "A. Smith, B. Jones"
    assert article.category == "7"


def test_first_non_empty_alias_wins_and_missing_title_is_fine(tmp_path):
    record = {"body": "  ", "text": "Real text.", "date": "", "published": 1695705965}
    [article] = load(write(tmp_path, "c.jsonl", json.dumps(record)))
    assert article.text == "Real text."
    assert article.title == ""
    assert article.published_at == "2023-09-26T05:26:05+00:00"


@pytest.mark.parametrize(
    "document",
    [
        [MULTIHOP_RECORD, {**MULTIHOP_RECORD, "url": "https://example.com/2"}],
        {"articles": [MULTIHOP_RECORD, {**MULTIHOP_RECORD, "url": "https://example.com/2"}]},
        {"status": "ok", "data": {"Items": [MULTIHOP_RECORD, {**MULTIHOP_RECORD, "url": "x"}]}},
    ],
    ids=["array", "articles-key", "nested-data-items"],
)
def test_json_lists_of_articles(tmp_path, document):
    path = write(tmp_path, "d.json", json.dumps(document, indent=2))
    items = load(path)
    assert [type(item) for item in items] == [Article, Article]
    assert [item.origin for item in items] == [f"{path}:1", f"{path}:2"]
    assert items[0].published_at == "2023-09-26T05:26:05+00:00"


def test_json_single_article(tmp_path):
    path = write(tmp_path, "e.json", json.dumps(MULTIHOP_RECORD))
    [article] = load(path)
    assert article.title == "Kelce and Swift" and article.origin == str(path)


def test_json_bad_items_are_reported_by_item_number(tmp_path):
    document = [MULTIHOP_RECORD, "not an object", {"title": "no text"}]
    path = write(tmp_path, "f.json", json.dumps(document))
    article, not_object, no_text = load(path)
    assert isinstance(article, Article)
    assert (not_object.file, not_object.line) == (str(path), 2)
    assert "item 2" in not_object.message and "string" in not_object.message
    assert (no_text.file, no_text.line) == (str(path), 3)
    assert "item 3" in no_text.message and "body" in no_text.message


def test_json_object_without_articles(tmp_path):
    path = write(tmp_path, "g.json", json.dumps({"status": "ok", "count": 0}))
    error = only_error(load(path))
    assert error.line is None and "articles" in error.message


def test_csv_rows_with_physical_line_numbers(tmp_path):
    long_body = "word " * 40_000  # past csv's default 128 KB field limit
    content = (
        "Title,Body,Date,Source\r\n"
        '"Multi","line one\r\nline two",2024-01-05 10:30,Wire\r\n'
        "\r\n"
        f"Long,{long_body},2024-01-06T08:00:00Z,Wire\r\n"
    )
    path = write(tmp_path, "h.csv", content)
    first, second = load(path)
    assert first.title == "Multi" and first.text == "line one\nline two"
    assert first.published_at == "2024-01-05T10:30:00"
    assert first.source == "Wire" and first.origin == f"{path}:2"
    assert second.origin == f"{path}:5"
    assert second.published_at == "2024-01-06T08:00:00+00:00"
    assert len(second.text) == len(long_body.strip())


def test_plain_text_title_then_body(tmp_path):
    path = write(tmp_path, "i.text", "\n\nThe Title\n\nFirst paragraph.\n\nSecond paragraph.\n")
    [article] = load(path)
    assert article.title == "The Title"
    assert article.text == "First paragraph.\n\nSecond paragraph."
    assert article.origin == str(path)


def test_html_page_text_and_metadata(tmp_path):
    path = write(tmp_path, "j.html", HTML_PAGE)
    [article] = load(path)
    assert isinstance(article, Article), article
    assert article.title == "Flood waters rise in Valencia"
    assert article.author == "Ana Ruiz"
    assert article.source == "Example News"
    assert article.url == "https://example.com/valencia-floods"
    assert article.published_at == "2024-10-30"
    assert article.text.startswith("Heavy rain caused flash floods")
    assert "two hundred people were rescued" in article.text
    assert "\n" in article.text  # paragraphs stay apart
    assert "Copyright" not in article.text and "Home" not in article.text


def test_utf8_bom_is_dropped(tmp_path):
    path = write(tmp_path, "k.csv", "\ufefftitle,text\nT,Body text\n".encode())
    [article] = load(path)
    assert article.title == "T" and article.text == "Body text"


# --- real data -------------------------------------------------------------------------------


def test_real_multihop_corpus_loads_cleanly():
    items = list(iter_inputs([MULTIHOP]))
    errors = [item for item in items if isinstance(item, LoadError)]
    assert errors == []
    assert len(items) == 326
    assert all(item.text and item.published_at.startswith("2023-") for item in items)
    assert len({item.id for item in items}) == 326


def test_real_sample_text_file():
    [article] = list(iter_inputs([AL_BAB]))
    assert article.title == "End goal of Turkey in Syria is Raqqa: Tayyip Erdogan"
    assert article.text and article.origin == str(AL_BAB)


# --- folders ---------------------------------------------------------------------------------


def test_folder_walk_is_sorted_recursive_and_skips_hidden_and_unsupported(tmp_path):
    write(tmp_path, "b/2.txt", "B2\nbody")
    write(tmp_path, "b/1.txt", "B1\nbody")
    write(tmp_path, "a.TXT", "A\nbody")
    write(tmp_path, ".hidden.txt", "H\nbody")
    write(tmp_path, ".git/x.txt", "G\nbody")
    write(tmp_path, "notes.md", "# not an article")
    items = list(iter_inputs([tmp_path]))
    assert [item.title for item in items] == ["A", "B1", "B2"]
    assert items[1].origin == str(tmp_path / "b" / "1.txt")


# --- bad input -------------------------------------------------------------------------------


def test_malformed_jsonl_line_among_good_lines(tmp_path):
    good = json.dumps(MULTIHOP_RECORD)
    path = write(tmp_path, "bad.jsonl", f'{good}\n{{"title": "x" "body": "y"}}\n{good}\n[1, 2]\n')
    items = load(path)
    assert [type(item) for item in items] == [Article, LoadError, Article, LoadError]
    malformed, not_object = items[1], items[3]
    assert (malformed.file, malformed.line) == (str(path), 2)
    assert malformed.message.startswith("malformed JSON (Expecting ',' delimiter at column 15)")
    assert malformed.message.endswith("fix or remove this line")
    assert not_object.line == 4 and "array" in not_object.message
    assert items[2].origin == f"{path}:3"


def test_csv_without_text_column_is_one_error(tmp_path):
    path = write(tmp_path, "bad.csv", "title,date,author\nA,2024-01-01,X\nB,2024-01-02,Y\n")
    error = only_error(load(path))
    assert (error.file, error.line) == (str(path), None)
    assert "no text column" in error.message
    assert "title, date, author" in error.message and "body" in error.message


def test_empty_body(tmp_path):
    path = write(tmp_path, "empty.jsonl", json.dumps({"title": "T", "body": "  \n "}))
    error = only_error(load(path))
    assert (error.file, error.line) == (str(path), 1)
    assert error.message.startswith("empty article text in field 'body';")


def test_missing_text_field_names_accepted_fields(tmp_path):
    path = write(tmp_path, "notext.jsonl", json.dumps({"title": "T", "summary": "S"}))
    error = only_error(load(path))
    assert error.line == 1
    assert "body, text, content, article, story" in error.message and "summary" in error.message


def test_non_utf8_file(tmp_path):
    path = write(tmp_path, "latin.txt", "Caf\u00e9 news\nBody".encode("latin-1"))
    error = only_error(load(path))
    assert (error.file, error.line) == (str(path), None)
    assert error.message == "not valid UTF-8 (byte 0xe9 at offset 3); re-save it as UTF-8"


def test_binary_file(tmp_path):
    path = write(tmp_path, "blob.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    error = only_error(load(path))
    assert error.line is None and error.message.startswith("a binary file, not text;")


def test_empty_file(tmp_path):
    error = only_error(load(write(tmp_path, "empty.json", "  \n")))
    assert "empty file" in error.message


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere.jsonl"
    error = only_error(list(iter_inputs([missing])))
    assert (error.file, error.line) == (str(missing), None)
    assert "no such file or folder" in error.message


def test_explicit_unsupported_suffix(tmp_path):
    path = write(tmp_path, "article.pdf", "%PDF-1.4")
    error = only_error(list(iter_inputs([str(path)])))
    assert (error.file, error.line) == (str(path), None)
    assert "unsupported file type '.pdf'" in error.message and ".jsonl" in error.message


def test_malformed_json_file_points_at_the_line(tmp_path):
    path = write(tmp_path, "lines.json", json.dumps(MULTIHOP_RECORD) + "\n" + json.dumps({}))
    error = only_error(load(path))
    assert error.line == 2 and "Extra data" in error.message and ".jsonl" in error.message


def test_short_csv_row_reports_empty_body(tmp_path):
    path = write(tmp_path, "short.csv", "title,body\nOnly title\nT,Body\n")
    error, article = load(path)
    assert (error.file, error.line) == (str(path), 2)
    assert error.message.startswith("empty article text in field 'body';")
    assert article.origin == f"{path}:3"


def test_text_file_with_only_a_title(tmp_path):
    error = only_error(load(write(tmp_path, "t.txt", "Just a headline\n\n")))
    assert "no article text" in error.message


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-09-26T05:26:05+00:00", "2023-09-26T05:26:05+00:00"),
        ("Tue, 26 Sep 2023 05:26:05 GMT", "2023-09-26T05:26:05+00:00"),
        ("Sept 26, 2023 5pm EST", "2023-09-26T17:00:00-05:00"),
        ("2023-09-26 05:26", "2023-09-26T05:26:00"),
        ("26 September 2023", "2023-09-26"),
        ("  2023-09-26 ", "2023-09-26"),
        ("March 2023", "March 2023"),
        ("last Tuesday", "last Tuesday"),
        ("", ""),
        (None, ""),
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


def test_bad_date_keeps_the_record(tmp_path):
    record = {**MULTIHOP_RECORD, "published_at": " sometime soon "}
    [article] = load(write(tmp_path, "d.jsonl", json.dumps(record)))
    assert article.published_at == "sometime soon"


def test_date_sort_key():
    assert date_sort_key("2023-09-26T05:26:05+00:00") == 1695705965.0
    assert date_sort_key("2023-09-26T07:26:05+02:00") == 1695705965.0
    assert date_sort_key("2023-09-26T05:26:05") == 1695705965.0
    assert date_sort_key("2023-09-26") == 1695686400.0
    assert date_sort_key("March 2023") is None
    assert date_sort_key("") is None


# --- robustness ------------------------------------------------------------------------------


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=2000).map(lambda text: text.encode("utf-8")),
        st.lists(
            st.dictionaries(st.sampled_from(["body", "title", "date", "Text", "x"]),
                            st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=50),
                                      st.lists(st.text(max_size=10), max_size=3))),
            max_size=4,
        ).map(lambda records: "\n".join(json.dumps(r) for r in records).encode()),
    ),
    suffix=st.sampled_from(sorted(SUPPORTED_SUFFIXES)),
)
def test_load_file_never_raises(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    for item in load_file(path):
        assert isinstance(item, Article | LoadError)
        if isinstance(item, LoadError):
            assert "\n" not in item.message and item.file == str(path)
