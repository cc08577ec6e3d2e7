"""The answer's parts that need no model: the yes/no rule, the reply form and its streaming
filter, the model's "Unknown" as an abstention, the extractive lead, the answerer setting, and
joining a packaged model's parts (with real files, torn and resumed)."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.answerers import resolve_answerer
from assistant.compose import answer_text, direct_answer
from assistant.generate import (
    FALLBACK_SUFFIX,
    MODEL_FOUND_NO_ANSWER,
    LabelFilter,
    answer_with_model,
    generate_answer,
    written_answer,
)
from assistant.model_files import PackagedModel, assemble, gguf_architecture
from assistant.question_kind import is_yes_no
from assistant.types import Answer, Citation
from index.errors import NewsdeskError
from index.settings import Settings, load_settings

AL_BAB = "Who besieged al-Bab?"


def citation(number: int, text: str, span: tuple[int, int] | None = None) -> Citation:
    return Citation(number=number, text=text, article_id=f"a{number}", start=0, end=len(text),
                    title=f"Title {number}", source="Wire", published_at="2017-02-08",
                    url="", paragraph=text, paragraph_start=0,
                    span_start=span[0] if span else None, span_end=span[1] if span else None)


CITES = [citation(1, "Government forces cut off a road into Al-Bab on Monday.", (0, 17)),
         citation(2, "Turkish-backed rebels attacked from the north.")]


class Replay:
    """Replays a fixed reply in 2-character deltas (the verification is what is tested)."""

    name = "replay"

    def __init__(self, text: str):
        self.text = text

    def stream(self, messages, max_tokens, stop=None) -> Iterator[str]:
        for i in range(0, len(self.text), 2):
            yield self.text[i:i + 2]


def extractive(question: str = AL_BAB) -> Answer:
    return Answer(question, question, answer_text(CITES), list(CITES), False,
                  direct_answer=direct_answer(CITES))


@pytest.mark.parametrize(("question", "yes_no"), [
    ("Who besieged al-Bab?", False),
    ("Is al-Bab besieged?", True),
    ("Did the article from The Verge and the one from TechCrunch both report a rise?", True),
    ("After the report by CBSSports.com on October 12, 2023, was there a change in tone?", True),
    ("Considering the reports by X and Y, which company was sued?", False),
    ("Was the report consistent or changed?", False),
    ("Did Reuters report it before or after the BBC?", False),
    ("Has the siege ended or not?", True),
    ("Did sportsbooks move lines after injuries or roster changes?", True),
    ("When did the Golden Globe Awards 2020 take place?", False),
    ("", False),
])
def test_yes_no_questions_are_recognised(question, yes_no):
    assert is_yes_no(question) is yes_no


@pytest.mark.parametrize("pieces", [
    ["Answer: Yes\nBecause: It was [1]."],
    ["Ans", "wer", ":", " Yes", "\n", "Bec", "ause", ": It was [1]."],
    ["**Answer:** Yes\n", "Because:", "  It was [1]."],
])
def test_the_label_filter_streams_the_reply_without_its_labels(pieces):
    f = LabelFilter()
    shown = "".join(f.feed(p) for p in pieces) + f.flush()
    assert shown.replace("**", "") == "Yes\nIt was [1]."


def test_text_that_only_looks_like_a_label_is_kept():
    f = LabelFilter()
    shown = "".join(f.feed(p) for p in ["Answering ", "questions is hard [1]."]) + f.flush()
    assert shown == "Answering questions is hard [1]."


def test_a_yes_no_reply_leads_with_yes_and_cites():
    written = written_answer("Answer: yes, it did [2].\nBecause: Rebels attacked [2][7].",
                             CITES, "Did rebels attack al-Bab?")
    assert written.lead == "Yes" and not written.found_no_answer
    assert written.body.used_numbers == [2] and written.body.removed_numbers == [7]
    assert written.text == "Yes\n\nRebels attacked [2]."


def test_a_name_reply_keeps_its_words_without_markers_or_dates():
    written = written_answer("Answer: Government forces, 2017-02-08, [1]\n"
                             "Because: Government forces cut the road [1].", CITES, AL_BAB)
    assert written.lead == "Government forces"


def test_unknown_becomes_an_abstention_with_the_sentences_as_closest():
    answer, written = answer_with_model(
        Replay("Answer: Unknown\nBecause: The sentences do not say."), extractive())
    assert written is not None and written.found_no_answer
    assert answer.abstained and answer.citations == [] and answer.closest == CITES
    assert answer.abstain_reason == MODEL_FOUND_NO_ANSWER and answer.direct_answer == ""


def test_a_direct_answer_the_sentences_do_not_hold_becomes_an_abstention():
    answer, written = answer_with_model(
        Replay("Answer: Emma Stone\nBecause: Government forces cut the road [1]."), extractive())
    assert written is not None and written.ungrounded and not written.found_no_answer
    assert answer.abstained and answer.citations == [] and answer.closest == CITES
    assert '"Emma Stone"' in answer.abstain_reason and answer.direct_answer == ""


@pytest.mark.parametrize(("lead", "grounded"), [
    ("Government forces", True),
    ("Syrian government forces", True),  # half of the words is enough: a longer name
    ("Turkish-backed rebels", True),
    ("Rebel attackers", True),  # words compare by their first five letters
    ("Wire", True),  # the outlet of the source line
    ("February 8, 2017", True),  # the date of the source line
    ("Kurdish militias", False),
    ("March 3, 2016", False),
])
def test_a_direct_answer_is_grounded_when_half_its_words_are_in_the_sentences(lead, grounded):
    written = written_answer(f"Answer: {lead}\nBecause: Rebels attacked [2].", CITES, AL_BAB)
    assert written.ungrounded is not grounded


def test_a_date_answer_without_its_year_is_completed_from_the_sentence_that_gives_it():
    cites = [citation(1, "The game was released in Japan on April 29."),
             citation(2, "Nintendo published it in Japan on April 29th, 2015.")]
    question = "When was the game released in Japan?"
    written = written_answer("Answer: April 29\nBecause: It came out then [2].", cites, question)
    assert written.lead == "April 29th, 2015" and not written.ungrounded
    kept = written_answer("Answer: Nintendo\nBecause: It published it [2].", cites, question)
    assert kept.lead == "Nintendo"


def test_the_model_answer_opens_with_the_direct_answer_and_streams():
    deltas = []
    answer, written = answer_with_model(
        Replay("Answer: Government forces\nBecause: Government forces cut the road [1]."),
        extractive(), deltas.append)
    assert answer.direct_answer == "Government forces"
    assert answer.text.startswith("Government forces\n\n") and "[1]" in answer.text
    assert "Answer:" not in "".join(deltas) and len(deltas) > 5


def test_a_direct_answer_with_an_uncited_justification_is_kept_and_marked():
    answer, written = answer_with_model(
        Replay("Answer: Yes\nBecause: The two reports differ in tone."), extractive("Did it?"))
    assert written is not None and answer.direct_answer == "Yes"
    assert answer.text == "Yes\n\nThe two reports differ in tone. [unsupported]"
    assert answer.notice.startswith("1 sentence of the model's answer cites no source")


def test_a_lead_without_a_cited_justification_falls_back():
    answer, written = answer_with_model(Replay("Answer: Government forces"), extractive())
    assert written is None and FALLBACK_SUFFIX in answer.notice
    assert answer.text == extractive().text


def test_the_prompt_gives_outlet_and_date_and_marks_yes_no_questions():
    model = Replay("Answer: No\nBecause: Rebels attacked [2].")
    seen = {}

    def stream(messages, max_tokens, stop=None):
        seen["messages"] = messages
        yield from Replay.stream(model, messages, max_tokens)

    model.stream = stream
    list(generate_answer(model, "Did rebels attack?", CITES))
    prompt = seen["messages"][-1]["content"]
    assert "[2] Turkish-backed rebels attacked from the north. (Wire, 2017-02-08)" in prompt
    assert "yes/no" in prompt.lower()


def test_the_extractive_answer_leads_with_the_answer_span():
    text = answer_text(CITES)
    assert text.startswith("Government forces [1].\n\n")
    assert CITES[0].text + " [1]" in text and CITES[1].text + " [2]" in text
    assert answer_text(CITES[1:]) == CITES[1].text + " [2]"  # no span: only the quotation


@pytest.mark.parametrize(("settings", "expected"), [
    (Settings(answerer="extractive"), "extractive"),
    (Settings(answerer="served", llm_url="http://x"), "served"),
    (Settings(answerer="auto", llm_url="http://x"), "served"),
    (Settings(answerer="auto", local_model="/nonexistent.gguf"), "extractive"),
])
def test_one_setting_chooses_the_answerer(settings, expected):
    assert resolve_answerer(settings) == expected


def test_the_answerer_setting_is_checked_and_follows_the_precedence(tmp_path):
    (tmp_path / "newsdesk.toml").write_text('answerer = "local"\n')
    assert load_settings(env={}, cwd=tmp_path).answerer == "local"
    assert load_settings(env={"NEWSDESK_ANSWERER": "served"}, cwd=tmp_path).answerer == "served"
    assert load_settings({"answerer": "extractive"}, env={"NEWSDESK_ANSWERER": "served"},
                         cwd=tmp_path).answerer == "extractive"
    with pytest.raises(NewsdeskError, match="answerer 'bogus' is not one of"):
        load_settings({"answerer": "bogus"}, env={}, cwd=tmp_path)


# ---- joining a packaged model's parts -----------------------------------------------------

def tiny_gguf(architecture: str = "qwen2", payload: int = 50_000) -> bytes:
    """A GGUF header with `general.architecture` and filler: enough for the checks here."""
    key, value = b"general.architecture", architecture.encode()
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    head += struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
    head += struct.pack("<Q", len(value)) + value
    return head + bytes(i % 251 for i in range(payload))


def split_parts(data: bytes, folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // n)
    parts = []
    for i in range(n):
        part = folder / f"part{i + 1:02d}.bin"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def packaged(data: bytes, architecture: str = "qwen2") -> PackagedModel:
    return PackagedModel("tiny", "a test model", "tiny-part", 4, "1", len(data),
                         hashlib.sha256(data).hexdigest(), architecture)


def test_parts_are_joined_verified_and_stamped(tmp_path):
    data = tiny_gguf()
    parts = split_parts(data, tmp_path / "parts", 4)
    path = tmp_path / "cache" / "tiny.gguf"
    seen = []
    assert assemble(parts, path, packaged(data), lambda d, t: seen.append((d, t))) == path
    assert path.read_bytes() == data and gguf_architecture(path) == "qwen2"
    assert json.loads(path.with_name("tiny.gguf.verified").read_text())["sha256"] == \
        hashlib.sha256(data).hexdigest()
    assert seen[-1] == (len(data), len(data))
    assert not path.with_name("tiny.gguf.partial").exists()


def test_a_torn_join_resumes_after_its_whole_parts(tmp_path):
    data = tiny_gguf()
    parts = split_parts(data, tmp_path / "parts", 4)
    path = tmp_path / "cache" / "tiny.gguf"
    path.parent.mkdir()
    # Killed while writing the third part: two whole parts and a torn piece of the third.
    torn = parts[0].read_bytes() + parts[1].read_bytes() + parts[2].read_bytes()[:100]
    path.with_name("tiny.gguf.partial").write_bytes(torn)
    written = []
    assemble(parts, path, packaged(data), lambda d, t: written.append(d))
    assert path.read_bytes() == data
    assert written[0] > len(torn) - 100  # it went on after the whole parts, not from zero


@pytest.mark.parametrize(("damage", "message"), [
    ("size", "has 49,999 bytes"), ("sha", "sha256"), ("architecture", "architecture 'llama'")])
def test_a_wrong_model_is_refused_and_not_kept(tmp_path, damage, message):
    data = tiny_gguf()
    expected = packaged(data)
    if damage == "size":
        data = data[:-1]
    elif damage == "sha":
        data = data[:-1] + b"\x00"
    else:
        data = tiny_gguf("llama")
        expected = packaged(data, "qwen2")
    parts = split_parts(data, tmp_path / "parts", 4)
    path = tmp_path / "cache" / "tiny.gguf"
    if damage == "size":
        message = f"has {len(data):,} bytes"
    with pytest.raises(NewsdeskError, match=message):
        assemble(parts, path, expected)
    assert not path.exists() and not path.with_name("tiny.gguf.partial").exists()


def test_a_surname_answer_is_completed_to_the_full_name_the_cited_articles_give():
    cites = [citation(1, "While Swift has attended a few of his games, he supports her career."),
             citation(2, "She has the tour booked all through next year.")]
    cites[1] = replace(cites[1], title="A timeline of Taylor Swift’s NFL takeover")
    question = "Which artist has a fully booked tour and attended his games?"
    written = written_answer("Answer: Swift\nBecause: She attended his games [1].", cites, question)
    assert written.lead == "Taylor Swift" and not written.ungrounded
    # A capitalised word that only opens a sentence is not part of a name.
    alone = written_answer("Answer: Swift\nBecause: She attended his games [1].", cites[:1],
                           question)
    assert alone.lead == "Swift"
