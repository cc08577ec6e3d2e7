"""The suite format: one JSON object a line, read strictly so a typo fails loudly at its line.

A suite is hand-edited and generated alike; a misspelt key ("answer" for "answers") would
silently score every case as unanswerable, so unknown keys are errors, and every error names
`file:line`. The format is documented in `evals/README.md`.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from index.errors import NewsdeskError

HEADER_KEYS = {"suite", "corpus", "description", "source", "license"}
CASE_KEYS = {"id", "question", "turns", "answers", "evidence", "answerable", "tags", "date",
             "gold_urls"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SUITES_DIR = Path(__file__).resolve().parent / "suites"  # the shipped suites


def find_suite(given: str | Path) -> Path:
    """A path, or the name of a shipped suite (`al-bab`)."""
    path = Path(given)
    shipped = SUITES_DIR / f"{given}.jsonl"
    if not path.exists() and path.suffix == "" and shipped.is_file():
        return shipped
    return path


def relative_to_suite(path: Path, suite_file: Path | None) -> str:
    """Suites name their corpus relative to themselves, so a suite folder can move whole."""
    if suite_file is None:
        return str(path)
    return os.path.relpath(path.resolve(), suite_file.resolve().parent)


class SuiteError(NewsdeskError):
    """A suite file that cannot be used as written, located at its file and line."""


@dataclass(frozen=True)
class Case:
    """One question (or conversation) with what counts as a right answer.

    `turns` always holds the questions in order; a single-question case has one turn, and the
    last turn's answer is the one scored.
    """

    id: str
    turns: tuple[str, ...]
    answers: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    answerable: bool = True
    tags: tuple[str, ...] = ()
    line: int = 0
    # When the question is asked (ISO date): "this week" in a quiz clue means that week.
    date: str = ""
    # The articles the answer is in, by URL, for datasets that give articles, not sentences.
    gold_urls: tuple[str, ...] = ()

    @property
    def question(self) -> str:
        return self.turns[-1]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if len(self.turns) == 1:
            out["question"] = self.turns[0]
        else:
            out["turns"] = list(self.turns)
        out.update(answers=list(self.answers), evidence=list(self.evidence),
                   answerable=self.answerable, tags=list(self.tags))
        if self.date:  # written only when set, so older suites read back byte for byte
            out["date"] = self.date
        if self.gold_urls:
            out["gold_urls"] = list(self.gold_urls)
        return out


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    cases: list[Case]
    corpus: list[Path] = field(default_factory=list)  # resolved; empty = none given
    header: dict[str, Any] = field(default_factory=dict)


def read_lines(path: Path, what: str) -> list[str]:
    """A suite or dataset file's lines, or one line saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such {what} file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read the {what} ({exc})") from None


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    lines = read_lines(path, "suite")
    header: dict[str, Any] = {}
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise SuiteError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        if "suite" in obj and "id" not in obj:
            if cases or header:
                raise SuiteError(f"{where}: the {{\"suite\": ...}} header must be the first line")
            header = _header(obj, where)
            continue
        case = _case(obj, where, number)
        if case.id in seen:
            raise SuiteError(f"{where}: duplicate case id {case.id!r} (first on line "
                             f"{seen[case.id]})")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise SuiteError(f"{path}: the suite has no cases")
    name = header.get("suite") or path.name.removesuffix(".jsonl").removesuffix(".json")
    if not _NAME.match(name):
        raise SuiteError(f"{path}: suite name {name!r} must be letters, digits, '.', '_' or '-' "
                         "(it names a folder); set {\"suite\": NAME} on the first line")
    corpus = _corpus(path, header)
    return Suite(name, path, cases, corpus, header)


def _header(obj: dict, where: str) -> dict[str, Any]:
    unknown = set(obj) - HEADER_KEYS
    if unknown:
        raise SuiteError(f"{where}: unknown header key(s) {sorted(unknown)}; "
                         f"known: {sorted(HEADER_KEYS)}")
    if not isinstance(obj["suite"], str) or not obj["suite"].strip():
        raise SuiteError(f"{where}: \"suite\" must be a non-empty name")
    if "corpus" in obj:
        _strings(obj["corpus"], "corpus", where, allow_empty=False)
    return obj


def _case(obj: dict, where: str, number: int) -> Case:
    unknown = set(obj) - CASE_KEYS
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(CASE_KEYS)}")
    case_id = obj.get("id")
    if isinstance(case_id, bool) or not isinstance(case_id, str | int) or str(case_id) == "":
        raise SuiteError(f"{where}: every case needs an \"id\" (a string or a number)")
    if ("question" in obj) == ("turns" in obj):
        raise SuiteError(f"{where}: give exactly one of \"question\" or \"turns\"")
    if "question" in obj:
        if not isinstance(obj["question"], str) or not obj["question"].strip():
            raise SuiteError(f"{where}: \"question\" must be a non-empty string")
        turns = [obj["question"]]
    else:
        turns = _strings(obj["turns"], "turns", where, allow_empty=False)
    answers = _strings(obj.get("answers", []), "answers", where)
    evidence = _strings(obj.get("evidence", []), "evidence", where)
    tags = _strings(obj.get("tags", []), "tags", where)
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise SuiteError(f"{where}: \"answerable\" must be true or false")
    gold_urls = _strings(obj.get("gold_urls", []), "gold_urls", where)
    if not answerable and (answers or evidence or gold_urls):
        raise SuiteError(f"{where}: an unanswerable case has no \"answers\", \"evidence\" or "
                         "\"gold_urls\"; remove them or set \"answerable\": true")
    date = obj.get("date", "")
    if not isinstance(date, str) or (date and not _is_iso_date(date)):
        raise SuiteError(f"{where}: \"date\" must be an ISO date (YYYY-MM-DD), got {date!r}")
    return Case(str(case_id), tuple(turns), tuple(answers), tuple(evidence), answerable,
                tuple(tags), number, date, tuple(gold_urls))


def _is_iso_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _strings(value: Any, key: str, where: str, allow_empty: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SuiteError(f"{where}: \"{key}\" must be a list of non-empty strings")
    if not value and not allow_empty:
        raise SuiteError(f"{where}: \"{key}\" must not be empty")
    return list(value)


def _corpus(path: Path, header: dict[str, Any]) -> list[Path]:
    """Corpus paths are relative to the suite file, so a suite folder can move as a whole."""
    sibling = path.with_name(path.name.removesuffix(".jsonl").removesuffix(".json")
                             + ".corpus.json")
    given = header.get("corpus")
    if sibling.is_file():
        if given is not None:
            raise SuiteError(f"{path}:1: the corpus is given both in the header and in "
                             f"{sibling.name}; keep one")
        try:
            data = json.loads(sibling.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SuiteError(f"{sibling}: cannot read the corpus list ({exc})") from None
        if isinstance(data, dict):
            data = data.get("corpus")
        given = _strings(data, "corpus", str(sibling), allow_empty=False)
    return [(path.parent / p).resolve() for p in (given or [])]


def write_suite(out: TextIO, header: dict[str, Any], cases: list[Case]) -> None:
    out.write(json.dumps(header, ensure_ascii=False) + "\n")
    for case in cases:
        out.write(json.dumps(case.to_json(), ensure_ascii=False) + "\n")


def save_suite(path: Path, header: dict[str, Any], cases: list[Case]) -> Suite:
    """Write a suite file and read it back: what is written must load."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        write_suite(out, header, cases)
    return load_suite(path)
