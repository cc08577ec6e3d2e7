"""Public QA datasets turned into suites, so they run through the same runner as our own.

The importers read a dataset from wherever the user keeps it and never copy it anywhere but
the output they are asked to write: RGB is CC BY-NC-SA and must not end up bundled.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from evals.metrics import normal_url
from evals.suite import Case, SuiteError, read_lines, save_suite, write_suite


@dataclass
class Imported:
    """A suite ready to write: header, cases, and any passages that form its corpus."""

    header: dict[str, Any]
    cases: list[Case]
    passages: list[dict[str, str]] = field(default_factory=list)

    def save(self, output: Path | None, stream: TextIO | None = None) -> None:
        """The suite to `output` (read back: what is written must load), or to `stream` when
        there is no output file."""
        if output is None:
            write_suite(stream, self.header, self.cases)
        else:
            save_suite(output, self.header, self.cases)

    def save_passages(self, path: Path) -> None:
        """The passages (an imported corpus) as JSONL articles."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for passage in self.passages:
                out.write(json.dumps(passage, ensure_ascii=False) + "\n")


MULTIHOP_SOURCE = ("MultiHop-RAG (Tang & Yang, COLM 2024, arXiv:2401.15391), "
                   "github.com/yixuantt/MultiHop-RAG")
REALTIMEQA_SOURCE = ("RealTimeQA (Kasai et al., NeurIPS 2023 Datasets and Benchmarks), "
                     "github.com/realtimeqa/realtimeqa_public")
REALTIMEQA_LICENSE = "none stated upstream (scraped news): evaluation only; never bundle"
# Quiz clues that point at the question's week rather than naming a date.
_TIME_CLUE = re.compile(r"\b(this|last|past) (week|weekend|month)\b|\brecent(ly)?\b|"
                        r"\b(yesterday|today|this year)\b", re.IGNORECASE)
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


@dataclass
class RealTimeQAImport(Imported):
    """The suite plus what the importer checked about the corpus it points at."""

    corpus_articles: int = 0
    gold_urls: int = 0
    gold_missing: list[str] = field(default_factory=list)  # gold URLs not in the corpus


def realtimeqa(path: Path, name: str, corpus_path: Path, corpus_ref: str) -> RealTimeQAImport:
    """RealTimeQA quiz questions: one case per question, asked without its choices.

    The accepted answer is the correct choice's text; the case carries the quiz date (`date`,
    for "this week" clues) and the gold articles' URLs (`gold_urls`). The corpus is only
    referenced (`corpus_ref`, as the header will name it), never copied: the texts have no
    license. Its URLs are read to check that every gold article is in it.
    """
    records = _read_jsonl(path, "RealTimeQA questions")
    cases = []
    seen: set[str] = set()
    for where, record in records:
        record_id = str(_field(record, "id", where))
        if record_id in seen:
            raise SuiteError(f"{where}: duplicate question id {record_id!r}")
        seen.add(record_id)
        question = str(_field(record, "question", where)).strip()
        answers = _realtimeqa_answers(record, where)
        gold = record.get("gold_urls") or []
        if not isinstance(gold, list) or not all(isinstance(u, str) and u for u in gold):
            raise SuiteError(f"{where}: \"gold_urls\" must be a list of URLs")
        tags = ["realtimeqa"] + (["time-clue"] if _TIME_CLUE.search(question) else [])
        cases.append(Case(id=f"rtqa-{record_id}", turns=(question,), answers=tuple(answers),
                          tags=tuple(tags), date=_iso_date(record.get("date"), where),
                          gold_urls=tuple(_unique(gold))))
    if not cases:
        raise SuiteError(f"{path}: no questions")
    urls = set()
    articles = 0
    for _where, record in _read_jsonl(corpus_path, "RealTimeQA corpus"):
        articles += 1
        if isinstance(record, dict) and isinstance(record.get("url"), str):
            urls.add(normal_url(record["url"]))
    gold_urls = [u for c in cases for u in c.gold_urls]
    missing = [u for u in gold_urls if normal_url(u) not in urls]
    header = {"suite": name, "corpus": [corpus_ref], "source": REALTIMEQA_SOURCE,
              "license": REALTIMEQA_LICENSE,
              "description": "RealTimeQA quiz questions asked without their choices; the "
                             "answer is the correct choice's text; scored by gold article URL"}
    return RealTimeQAImport(header, cases, corpus_articles=articles, gold_urls=len(gold_urls),
                            gold_missing=missing)


def _realtimeqa_answers(record: dict, where: str) -> list[str]:
    """The answer as the correct choice's text (as some copies of the dataset give it), or as
    its index into `choices` (["2"], as upstream RealTimeQA gives it)."""
    answer = record.get("answer")
    choices = record.get("choices") or []
    if isinstance(answer, str) and answer.strip():
        return [answer.strip()]
    if isinstance(answer, list) and answer and isinstance(choices, list):
        texts = []
        for item in answer:
            index = int(item) if str(item).strip().isdigit() else -1
            if not 0 <= index < len(choices) or not isinstance(choices[index], str):
                raise SuiteError(f"{where}: answer {item!r} is not the index of a choice")
            texts.append(choices[index].strip())
        return _unique(t for t in texts if t)
    raise SuiteError(f"{where}: missing \"answer\"")


def _iso_date(value: Any, where: str) -> str:
    """"2022/06/16" (RealTimeQA), "2022-06-16" or "20220616" -> "2022-06-16"; absent -> ""."""
    if value in (None, ""):
        return ""
    for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(str(value).strip(), fmt).date().isoformat()
        except ValueError:
            continue
    raise SuiteError(f"{where}: \"date\" {value!r} is not a date (YYYY/MM/DD)")


def _read_jsonl(path: Path, what: str) -> list[tuple[str, Any]]:
    out = []
    for number, raw in enumerate(read_lines(path, what), start=1):
        if not raw.strip():
            continue
        try:
            out.append((f"{path}:{number}", json.loads(raw)))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return out


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
