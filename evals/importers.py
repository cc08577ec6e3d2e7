"""Public QA datasets turned into suites, so they run through the same runner as our own.

The importers read a dataset from wherever the user keeps it and never copy it anywhere but
the output they are asked to write: RGB is CC BY-NC-SA and must not end up bundled.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.suite import Case, SuiteError


@dataclass
class Imported:
    """A suite ready to write: header, cases, and any passages that form its corpus."""

    header: dict[str, Any]
    cases: list[Case]
    passages: list[dict[str, str]] = field(default_factory=list)


MULTIHOP_SOURCE = ("MultiHop-RAG (Tang & Yang, COLM 2024, arXiv:2401.15391), "
                   "github.com/yixuantt/MultiHop-RAG")
RGB_SOURCE = ("RGB (Chen, Lin, Han & Sun, AAAI 2024, arXiv:2309.01431), "
              "github.com/chen700564/RGB")


def multihop_rag(path: Path, name: str, corpus: list[str] | None = None) -> Imported:
    records = _read_json(path)
    if not isinstance(records, list):
        raise SuiteError(f"{path}: expected a JSON array of MultiHop-RAG queries")
    cases = []
    for i, record in enumerate(records):
        where = f"{path}: record {i}"
        query = _field(record, "query", where)
        kind = _field(record, "question_type", where)
        unanswerable = kind == "null_query"
        facts = [e.get("fact", "") for e in record.get("evidence_list") or []
                 if isinstance(e, dict)]
        answer = record.get("answer")
        cases.append(Case(
            id="mhr-" + _digest(query),  # stable whatever order the file comes in
            turns=(query,),
            answers=() if unanswerable or not answer else (str(answer),),
            evidence=() if unanswerable else tuple(_unique(f for f in facts if f.strip())),
            answerable=not unanswerable,
            tags=(kind,),
        ))
    header: dict[str, Any] = {"suite": name}
    if corpus:
        header["corpus"] = corpus
    header["source"] = MULTIHOP_SOURCE
    header["license"] = "ODC-BY 1.0"
    return Imported(header, cases)


def rgb(path: Path, name: str, corpus_file: str, negative_rejection: bool = False
        ) -> Imported:
    """RGB gives passages, not gold sentences: its cases carry answers but no evidence.

    With `negative_rejection`, only the passages that do not hold the answer are indexed, so
    the right behaviour on every case is to abstain.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read the RGB file ({exc})") from None
    cases, passages = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}: not valid JSON ({exc.msg})") from None
        record_id = _field(record, "id", where)
        query = _field(record, "query", where)
        positive = _passages(record, "positive", where)
        negative = _passages(record, "negative", where)
        indexed = negative if negative_rejection else positive + negative
        for i, passage in enumerate(indexed):
            passages.append({"title": f"RGB {record_id} passage {i}", "source": "RGB",
                             "body": passage})
        answers = list(_unique(_flatten(record.get("answer"))))
        if not negative_rejection and not answers:
            raise SuiteError(f"{where}: \"answer\" is empty")
        cases.append(Case(
            id=f"rgb-{record_id}", turns=(query,),
            answers=() if negative_rejection else tuple(answers),
            answerable=not negative_rejection,
            tags=("negative-rejection",) if negative_rejection else ("rgb-fact",),
        ))
    if not cases:
        raise SuiteError(f"{path}: no records")
    header = {"suite": name, "corpus": [corpus_file], "source": RGB_SOURCE,
              "license": "CC BY-NC-SA 4.0 (non-commercial; never bundle)"}
    return Imported(header, cases, passages)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such file; check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read it as JSON ({exc})") from None


def _field(record: Any, key: str, where: str) -> Any:
    if not isinstance(record, dict) or record.get(key) in (None, ""):
        raise SuiteError(f"{where}: missing \"{key}\"")
    return record[key]


def _passages(record: dict, key: str, where: str) -> list[str]:
    value = record.get(key) or []
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise SuiteError(f"{where}: \"{key}\" must be a list of passages")
    return [p for p in value if p.strip()]


def _flatten(value: Any) -> list[str]:
    """RGB answers are a string, a list, or lists of alternatives; any one of them is right."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [s for item in value for s in _flatten(item)]
    return [] if value is None else [str(value)]


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
