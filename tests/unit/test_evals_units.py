"""The eval layer's pure parts: suite format, metrics, diffs, reports. No model, no store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import AL_BAB, ROOT, SAMPLE

from evals.diff import diff_runs
from evals.metrics import (
    accuracy_by_type,
    aggregate,
    answer_correct,
    contains_answer,
    gold_article_scores,
    leading_yes_no,
    normal_url,
    retrieval_scores,
    same_sentence,
    score_case,
    token_f1,
    yes_no_answer,
)
from evals.report import write_report
from evals.runs import StoredRun
from evals.suite import Case, SuiteError, load_suite

SUITES = ROOT / "evals" / "suites"
BESIEGED = ("The town has been besieged since Monday, when government forces advancing from the "
            "south cut off a road leading into Al-Bab.")


def write_lines(path: Path, *objects) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n"
                            for o in objects), encoding="utf-8")
    return path


# ---- suite format ------------------------------------------------------------------------

def test_shipped_al_bab_suite_is_the_reference_example():
    suite = load_suite(SUITES / "al-bab.jsonl")
    assert suite.name == "al-bab" and suite.corpus == [AL_BAB.resolve()]
    cases = {c.id: c for c in suite.cases}
    who = next(c for c in suite.cases if c.turns == ("Who besieged al-Bab?",))
    assert who.answers == ("government forces",) and who.evidence == (BESIEGED,)
    assert 1 <= sum(len(c.turns) > 1 for c in suite.cases) <= 2
    assert sum(not c.answerable for c in suite.cases) == 2
    text = " ".join(AL_BAB.read_text(encoding="utf-8").split())
    for case in cases.values():  # gold sentences are verbatim in the corpus
        assert all(" ".join(e.split()) in text for e in case.evidence)


def test_shipped_multihop_suite_matches_the_dev_queries():
    suite = load_suite(SUITES / "multihop-rag-dev.jsonl")
    assert suite.name == "multihop-rag-dev" and suite.corpus == [SAMPLE.resolve()]
    assert len(suite.cases) == 150 and sum(not c.answerable for c in suite.cases) == 20
    assert all(c.evidence and c.answers for c in suite.cases if c.answerable)
    assert suite.header["license"] == "ODC-BY 1.0"


@pytest.mark.parametrize("lines, message", [
    (['{"id": 1, "question": "q?"', ], ":1: not valid JSON"),
    ([{"id": 1, "question": "q?", "answer": ["x"]}], ":1: unknown key(s) ['answer']"),
    ([{"id": 1, "question": "q?", "turns": ["a", "b"]}], "exactly one of"),
    ([{"id": 1, "question": "q?"}, {"id": 1, "question": "r?"}], ":2: duplicate case id '1'"),
    ([{"id": 1, "question": "q?", "answerable": False, "answers": ["x"]}], "unanswerable case"),
    ([{"id": 1, "question": "q?"}, {"suite": "late"}], ":2: the {\"suite\": ...} header"),
    ([{"id": 1, "question": "q?", "evidence": "one sentence"}], "\"evidence\" must be a list"),
    ([{"id": 1, "turns": []}], "\"turns\" must not be empty"),
    ([{"suite": "bad name/x"}, {"id": 1, "question": "q?"}], "suite name 'bad name/x'"),
    ([{"suite": "empty"}], "the suite has no cases"),
    ([{"id": 1, "question": "q?", "date": "2022/06/16"}], "\"date\" must be an ISO date"),
    ([{"id": 1, "question": "q?", "answerable": False, "gold_urls": ["u"]}],
     "unanswerable case"),
    ([{"id": 1, "question": "q?", "gold_urls": "https://x"}], "\"gold_urls\" must be a list"),
])
def test_suite_errors_are_one_line_and_name_the_line(tmp_path, lines, message):
    path = write_lines(tmp_path / "s.jsonl", *lines)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_corpus_from_a_sibling_file_relative_to_the_suite(tmp_path):
    (tmp_path / "sub").mkdir()
    path = write_lines(tmp_path / "sub" / "mine.jsonl", {"id": "a", "question": "q?"})
    (tmp_path / "sub" / "mine.corpus.json").write_text('["../news"]', encoding="utf-8")
    suite = load_suite(path)
    assert suite.name == "mine" and suite.corpus == [(tmp_path / "news").resolve()]
    write_lines(path, {"suite": "mine", "corpus": ["x"]}, {"id": "a", "question": "q?"})
    with pytest.raises(SuiteError, match="both in the header and in mine.corpus.json"):
        load_suite(path)


# ---- metrics -----------------------------------------------------------------------------

def test_answer_matching_is_normalised_and_whole_words():
    text = f"{BESIEGED} [1]"
    assert contains_answer(text, ["Government Forces"])
    assert contains_answer(text, ["the government forces."])
    assert contains_answer("It is 1.5 km away.", ["1.5 km"])
    assert not contains_answer("They did not go north.", ["no"])
    assert not contains_answer(text, ["rebels", ""])
    assert token_f1("government forces", "the Government forces!") == 1.0
    assert token_f1("government troops", "government forces") == pytest.approx(0.5)
    assert token_f1("", "x") == 0.0


@pytest.mark.parametrize("answer, leading", [
    ("Yes.", "yes"),
    ("No, the report says yes to the merger [1].", "no"),  # used to count as both
    ("**No** -- although one outlet said yes [2]", "no"),
    ("[1] Yes, both reports agree.", "yes"),
    ("<p><b>Yes</b>, it did.</p>", "yes"),
    ("> _yes_: the court ruled for Google [3]", "yes"),
    ("Answer: no.", "no"),
    ("“No” is what the CEO said.", "no"),
    ("[unsupported] No evidence of that.", "no"),
    ("Nobody said yes.", None),
    ("None of the reports say no.", None),
    ("No-one denied it, so yes.", None),
    ("Yesterday the court said no.", None),
    ("The report says yes [1].", None),
    ("", None),
])
def test_leading_yes_no_is_the_first_word_after_markup(answer, leading):
    assert leading_yes_no(answer) == leading


def test_yes_no_cases_are_scored_by_the_leading_word_only():
    assert yes_no_answer(["Yes"]) == "yes" and yes_no_answer(["no."]) == "no"
    assert yes_no_answer(["Yes", "No"]) is None and yes_no_answer(["Yes, he did"]) is None
    assert answer_correct("No, ... the article also says yes [1]", ["No"])
    assert not answer_correct("No, ... the article also says yes [1]", ["Yes"])
    assert not answer_correct("The filing says yes. [1]", ["Yes"])  # not leading
    # Other answers keep the "occurs as whole words" rule.
    assert answer_correct("Reports name government forces [1].", ["government forces"])
    case = Case("yn", ("Did both outlets report the ruling?",), ("Yes",))
    said_no = score_case(case, "No; one said yes [1]", False, ["x"], [], [], 5)
    said_yes = score_case(case, "Yes [1]; no outlet disagreed", False, ["x"], [], [], 5)
    assert said_no.answer_correct is False and said_yes.answer_correct is True
    assert said_yes.answer_hit_cited is None  # "yes" is in no sentence: not applicable


def test_accuracy_by_question_type_and_answer_kind():
    yn = Case("1", ("Did it?",), ("Yes",), tags=("comparison_query",))
    span = Case("2", ("Who?",), ("government forces",), tags=("inference_query",))
    null = Case("3", ("What?",), answerable=False, tags=("null_query",))
    scores = [score_case(yn, "No [1]", False, [], [], [], 1),
              score_case(span, "government forces [1]", False, [], [], [], 1),
              score_case(null, "", True, [], [], [], 1)]
    by_type = accuracy_by_type([yn, span, null], scores)
    assert by_type["question_type"]["comparison_query"]["answer_accuracy"] == 0.0
    assert by_type["question_type"]["inference_query"]["answer_accuracy"] == 1.0
    assert by_type["question_type"]["null_query"] == {"cases": 1, "answer_accuracy": 1.0,
                                                      "answer_f1": 1.0}
    assert by_type["answer_kind"]["yes/no"]["cases"] == 1
    assert by_type["answer_kind"]["other"]["answer_accuracy"] == 1.0


def test_gold_articles_are_matched_by_url_among_ranked_and_cited():
    gold = ["https://www.cnn.com/2022/06/12/tech/usbc/index.html#:~:text=The%20company"]
    assert normal_url(gold[0]) == "cnn.com/2022/06/12/tech/usbc/index.html"
    assert normal_url("HTTP://CNN.com/a/") == normal_url("https://www.cnn.com/a#x")
    assert normal_url("https://cnn.com/a?id=1") != normal_url("https://cnn.com/a?id=2")
    other = "https://usatoday.com/story"
    ranked = [other, other, other, "http://cnn.com/2022/06/12/tech/usbc/index.html/", other]
    assert gold_article_scores(gold, ranked, [other]) == {
        "gold_article_at_3": 0.0, "gold_article_at_10": 1.0, "gold_article_cited": 0.0}
    assert gold_article_scores(gold, ranked[3:], ["", gold[0]])["gold_article_cited"] == 1.0
    assert gold_article_scores([], ranked, [])["gold_article_at_3"] is None
    case = Case("q", ("Which continent?",), ("Europe",), gold_urls=tuple(gold))
    scores = score_case(case, "In Europe [1]", False, ["Europe will require USB-C."],
                        ["Europe will require USB-C."], [True], 5, ranked_urls=[gold[0]],
                        cited_urls=[other])
    assert scores.gold_article_at_3 == 1.0 and scores.gold_article_cited == 0.0
    assert scores.answer_hit_cited == 1.0
    agg = aggregate([case], [scores])
    assert agg["gold_article_at_10"] == 1.0 and agg["answer_hit_cited"] == 1.0


def test_sentence_matching_tolerates_whitespace_and_split_gold():
    assert same_sentence("A  sentence\nthat wraps here.", "A sentence that wraps here.")
    two = "This whole line of argument is called market definition. If the court agrees, it wins."
    assert same_sentence("This whole line of argument is called market definition.", two)
    assert not same_sentence("It wins.", two)  # too short to be told from a coincidence
    assert not same_sentence("Another sentence entirely, quite long.", two)


def test_retrieval_recall_and_mrr():
    gold = ["Gold sentence number one is here.", "Gold sentence number two is here."]
    ranked = ["noise a", "noise b", gold[1], "noise c", "noise d", gold[0]]
    scores = retrieval_scores(ranked, gold)
    assert scores == {"recall_at_4": 0.5, "recall_at_10": 1.0, "mrr_at_10": pytest.approx(1 / 3)}
    assert retrieval_scores(ranked, [])["recall_at_10"] is None


def test_case_scores_and_abstention_aggregate():
    answerable = Case("a", ("Who besieged al-Bab?",), ("government forces",), (BESIEGED,))
    unanswerable = Case("u", ("Who won Eurovision?",), answerable=False)
    right = score_case(answerable, f"{BESIEGED} [1]", False, [BESIEGED, "Other words here, "
                       "long enough."], [BESIEGED], [True, True], 100)
    assert right.answer_correct and right.citation_recall == 1.0
    assert right.citation_precision == 0.5 and right.cited_evidence == [0] and right.mrr_at_10 == 1
    assert right.answer_hit_at_4 == 1.0
    abstained = score_case(answerable, "The corpus does not hold an answer", True, [], [],
                           [], 300)
    assert abstained.answer_correct is False and abstained.answer_f1 == 0.0
    assert abstained.citation_precision is None and abstained.citation_recall == 0.0
    kept_quiet = score_case(unanswerable, "", True, [], [], [True], 200)
    assert kept_quiet.answer_correct is True and kept_quiet.answer_f1 == 1.0
    spoke = score_case(unanswerable, "Something [1]", False, ["Something"], [], [False], 400)
    agg = aggregate([answerable, answerable, unanswerable, unanswerable],
                    [right, abstained, kept_quiet, spoke])
    assert agg["answer_accuracy"] == 0.5
    assert agg["abstention_precision"] == 0.5 and agg["abstention_recall"] == 0.5
    assert agg["abstention_f1"] == 0.5
    assert agg["citation_precision"] == 0.5  # the abstention has no citation to judge
    assert agg["citation_verbatim_rate"] == 0.75
    assert agg["latency_p50_ms"] == 250.0 and agg["latency_p95_ms"] == pytest.approx(385.0)
    assert agg["recall_at_4"] == 0.5  # only the two answerable cases count
    assert agg["answer_hit_at_10"] == 0.5 and agg["abstained"] == 2
    never = aggregate([unanswerable], [spoke])
    assert never["abstention_precision"] is None and never["abstention_f1"] == 0.0


# ---- diffs and reports -------------------------------------------------------------------

def _record(correct: bool, cited: list[int], abstained: bool, latency: float) -> dict:
    case = {"id": "a", "question": "Who besieged al-Bab?", "answers": ["government forces"],
            "evidence": [BESIEGED], "answerable": True, "tags": ["t"],
            "answer": {"answer": BESIEGED if correct else "nothing"}, "ranked": [],
            "scores": {"answer_correct": correct, "cited_evidence": cited,
                       "abstained": abstained, "latency_ms": latency, "recall_at_10": 1.0}}
    other = {"id": "u", "question": "Who won?", "answers": [], "evidence": [],
             "answerable": False, "tags": ["t"], "answer": None,
             "scores": {"answer_correct": True, "abstained": True, "latency_ms": 10.0}}
    agg = {"cases": 2, "answer_accuracy": 1.0 if correct else 0.5, "latency_p50_ms": latency}
    return {"suite": "s", "run": "r", "settings": {"top_k": 40}, "corpus": ["c"],
            "aggregate": agg, "by_tag": {"t": agg}, "cases": [case, other]}


def test_diff_names_the_cases_that_got_worse(tmp_path):
    good = StoredRun(tmp_path / "1", _record(True, [0], False, 100.0))
    bad_record = _record(False, [], True, 110.0)
    bad_record["settings"] = {"top_k": 1}
    bad = StoredRun(tmp_path / "2", bad_record)
    diff = diff_runs(good, bad)
    assert [(c.case_id, c.reasons) for c in diff.worse] == [
        ("a", ("answer lost", "citation lost (1 gold sentence)", "new wrong abstention"))]
    assert diff.notes == ["settings differ: top_k 40 -> 1"]
    accuracy = next(d for d in diff.deltas if d.metric == "answer_accuracy")
    assert accuracy.delta == -0.5 and accuracy.worse
    latency = next(d for d in diff.deltas if d.metric == "latency_p50_ms")
    assert not latency.worse  # +10% is noise
    back = diff_runs(bad, good)
    assert not back.worse and back.better[0].reasons == (
        "answer gained", "citation gained (1 gold sentence)", "wrong abstention fixed")
    assert not diff_runs(good, good).worse


def test_report_is_self_contained_and_draws_every_plot(tmp_path):
    record = _record(True, [0], False, 100.0)
    record.update(created_at="now", seconds=1.0, git={"sha": "abc"}, suite_file="s.jsonl")
    written = write_report(tmp_path, record, None, [("r0", record["aggregate"]),
                                                    ("r1", record["aggregate"])])
    for path in written:
        assert path.stat().st_size > 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'src="history.png"' in html and "<script" not in html and "http" not in html
    assert "first run of this suite" in (tmp_path / "report.md").read_text(encoding="utf-8")


# ---- runner hooks: the answerer and the question date ------------------------------------

class _Asks:
    def ask(self, question, conversation=None, filters=None):
        return question


class _AsksAsOf:
    generator = None

    def ask(self, question, conversation=None, as_of=None):
        return question

    def answerer_info(self):
        return {"answerer": "local", "model": "qwen2.5-1.5b-instruct-q4_k_m.gguf",
                "sha256": "ab12"}


class _Served(_Asks):
    class generator:  # noqa: N801 - stands in for an OpenAICompatibleGenerator
        name = "llama-3"


def test_answerer_is_read_from_the_assistant_or_described_from_it():
    from evals.runner import answerer_info

    assert answerer_info(_AsksAsOf())["model"] == "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    assert answerer_info(_Asks()) == {"answerer": "extractive"}
    assert answerer_info(_Served()) == {"answerer": "server", "model": "llama-3"}


def test_case_date_goes_to_the_assistant_only_if_ask_takes_as_of():
    from evals.runner import accepts_as_of

    assert accepts_as_of(_AsksAsOf()) and not accepts_as_of(_Asks())


def test_report_names_the_answerer_and_accuracy_by_type(tmp_path):
    record = _record(True, [0], False, 100.0)
    record.update(created_at="now", seconds=1.0, git={"sha": "abc"}, suite_file="s.jsonl",
                  answerer={"answerer": "local", "model": "m.gguf", "sha256": "ab12"},
                  accuracy_by_type={"question_type": {"t": {"cases": 2, "answer_accuracy": 1.0,
                                                            "answer_f1": 1.0}},
                                    "answer_kind": {"yes/no": {"cases": 1,
                                                               "answer_accuracy": 0.0,
                                                               "answer_f1": 0.0}}})
    write_report(tmp_path, record, None, [("r0", record["aggregate"])])
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Answerer: local, model m.gguf, sha256 ab12." in md
    assert "| type: t | 2 | 1.000 | 1.000 |" in md and "| answer: yes/no | 1 | 0.000" in md
    before = StoredRun(tmp_path / "1", {**record, "answerer": {"answerer": "extractive"}})
    after = StoredRun(tmp_path / "2", record)
    assert "answerer differs: extractive -> local (m.gguf)" in diff_runs(before, after).notes
