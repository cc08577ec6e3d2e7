"""Malformed and borderline article files, and the contract every loader must keep on them.

Shared by `bench/rel_fuzz_loaders.py` (10,000+ inputs) and `tests/test_reliability_fuzz.py`
(the short run inside `make test`), so both check the same things.

Each generated `Case` is the bytes of one file plus, where the outcome is knowable without
re-implementing the loader, an oracle: for each record (by line, CSV start line or JSON item
number) whether it must load as an article (and with which text), must be an error, or may be
either. Inputs whose outcome depends on a third-party parser (trafilatura, a byte flipped into a
JSON string) carry no oracle and are held to the general contract only:
- nothing is raised;
- every error is one line, names the file (and the line for a record-level problem) and says
  what to do after a ";";
- every article has normalised text and sentences that are exact, trimmed, ordered spans of it
  that together lose no visible character.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from index.articles import normalise_text
from index.environment import offline_env
from index.fields import TEXT_FIELDS
from index.indexer import read_inputs
from index.loaders import LIST_KEYS, iter_inputs
from index.sentences import split_sentences
from index.types import Article, LoadError

FORMATS = ("jsonl", "json", "csv", "txt", "html")
SUFFIXES = {
    "jsonl": (".jsonl", ".ndjson", ".JSONL"),
    "json": (".json", ".JSON"),
    "csv": (".csv",),
    "txt": (".txt", ".text"),
    "html": (".html", ".htm"),
}
LINE_BASED = {"jsonl", "csv", "json"}
ARTICLE, ERROR, EITHER = "article", "error", "either"
ANY_LINE = -1  # an Expect line meaning "one file-level error, at whatever line it names"
BINARY_PROBE = 8192
NEVER_UTF8 = [bytes([b]) for b in (0xC0, 0xC1, 0xF5, 0xF8, 0xFE, 0xFF)]


@dataclass(frozen=True)
class Expect:
    """What one record must become: `line` is where the loader reports it (None: the file)."""

    line: int | None
    outcome: str
    text: str | None = None  # the article text, when outcome is ARTICLE
    says: str | None = None  # a phrase the error must contain


@dataclass(frozen=True)
class Case:
    fmt: str
    suffix: str
    data: bytes
    expect: tuple[Expect, ...] | None  # None: the general contract only
    kind: str  # which generator made it, for failure reports
    name: str = "input"  # the file name without its suffix


@dataclass
class Outcome:
    """What one input gave: the loader's items, and every broken promise found in them."""

    articles: list[Article] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --- text pieces ------------------------------------------------------------------------------

SENTENCES = [
    "The council met on Monday.", "Dr. Smith said inflation rose 3.5 percent in Jan. 2017.",
    "\"We will not stop,\" she said.", "Officials at the U.N. declined to comment!",
    "Is this the end?", "Rain fell (heavily) across the region...", "Prices: $4.99, €5, ¥600.",
    "Émile Zola wrote «J'accuse».", "北京市今天下雨。", "Он сказал: «Нет».", "e.g. this one",
]
ODD_CHARS = "\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\xa0\u2028\u2029\ufeff\u200b\U0001f600\\\"'<>&,;{}[]"


def _visible(text: str) -> bool:
    return bool(text.strip())


prose = st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=6).map(" ".join)
noisy = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
                max_size=80)
odd = st.text(alphabet=st.sampled_from(list(ODD_CHARS) + list("ab. ")), max_size=40)
# Long but cheap to split: sentence splitting is the slow part of loading, so the huge body
# is one long run of words, and the really huge values go in fields that are not split.
huge_body = st.integers(2_000, 12_000).map(lambda n: "word " * n)
huge_field = st.integers(20_000, 200_000).map(lambda n: "x" * n)
small_body = st.one_of(prose, noisy.filter(_visible), odd.filter(_visible),
                       st.tuples(prose, odd, prose).map("".join))
body_text = st.one_of(small_body, small_body, huge_body)
blank_text = st.sampled_from(["", " ", "\t", "\n\n", "\r\n", " \u2028 ", "\xa0", "\x1c"])


def key_variant(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.upper(), name.title(), f" {name} "])


def _json_value(depth: int = 2) -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), noisy)
    if depth == 0:
        return scalars
    inner = _json_value(depth - 1)
    return st.one_of(scalars, st.lists(inner, max_size=3),
                     st.dictionaries(noisy, inner, max_size=3))


junk_value = _json_value()
# Any value a field other than the body may hold: nothing there may turn an article into an error.
side_value = st.one_of(junk_value, huge_field, st.sampled_from([
    "2023-02-30", "99999-01-01", "0000", "now", "yesterday 5pm EST", "1e400", "2023-09-26T05:26Z",
    "Mon, 25 Nov 2024 10:00:00 +0100", "31/12/1999", "\x00", "NaN",
]), st.sampled_from([1e308, -1e308, 1e15, -62135596801, 253402300800, 1.5e11, 0]))
SIDE_FIELDS = ["title", "headline", "date", "published_at", "pubdate", "source", "publisher",
               "url", "link", "author", "authors", "byline", "category", "section"]
extra_fields = st.dictionaries(
    st.one_of(st.sampled_from(SIDE_FIELDS).flatmap(key_variant),
              noisy.map(lambda k: "x_" + k)),  # prefixed: never a text or list key
    side_value, max_size=5)


# --- one record (a JSON object) with its expected outcome ------------------------------------

@st.composite
def valid_body(draw) -> tuple[object, str]:
    """A body value the loader must accept, with the article text it must become."""
    kind = draw(st.sampled_from(["string", "list", "number", "named"]))
    if kind == "string":
        text = draw(body_text)
        return text, normalise_text(text)
    if kind == "list":
        parts = draw(st.lists(st.one_of(body_text, blank_text), min_size=1, max_size=4)
                     .filter(lambda ps: any(_visible(p) for p in ps)))
        return parts, normalise_text("\n\n".join(p.strip() for p in parts if _visible(p)))
    if kind == "number":
        number = draw(st.integers())
        return number, str(number)
    text = draw(body_text)
    return {"name": text, "id": draw(junk_value)}, normalise_text(text)


bad_body = st.one_of(
    blank_text, st.none(), st.just(float("nan")), st.just(float("inf")), st.just([]),
    st.just({}), st.just([None, " "]), st.lists(st.lists(noisy, min_size=1), min_size=1),
    st.dictionaries(st.sampled_from(["id", "value", "html"]), junk_value, max_size=2),
    st.just({"name": 5}),
)


@st.composite
def record(draw) -> tuple[dict, str, str | None]:
    """(object, outcome, text): a valid article, a bad one, or one with no text field at all."""
    fields = draw(extra_fields)
    outcome = draw(st.sampled_from([ARTICLE, ARTICLE, ERROR, "missing"]))
    if outcome == "missing":
        return fields, ERROR, None
    body_key = draw(st.sampled_from(TEXT_FIELDS).flatmap(key_variant))
    if outcome == ARTICLE:
        value, text = draw(valid_body())
        return {**fields, body_key: value}, ARTICLE, text
    return {**fields, body_key: draw(bad_body)}, ERROR, None


def dump(value: object, draw) -> str:
    return json.dumps(value, ensure_ascii=draw(st.booleans()))


def _json_outcome(line: str) -> str:
    """How a non-record line must load: an error unless it happens to be an object."""
    try:
        parsed = json.loads(line)
    except (ValueError, RecursionError):
        return ERROR
    return EITHER if isinstance(parsed, dict) else ERROR


@st.composite
def junk_line(draw) -> str:
    """A line that is not a valid article record: broken, non-object or hostile JSON."""
    rec, _, _ = draw(record())
    full = json.dumps(rec)
    line = draw(st.one_of(
        st.integers(1, max(1, len(full) - 1)).map(lambda n: full[:n]),  # truncated
        st.just(full[:-1] + ",}"), st.just(full.replace('"', "'")),  # trailing comma, quotes
        junk_value.map(json.dumps).filter(lambda s: not s.startswith("{")),  # not an object
        st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
        st.integers(50_000, 200_000).map(lambda n: "[" * n),  # nested past the recursion limit
        st.integers(4_400, 20_000).map(lambda n: '{"body": "x", "n": ' + "9" * n + "}"),
        st.sampled_from(["NaN", "undefined", "// comment", "{body: 'x'}", "\ufeff{}", "}{"]),
        noisy,
    ))
    return line.replace("\n", " ")


def _encode(text: str, draw) -> bytes:
    bom = codecs.BOM_UTF8 if draw(st.booleans()) else b""
    return bom + text.encode("utf-8")


def _is_blank_file(text: str) -> bool:
    return not text.strip()


def _empty_file(fmt: str, suffix: str, kind: str) -> Case:
    return Case(fmt, suffix, b"", (Expect(None, ERROR, says="empty file"),), kind)


# --- JSONL -------------------------------------------------------------------------------------

@st.composite
def jsonl_case(draw) -> Case:
    suffix = draw(st.sampled_from(SUFFIXES["jsonl"]))
    lines, expect = [], []
    for _ in range(draw(st.integers(0, 8))):
        choice = draw(st.sampled_from(["record", "record", "junk", "blank"]))
        number = len(lines) + 1
        if choice == "record":
            rec, outcome, text = draw(record())
            lines.append(dump(rec, draw))
            expect.append(Expect(number, outcome, text))
        elif choice == "junk":
            line = draw(junk_line())
            lines.append(line)
            if _visible(line):
                expect.append(Expect(number, _json_outcome(line)))
        else:
            lines.append(draw(st.sampled_from(["", " ", "\t", "\r", " \x1c "])))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    text += draw(st.sampled_from(["", "\n", "\r\n", "\n\n"]))
    if _is_blank_file(text):
        return _empty_file("jsonl", suffix, "jsonl-blank")
    return Case("jsonl", suffix, _encode(text, draw), tuple(expect), "jsonl-records")


# --- JSON --------------------------------------------------------------------------------------

@st.composite
def json_items(draw) -> tuple[list, list[Expect]]:
    items, expect = [], []
    for number in range(1, draw(st.integers(0, 6)) + 1):
        if draw(st.integers(0, 3)) == 0:
            item = draw(junk_value.filter(lambda v: not isinstance(v, dict)))
            items.append(item)
            expect.append(Expect(number, ERROR, says=f"item {number}"))
        else:
            rec, outcome, text = draw(record())
            items.append(rec)
            expect.append(Expect(number, outcome, text))
    return items, expect


@st.composite
def json_case(draw) -> Case:
    suffix = draw(st.sampled_from(SUFFIXES["json"]))
    shape = draw(st.sampled_from(["array", "wrapped", "nested", "single", "scalar", "no-list",
                                  "truncated", "jsonl-in-json", "deep", "huge-int"]))
    expect: list[Expect]
    if shape in ("array", "wrapped", "nested"):
        items, expect = draw(json_items())
        document: object = items
        if shape != "array":
            document = {draw(st.sampled_from(LIST_KEYS).flatmap(key_variant)): items,
                        "status": "ok", "totalResults": len(items)}
        if shape == "nested":
            document = {"data": document}
        text = dump(document, draw)
    elif shape == "single":
        rec, outcome, body = draw(record())
        text = dump(rec, draw)
        expect = [Expect(None, outcome, body)]
    elif shape == "scalar":
        text = json.dumps(draw(junk_value.filter(lambda v: not isinstance(v, dict | list))))
        expect = [Expect(None, ERROR, says="not articles")]
    elif shape == "no-list":
        text = json.dumps({"status": "ok", "count": 3, "articles": "none"})
        expect = [Expect(None, ERROR, says="neither an article")]
    elif shape == "truncated":
        full = json.dumps(draw(json_items())[0] or [{"body": "x"}])
        text = full[:draw(st.integers(1, len(full) - 1))]
        expect = [Expect(ANY_LINE, ERROR, says="malformed JSON")]
    elif shape == "jsonl-in-json":
        recs = draw(st.lists(record(), min_size=2, max_size=3))
        text = "\n".join(json.dumps(r) for r, _, _ in recs)
        expect = [Expect(2, ERROR, says=".jsonl")]
    elif shape == "deep":
        text = "[" * draw(st.integers(50_000, 200_000))
        expect = [Expect(ANY_LINE, ERROR)]
    else:
        text = "[" + "9" * draw(st.integers(4_400, 20_000)) + "]"
        expect = [Expect(None, ERROR, says="unreadable JSON")]
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n"])))
    if _is_blank_file(text):
        return _empty_file("json", suffix, "json-blank")
    return Case("json", suffix, _encode(text, draw), tuple(expect), f"json-{shape}")


# --- CSV ---------------------------------------------------------------------------------------

def _physical_lines(text: str) -> int:
    """Line breaks as csv counts them when read with newline="" (\\r\\n, \\r or \\n)."""
    return len(re.findall(r"\r\n|\r|\n", text))


cell_text = st.one_of(noisy, prose, odd)


@st.composite
def csv_case(draw) -> Case:
    suffix = draw(st.sampled_from(SUFFIXES["csv"]))
    others = draw(st.lists(st.sampled_from(SIDE_FIELDS + ["x_id", "x_notes", ""]), max_size=4))
    has_text = draw(st.integers(0, 5)) > 0
    header = list(others)
    body_at = draw(st.integers(0, len(header))) if has_text else None
    if body_at is not None:
        header.insert(body_at, draw(st.sampled_from(TEXT_FIELDS).flatmap(key_variant)))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    # csv.writer quotes a "\r" only when it is part of the line terminator.
    quoting = csv.QUOTE_MINIMAL if terminator == "\r\n" and draw(st.booleans()) else csv.QUOTE_ALL
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator, quoting=quoting)
    writer.writerow(header)
    expect = []
    for _ in range(draw(st.integers(0, 6))):
        cells = [draw(cell_text) for _ in header]
        if body_at is not None:
            cells[body_at] = draw(st.one_of(small_body, blank_text))
        if draw(st.integers(0, 4)) == 0:  # ragged: short or long
            cells = cells[:draw(st.integers(0, len(cells)))] + draw(st.lists(cell_text,
                                                                              max_size=2))
        start = _physical_lines(out.getvalue()) + 1
        writer.writerow(cells)
        if not any(_visible(c) for c in cells):
            continue
        body = cells[body_at] if body_at is not None and body_at < len(cells) else ""
        expect.append(Expect(start, ARTICLE, normalise_text(body)) if _visible(body)
                      else Expect(start, ERROR, says="empty article text"))
    text = out.getvalue()
    if not has_text:
        expect = [Expect(None, ERROR, says="no text column")]
    if _is_blank_file(text):
        return _empty_file("csv", suffix, "csv-blank")
    return Case("csv", suffix, _encode(text, draw), tuple(expect), "csv-rows")


@st.composite
def csv_broken_case(draw) -> Case:
    """Hand-broken quoting and ragged text that csv.writer would never produce."""
    suffix = draw(st.sampled_from(SUFFIXES["csv"]))
    header = draw(st.sampled_from(["body", "title,body", "Title;Text", "\"body", "body,\"x",
                                   "id,content,,content", ",,,", "\"\"\"body\"\"\""]))
    rows = draw(st.lists(st.one_of(
        cell_text.map(lambda t: t.replace("\n", " ")),
        st.sampled_from(['"unterminated, quote', 'a"b"c,d', '"x""y",z', ',,,,,,', '"',
                         '"a"b', 'title,"multi\nline body"', '\t', ' , , ']),
    ), max_size=6))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join([header, *rows])
    if _is_blank_file(text):
        return _empty_file("csv", suffix, "csv-broken-blank")
    return Case("csv", suffix, _encode(text, draw), None, "csv-broken")


# --- TXT ---------------------------------------------------------------------------------------

@st.composite
def txt_case(draw) -> Case:
    suffix = draw(st.sampled_from(SUFFIXES["txt"]))
    # A title of only U+FEFF and spaces would open the file with what is, byte for byte, a BOM.
    title = draw(st.one_of(prose, noisy, huge_field).map(lambda t: re.sub(r"[\r\n]", " ", t))
                 .filter(lambda t: _visible(t.replace("\ufeff", ""))))
    body = draw(st.one_of(body_text, blank_text))
    lead = draw(st.sampled_from(["", "\n", "\r\n\r\n", "  \n\t"]))
    text = lead + title + draw(st.sampled_from(["\n", "\r\n", "\r", "\n\n"])) + body
    if _visible(body):
        expect = Expect(None, ARTICLE, normalise_text(body))
    else:
        expect = Expect(None, ERROR, says="only a title line")
    return Case("txt", suffix, _encode(text, draw), (expect,), "txt-title-body")


# --- HTML --------------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


html_piece = st.one_of(
    prose.map(lambda t: f"<p>{_escape(t)}</p>"), noisy.map(_escape), prose,
    st.sampled_from([
        "<p>unclosed paragraph", "</div></div>", "<script>var x = '</p>';", "<script>",
        "</script>", "<style>p { color: red }</style>", "<!-- a comment", "-->", "<![CDATA[x]]>",
        "<h1>Headline</h1>", "<nav><a href='/'>Home</a></nav>", "<table><tr><td>1</td>",
        "&amp;&nbsp;&#xFFFF;&#0;&bogus;", "<p></p>", "<br/><br/>", "<img src=x onerror=1>",
        "<meta name='date' content='2023-02-30'>", "<title>T</title>", "<?xml version='1.0'?>",
        "<svg><p>inside svg</p></svg>", "<p>" + "long paragraph text " * 500 + "</p>",
    ]),
)


@st.composite
def html_case(draw) -> Case:
    suffix = draw(st.sampled_from(SUFFIXES["html"]))
    shape = draw(st.sampled_from(["page", "page", "fragment", "no-body", "tags-only"]))
    pieces = "".join(draw(st.lists(html_piece, max_size=12)))
    if shape == "page":
        title = _escape(draw(st.one_of(prose, noisy)))
        text = (f"<!doctype html><html><head><title>{title}</title></head><body>"
                f"<article>{pieces}</article></body></html>")
    elif shape == "fragment":
        text = pieces
    elif shape == "no-body":
        text = f"<html><head><title>{_escape(draw(prose))}</title></head></html>"
    else:
        tags = draw(st.lists(st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<span/>",
                                              "<br>", "<html>", "<body>"]), max_size=10))
        text = "<html><body>" + "".join(tags) + "</body></html>"
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n"])))
    if shape == "tags-only":
        expect: tuple[Expect, ...] | None = (Expect(None, ERROR),)
    else:
        expect = (Expect(None, EITHER),)
    return Case("html", suffix, _encode(text, draw), expect, f"html-{shape}")


# --- byte-level damage, any format -------------------------------------------------------------

@st.composite
def damaged(draw, base: st.SearchStrategy[Case]) -> Case:
    """A valid-shaped case hurt at the byte level; some damage has a known outcome."""
    case = draw(base)
    data = case.data
    how = draw(st.sampled_from(["bad-utf8", "nul-early", "truncate", "flip", "latin1", "utf16",
                                "double-bom", "binary", "empty", "whitespace"]))
    at = draw(st.integers(0, len(data)))
    expect: tuple[Expect, ...] | None = None
    if how == "bad-utf8":
        data = data[:at] + draw(st.sampled_from(NEVER_UTF8)) + data[at:]
        expect = None if b"\x00" in data[:BINARY_PROBE] else (Expect(None, ERROR, says="UTF-8"),)
    elif how == "nul-early":
        at = min(at, BINARY_PROBE - 1)
        data = data[:at] + b"\x00" + data[at:]
        expect = (Expect(None, ERROR, says="binary"),)
    elif how == "truncate":
        data = data[:at]
    elif how == "flip" and data:
        at = min(at, len(data) - 1)
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    elif how == "latin1":
        data = data.decode("utf-8", "replace").encode("latin-1", "replace")
    elif how == "utf16":
        data = data.decode("utf-8", "replace").encode(draw(st.sampled_from(["utf-16",
                                                                            "utf-16-le"])))
    elif how == "double-bom":
        data = codecs.BOM_UTF8 + codecs.BOM_UTF8 + data
    elif how == "binary":
        data = draw(st.binary(max_size=3000))
    elif how == "empty":
        data, expect = b"", (Expect(None, ERROR, says="empty file"),)
    elif how == "whitespace":
        data = draw(st.sampled_from([b" ", b"\n\n\n", b"\r\n\t ", codecs.BOM_UTF8 + b"\n"]))
        expect = (Expect(None, ERROR, says="empty file"),)
    return Case(case.fmt, case.suffix, data, expect, f"{case.kind}+{how}")


_BASES = {
    "jsonl": jsonl_case(),
    "json": json_case(),
    "csv": st.one_of(csv_case(), csv_broken_case()),
    "txt": txt_case(),
    "html": html_case(),
}


# File names a user may have: spaces, other scripts, quotes, a colon, and line breaks, which
# must not break an error's one line.
FILE_NAMES = ["input", "input", "input", "with space", "ünïcødé-记事", "quote'\"", "a:1",
              "tab\there", "new\nline", "cr\rname", "-dash", "x" * 200]


def cases(fmt: str) -> st.SearchStrategy[Case]:
    """Every kind of input for one format: about one in three is damaged at the byte level."""
    base = _BASES[fmt]
    return st.builds(dataclasses.replace, st.one_of(base, base, damaged(base)),
                     name=st.sampled_from(FILE_NAMES))


_small_record = record().filter(lambda r: r[1] != ARTICLE or len(r[2]) < 400)
_small_article = _small_record.filter(lambda r: r[1] == ARTICLE)


@st.composite
def mixed_file(draw) -> Case:
    """A small JSONL file of valid and malformed records, cheap to embed, for the store runs;
    it always holds at least one valid article, so every run writes something."""
    lines = [dump(draw(_small_article)[0], draw)]
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            lines.append(dump(draw(_small_record)[0], draw))
        else:
            lines.append(draw(junk_line().filter(lambda s: len(s) < 2000)))
    lines = draw(st.permutations(lines))
    return Case("jsonl", ".jsonl", "\n".join(lines).encode(), None, "store-mixed")


# --- the contract ------------------------------------------------------------------------------

def check_case(case: Case, folder: Path, prefix: str = "") -> Outcome:
    """Write the case to a file, load it the way `newsdesk index` does, and judge the result."""
    path = folder / f"{prefix}{case.name}{case.suffix}"
    path.write_bytes(case.data)
    outcome = Outcome()
    try:
        items = list(iter_inputs([path]))
    except Exception as exc:  # noqa: BLE001 - exactly what this check exists to catch
        outcome.problems.append(f"raised {type(exc).__name__}: {str(exc)[:200]}")
        return outcome
    finally:
        path.unlink(missing_ok=True)
    for item in items:
        if isinstance(item, LoadError):
            outcome.errors.append(item)
            outcome.problems += error_problems(item, str(path))
        elif isinstance(item, Article):
            outcome.articles.append(item)
            outcome.problems += article_problems(item, str(path), case.fmt)
        else:
            outcome.problems.append(f"yielded a {type(item).__name__}")
    outcome.problems += shape_problems(items, case.fmt)
    if case.expect is not None:
        outcome.problems += oracle_problems(items, case.expect, str(path))
    return outcome


def error_problems(error: LoadError, shown: str) -> list[str]:
    rendered = str(error)
    problems = []
    if len(rendered.splitlines()) != 1 or "\n" in rendered or "\r" in rendered:
        problems.append(f"error is not one line: {rendered[:200]!r}")
    if error.file not in (shown, _escaped(shown)):
        problems.append(f"error names {error.file!r}, not the file {shown!r}")
    if error.line is not None and (not isinstance(error.line, int) or error.line < 1):
        problems.append(f"error line {error.line!r} is not a positive line number")
    what, _, todo = error.message.rpartition(";")
    if not what.strip() or not todo.strip():
        problems.append(f"error does not say what is wrong; what to do: {error.message[:200]!r}")
    if len(rendered) > len(shown) + 700:
        problems.append(f"error is {len(rendered)} characters long: {rendered[:200]!r}")
    return problems


def _escaped(name: str) -> str:
    """How an error must show a file name holding a line break or tab: escaped, on one line."""
    return name.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def article_problems(article: Article, shown: str, fmt: str) -> list[str]:
    problems = []
    if fmt in ("jsonl", "csv") and not article.origin.startswith(shown + ":"):
        problems.append(f"article origin {article.origin!r} names no line")
    elif not article.origin.startswith(shown):
        problems.append(f"article origin {article.origin!r} is not the file")
    if not article.text or article.text != normalise_text(article.text):
        problems.append(f"article text not normalised: {article.text[:80]!r}")
    if article.title != " ".join(article.title.split()):
        problems.append(f"title not one line: {article.title[:80]!r}")
    if not re.fullmatch(r"[0-9a-f]{20}", article.id) or not article.key:
        problems.append(f"bad identity {article.id!r} {article.key[:80]!r}")
    return problems + sentence_problems(article)


def sentence_problems(article: Article) -> list[str]:
    """The sentences of an article are exact, trimmed, ordered spans that lose no text."""
    text = article.text
    sentences = split_sentences(text, article.id)
    cursor = 0
    for number, sentence in enumerate(sentences):
        piece = article.sentence_text(sentence)
        where = f"sentence {number} [{sentence.start}:{sentence.end}]"
        if sentence.index != number or sentence.article_id != article.id:
            return [f"{where} numbered {sentence.index} of {sentence.article_id!r}"]
        if not cursor <= sentence.start < sentence.end <= len(text):
            return [f"{where} out of order or out of range (cursor {cursor}, len {len(text)})"]
        if piece != piece.strip() or "\n" in piece:
            return [f"{where} not a trimmed single-paragraph span: {piece[:80]!r}"]
        if _visible(text[cursor:sentence.start]):
            return [f"{where}: text before it is in no sentence: "
                    f"{text[cursor:sentence.start][:80]!r}"]
        cursor = sentence.end
    if _visible(text[cursor:]):
        return [f"text after the last sentence is in none: {text[cursor:][:80]!r}"]
    return []


def shape_problems(items: list, fmt: str) -> list[str]:
    """A file-level error (line None, in a line-based format) is the only thing yielded."""
    if fmt in ("txt", "html") and len(items) != 1:
        return [f"a {fmt} file gave {len(items)} items, not one"]
    if fmt in ("jsonl", "csv"):
        lineless = [i for i in items if isinstance(i, LoadError) and i.line is None]
        if lineless and len(items) > 1:
            return [f"file-level error beside {len(items) - 1} other items: {lineless[0]}"]
    return []


def _line_of(item: Article | LoadError, shown: str) -> int | None:
    if isinstance(item, LoadError):
        return item.line
    rest = item.origin[len(shown):]
    return int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None


def oracle_problems(items: list, expect: tuple[Expect, ...], shown: str) -> list[str]:
    """Each expected record matches exactly one item at its line, and nothing else came out."""
    if len(expect) == 1 and expect[0].line == ANY_LINE:
        wanted = expect[0]
        if len(items) != 1 or not isinstance(items[0], LoadError):
            return [f"expected one file error, got {_summary(items)}"]
        return _says(items[0], wanted)
    if len(items) != len(expect):
        return [f"expected {len(expect)} items at {[e.line for e in expect]}, got "
                f"{_summary(items)}"]
    by_line: dict[int | None, list] = {}
    for item in items:
        by_line.setdefault(_line_of(item, shown), []).append(item)
    problems = []
    for wanted in expect:
        found = by_line.get(wanted.line, [])
        if len(found) != 1:
            problems.append(f"line {wanted.line}: expected one {wanted.outcome}, got "
                            f"{_summary(found)}")
            continue
        problems += _matches(found[0], wanted)
    return problems


def _matches(item: Article | LoadError, wanted: Expect) -> list[str]:
    if wanted.outcome == ERROR and not isinstance(item, LoadError):
        return [f"line {wanted.line}: expected an error, got an article {item.text[:60]!r}"]
    if wanted.outcome == ARTICLE:
        if not isinstance(item, Article):
            return [f"line {wanted.line}: expected an article, got error {item}"]
        if item.text != wanted.text:
            return [f"line {wanted.line}: article text {item.text[:60]!r} != expected "
                    f"{(wanted.text or '')[:60]!r}"]
    return _says(item, wanted) if isinstance(item, LoadError) else []


def _says(error: LoadError, wanted: Expect) -> list[str]:
    if wanted.says and wanted.says.lower() not in error.message.lower():
        return [f"error {error} does not say {wanted.says!r}"]
    return []


def _summary(items: list) -> str:
    parts = [f"error@{i.line}: {i.message[:60]}" if isinstance(i, LoadError)
             else f"article@{i.origin.rsplit(':', 1)[-1]}" for i in items]
    return "[" + "; ".join(parts) + "]" if parts else "nothing"


# --- the store: before + exactly the valid articles --------------------------------------------

NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))


def stored_form(article: Article) -> tuple:
    """An article as `store_snapshot.snapshot` shows it, sentences split as the indexer does."""
    offsets = tuple((s.start, s.end) for s in split_sentences(article.text, article.id))
    return article.key, article.title, article.text, offsets


def index_cli(path: Path, home: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """The real `newsdesk index` on one file, in its own process, as a user would run it."""
    env = offline_env(NEWSDESK_HOME=str(home))
    return subprocess.run([NEWSDESK, "index", str(path), "--json"], capture_output=True,
                          text=True, env=env, timeout=timeout)


def store_problems(case: Case, folder: Path, home: Path, name: str) -> tuple[list[str], int]:
    """Index one mixed file with the CLI; the store must change by exactly its valid articles.

    Returns the problems and the number of valid articles the file held. An article whose key
    is already stored replaces that version (the documented update rule), so the expected store
    is the old one minus those keys plus the new articles.
    """
    from store_snapshot import snapshot

    path = folder / f"{name}{case.suffix}"
    path.write_bytes(case.data)
    articles, errors = read_inputs([path])
    before = snapshot(home)
    proc = index_cli(path, home)
    after = snapshot(home)
    problems = _cli_problems(proc, errors, len(articles))
    new_keys = {a.key for a in articles}
    expected = {aid: v for aid, v in before["articles"].items() if v[0] not in new_keys}
    expected.update({a.id: stored_form(a) for a in articles})
    if after["articles"] != expected:
        missing = sorted(set(expected) - set(after["articles"]))
        extra = sorted(set(after["articles"]) - set(expected))
        changed = sorted(k for k in set(expected) & set(after["articles"])
                         if expected[k] != after["articles"][k])
        problems.append(f"store articles differ: missing {missing}, extra {extra}, "
                        f"changed {changed}")
    problems += _chunk_problems(before, after, expected, {a.id: a for a in articles})
    return problems, len(articles)


def _cli_problems(proc: subprocess.CompletedProcess, errors: list[LoadError],
                  valid: int) -> list[str]:
    problems = []
    want_code = 1 if errors else 0
    if proc.returncode != want_code:
        problems.append(f"exit code {proc.returncode}, expected {want_code}: "
                        f"{proc.stderr[-300:]!r}")
    lines = re.split(r"[\r\n]", proc.stderr)
    if any("Traceback" in line for line in lines):
        problems.append(f"traceback on stderr: {proc.stderr[-500:]!r}")
    shown = [line for line in lines if line.startswith("error: ")]
    if shown != [f"error: {e}" for e in errors]:
        problems.append(f"stderr errors {shown[:3]} != loader errors "
                        f"{[str(e) for e in errors][:3]}")
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return problems + [f"no JSON report on stdout: {proc.stdout[-300:]!r}"]
    done = report["articles_added"] + report["articles_updated"] + report["articles_unchanged"]
    if report["articles_failed"] != len(errors) or done != valid:
        problems.append(f"report {report} does not match {valid} valid, {len(errors)} errors")
    return problems


def _chunk_problems(before: dict, after: dict, expected: dict,
                    new: dict[str, Article]) -> list[str]:
    """Old articles keep their chunks untouched; each new one has chunks that are its text."""
    kept = set(expected) - set(new)
    old_rows = [row for row in before["chunks"] if row[1] in kept]
    rows = after["chunks"]
    problems = []
    if [row for row in rows if row[1] in kept] != old_rows:
        problems.append("chunks of articles already stored changed")
    if stray := {row[1] for row in rows} - set(expected):
        problems.append(f"chunks of articles not in the store: {sorted(stray)}")
    if after["chunk_count"] != len(rows):
        problems.append(f"chunk count {after['chunk_count']} != {len(rows)} rows")
    for article_id, article in new.items():
        mine = [row for row in rows if row[1] == article_id]
        if not mine:
            problems.append(f"article {article_id} has no chunks")
        for _cid, _aid, _s0, _s1, start, end, doc in mine:
            if article.text[start:end] != doc:
                problems.append(f"chunk of {article_id} [{start}:{end}] is not its text")
    return problems
