"""Reading article files of every supported format into `Article`s.

Nothing here raises for bad input: a whole corpus should not fail to index because one line is
malformed, so every problem becomes a `LoadError` (one line: what is wrong, what to do) yielded
in place, and the rest of the input still loads.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from index.articles import new_article, normalise_text
from index.dates import parse_date
from index.errors import NewsdeskError, clip
from index.fields import TEXT_FIELDS, build_article, has_text_field, json_kind
from index.types import Article, LoadError

SUPPORTED_SUFFIXES = {".jsonl", ".ndjson", ".json", ".csv", ".txt", ".text", ".html", ".htm"}
# Keys under which a JSON file may hold its list of articles, e.g. {"articles": [...]}.
LIST_KEYS = ("articles", "data", "items", "documents", "results", "records", "entries", "news")

_SUPPORTED_HINT = "give .jsonl, .ndjson, .json, .csv, .txt, .text, .html or .htm files"
_BINARY_PROBE = 8192

Item = Article | LoadError


def iter_inputs(paths: list[str | Path]) -> Iterator[Item]:
    """Every article (or problem) in these files and folders, in a deterministic order."""
    for given in paths:
        path = Path(given)
        shown = str(given)
        if path.is_dir():
            yield from _walk(path, set())
        elif not path.exists():
            yield _error(shown, None, "no such file or folder; check the path")
        elif not path.is_file():
            yield _error(shown, None, f"not a regular file or folder; {_SUPPORTED_HINT}")
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            yield _unsupported(shown, path)
        else:
            yield from load_file(path)


def _walk(folder: Path, seen: set[Path]) -> Iterator[Item]:
    """Supported files under a folder, sorted; hidden entries and other file types are skipped.

    Folders are tracked by their resolved path so a symlink loop is walked once, not forever.
    """
    try:
        real = folder.resolve()
        if real in seen:
            return
        seen.add(real)
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    except OSError as exc:
        yield _error(str(folder), None, f"cannot list folder ({_reason(exc)}); check permissions")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif entry.is_file() and entry.suffix.lower() in SUPPORTED_SUFFIXES:
            yield from load_file(entry)


def load_file(path: Path) -> Iterator[Item]:
    """The articles in one file, dispatched on its suffix."""
    path = Path(path)
    shown = str(path)
    parse = _PARSERS.get(path.suffix.lower())
    if parse is None:
        yield _unsupported(shown, path)
        return
    text = _read_text(path)
    if isinstance(text, LoadError):
        yield text
        return
    if not text.strip():
        yield _error(shown, None, "empty file, no articles in it; add articles or remove the file")
        return
    yield from parse(text, shown)


def _read_text(path: Path) -> str | LoadError:
    """The file as text, refusing binary and non-UTF-8 content with a fixable message."""
    shown = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _error(shown, None, f"cannot read file ({_reason(exc)}); check the path and its "
                      "permissions")
    if b"\x00" in data[:_BINARY_PROBE]:
        return _error(shown, None, "a binary file, not text; give .jsonl, .json, .csv, .txt or "
                      ".html articles")
    # utf-8-sig would drop the BOM, but then report offsets relative to the text after it.
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + bom
        return _error(shown, None, f"not valid UTF-8 (byte 0x{data[offset]:02x} at offset "
                      f"{offset}); re-save it as UTF-8")


def _load_jsonl(text: str, shown: str) -> Iterator[Item]:
    """One object per line; a bad line is reported and skipped, the others still load.

    Split on "\\n" only: str.splitlines would also break on U+2028 and friends, which JSON
    allows raw inside strings.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield _error(shown, number, f"malformed JSON ({_json_reason(exc)}); fix or remove "
                         "this line")
            continue
        except RecursionError:
            yield _error(shown, number, "JSON nested too deeply; fix or remove this line")
            continue
        if not isinstance(record, dict):
            yield _error(shown, number, f"line is a JSON {json_kind(record)}, not an article "
                         "object; put one {...} article object per line")
            continue
        yield _record(record, shown, number, f"{shown}:{number}")


def _load_json(text: str, shown: str) -> Iterator[Item]:
    """An array of articles, one article, or an object holding the array under a known key."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "rename it to .jsonl if it has one object per line" if exc.msg == "Extra data" \
            else "fix the file"
        yield _error(shown, exc.lineno, f"malformed JSON ({exc.msg} at line {exc.lineno} column "
                     f"{exc.colno}); {hint}")
        return
    except RecursionError:
        yield _error(shown, None, "JSON nested too deeply; fix the file")
        return
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        yield _error(shown, None, f"unreadable JSON ({clip(exc, 80)}); fix the file")
        return
    if isinstance(document, dict) and not has_text_field(document):
        items = _find_article_list(document)
        if items is None:
            yield _error(shown, None, "JSON object holds neither an article (no "
                         f"{'/'.join(TEXT_FIELDS)} field) nor a list of articles (under "
                         f"{'/'.join(LIST_KEYS)}); reshape it into an array of article objects")
            return
        document = items
    if isinstance(document, dict):
        yield _record(document, shown, None, shown)
    elif isinstance(document, list):
        yield from _load_json_items(document, shown)
    else:
        yield _error(shown, None, f"JSON file holds a {json_kind(document)}, not articles; give "
                     "an array of article objects")


def _find_article_list(document: dict, depth: int = 2) -> list | None:
    """The article list inside a wrapper object, looking one level deeper ({"data": {...}})."""
    lowered = {str(key).strip().lower(): value for key, value in document.items()}
    for key in LIST_KEYS:
        value = lowered.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, dict) and depth > 1:
            found = _find_article_list(value, depth - 1)
            if found is not None:
                return found
    return None


def _load_json_items(items: list, shown: str) -> Iterator[Item]:
    """Array items numbered from 1; the number stands in for a line in errors and origins."""
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield _error(shown, number, f"item {number} is a JSON {json_kind(item)}, not an "
                         "article object; make every array item a {...} article object")
            continue
        yield _record(item, shown, number, f"{shown}:{number}", f"item {number}: ")


def _load_csv(text: str, shown: str) -> Iterator[Item]:
    """A header row, then one article per row, reported by the physical line the row starts on.

    csv.reader rather than DictReader: DictReader hides the blank lines it skips, which would
    make the line numbers of later rows wrong.
    """
    _allow_long_fields()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except (csv.Error, StopIteration) as exc:
        yield _error(shown, None, f"unreadable CSV header ({clip(exc, 80)}); fix the first line")
        return
    if not has_text_field(header):
        found = ", ".join(clip(name, 30) for name in header[:20] if name) or "none"
        yield _error(shown, None, f"no text column in the CSV header (found: {found}); name the "
                     f"article body column one of {', '.join(TEXT_FIELDS)}")
        return
    last_line = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _error(shown, last_line + 1, f"malformed CSV ({clip(exc, 80)}); fix the quoting "
                         "from this line on")
            return
        start, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))  # a short row has empty trailing cells
        yield _record(list(zip(header, cells, strict=False)), shown, start, f"{shown}:{start}")


def _allow_long_fields() -> None:
    """Article bodies exceed csv's 128 KB default field limit; raise it as far as C allows."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _load_text(text: str, shown: str) -> Iterator[Item]:
    """First non-empty line is the title, the rest is the body."""
    title, _, body = normalise_text(text).partition("\n")
    if not body.strip():
        yield _error(shown, None, "only a title line and no article text; put the body after the "
                     "first line")
        return
    yield new_article(title=title, text=body, origin=shown)


def _load_html(text: str, shown: str) -> Iterator[Item]:
    """Main text and metadata of a web page, boilerplate (menus, footers) removed."""
    try:
        document = _extract_html(text)
    except Exception as exc:  # noqa: BLE001 - a third-party parser on arbitrary input
        yield _error(shown, None, f"could not parse the HTML ({clip(exc, 80)}); check the page "
                     "or save the article as .txt")
        return
    body = _html_body(document)
    if not body:
        yield _error(shown, None, "no article text found in the HTML; give a page whose article "
                     "is in <p> paragraphs, or save it as .txt")
        return
    title = document.get("title") or ""
    yield new_article(
        title=title,
        text=_drop_title_line(body, title),
        source=document.get("sitename") or "",
        url=document.get("url") or "",
        author=document.get("author") or "",
        category=", ".join(document.get("categories") or []),
        published_at=parse_date(document.get("date")),
        origin=shown,
    )


def _extract_html(text: str) -> dict:
    """trafilatura's extraction as a plain dict (it returns None when it finds nothing)."""
    import trafilatura  # deferred: it pulls in lxml and friends, needed only for HTML

    document = trafilatura.bare_extraction(
        text, with_metadata=True, include_comments=False, include_tables=True
    )
    if document is None:
        return {}
    return document if isinstance(document, dict) else document.as_dict()


def _html_body(document: dict) -> str:
    body = document.get("text")
    return body.strip() if isinstance(body, str) else ""


def _drop_title_line(body: str, title: str) -> str:
    """trafilatura keeps the <h1> headline as the first line; the title field already has it."""
    first, _, rest = body.partition("\n")
    if title and rest.strip() and " ".join(first.split()) == " ".join(title.split()):
        return rest
    return body


def _record(
    record: dict | list, shown: str, line: int | None, origin: str, prefix: str = ""
) -> Item:
    """One record turned into an Article, or its field problem into a LoadError."""
    try:
        return build_article(record, origin)
    except NewsdeskError as exc:
        return _error(shown, line, prefix + str(exc))


def _unsupported(shown: str, path: Path) -> LoadError:
    kind = f"'{clip(path.suffix, 20)}'" if path.suffix else "with no suffix"
    return _error(shown, None, f"unsupported file type {kind}; {_SUPPORTED_HINT}")


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return clip(exc, 80)


def _reason(exc: OSError) -> str:
    return exc.strerror or clip(exc, 80)


def _error(shown: str, line: int | None, message: str) -> LoadError:
    """Every LoadError passes here, so it is guaranteed to render as one line: a file name
    may hold a line break too, so its unprintable characters are shown escaped."""
    return LoadError(file=_printable(shown), line=line, message=" ".join(message.split()))


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in name)


_PARSERS = {
    ".jsonl": _load_jsonl,
    ".ndjson": _load_jsonl,
    ".json": _load_json,
    ".csv": _load_csv,
    ".txt": _load_text,
    ".text": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
}
