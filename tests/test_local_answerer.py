"""The local answerer with the real packaged model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) run in
the test process or the CLI's by llama.cpp (xllamacpp): the direct answer first, its
citations checked, the stored sentences shown, the model loaded once per process, and another
GGUF file usable in its place. Slow: each answer takes seconds on 2 cores.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import NEWSDESK, run_json
from servers import gguf_path

from assistant.engine import Assistant, Conversation
from assistant.generate import MODEL_FOUND_NO_ANSWER
from assistant.local_model import _LOADED, LocalGenerator, ModelChoice
from index.errors import NewsdeskError
from index.settings import Settings

pytestmark = pytest.mark.slow

AL_BAB = "Who besieged al-Bab?"
YES_NO = "Has the town of Al-Bab been besieged since Monday?"
BESIEGED = ("The town has been besieged since Monday, when government forces advancing from the "
            "south cut off a road leading into Al-Bab.")
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def local(sample_home) -> Assistant:
    return Assistant(Settings(home=str(sample_home), answerer="local"))


def stored_and_verbatim(assistant: Assistant, answer) -> None:
    stored = assistant.store.get_articles(sorted({c.article_id for c in answer.citations}))
    for c in answer.citations:
        assert stored[c.article_id].text[c.start:c.end] == c.text


def test_the_local_model_answers_who_with_the_name_first_and_cites_it(local):
    evidence, deltas = [], []
    answer = local.ask(AL_BAB, on_evidence=evidence.append, on_delta=deltas.append)
    assert evidence and evidence[0].citations[0].text == BESIEGED  # shown before the model wrote
    assert answer.model.endswith("(local)") and not answer.notice, answer.notice
    assert "government forces" in answer.direct_answer.lower()
    assert answer.text.lower().startswith(answer.direct_answer.lower())
    assert "[1]" in answer.text and {int(n) for n in MARKER.findall(answer.text)} <= {
        c.number for c in answer.citations}
    assert len(deltas) >= 3 and "Answer:" not in "".join(deltas)
    assert answer.timings["evidence_ms"] < answer.timings["first_token_ms"]
    stored_and_verbatim(local, answer)


def test_a_yes_no_question_is_answered_yes_or_no_first(local):
    answer = local.ask(YES_NO)
    assert answer.direct_answer in {"Yes", "No"}, answer.text
    assert answer.text.startswith(answer.direct_answer)
    assert answer.direct_answer == "Yes"  # the cited sentence says so
    stored_and_verbatim(local, answer)


def test_follow_ups_are_rewritten_by_the_local_model_and_keep_stored_citations(local):
    conversation = Conversation()
    local.ask(AL_BAB, conversation)
    follow = local.ask("And when did that start?", conversation)
    assert follow.standalone_question != follow.question
    stored_and_verbatim(local, follow)


def test_sentences_on_the_topic_that_do_not_answer_give_an_abstention_not_a_guess(local):
    # Retrieval finds on-topic sentences (IS fighters deserting al-Bab) but none names a
    # commander: the model must say so, and the answer is an abstention showing them as closest.
    answer = local.ask("Who commands the IS fighters in al-Bab?")
    assert answer.abstained and answer.abstain_reason == MODEL_FOUND_NO_ANSWER, answer.text
    assert not answer.citations and answer.closest and not answer.direct_answer
    stored_and_verbatim(local, replace(answer, citations=answer.closest))


def test_the_model_loads_once_per_process(sample_home, local):
    again = Assistant(Settings(home=str(sample_home), answerer="local"))
    assert isinstance(again.generator, LocalGenerator)
    assert again.generator._model is local.generator._model
    assert len([p for p in _LOADED if p.name.startswith("qwen2.5-coder-1.5b")]) == 1
    info = again.answerer_info()
    assert info["answerer"] == "local" and info["sha256"].startswith("cc324af070c2")


def test_another_gguf_file_can_be_the_local_model(sample_home):
    smol = gguf_path()
    assistant = Assistant(Settings(home=str(sample_home), answerer="local",
                                   local_model=str(smol)))
    answer = assistant.ask(AL_BAB)
    assert answer.citations[0].text == BESIEGED
    # SmolLM2-135M may write nothing usable: then the extractive answer stands, with a notice.
    assert answer.model == f"{smol.name} (local)" or "showing the cited sentences" in answer.notice
    assert assistant.answerer_info()["model"] == smol.name


def test_a_missing_model_file_is_one_line(tmp_path):
    with pytest.raises(NewsdeskError, match="neither a packaged model") as info:
        ModelChoice.resolve(str(tmp_path / "missing.gguf"), tmp_path)
    assert "\n" not in str(info.value)


def read_as_written(args: list[str], home: Path) -> tuple[list[str], str]:
    env = {**os.environ, "NEWSDESK_HOME": str(home), "NEWSDESK_ANSWERER": "local"}
    proc = subprocess.Popen([NEWSDESK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    reads = []
    while chunk := os.read(proc.stdout.fileno(), 65536):
        reads.append(chunk.decode("utf-8", "replace"))
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, stderr[-2000:]
    return reads, "".join(reads)


def test_cli_streams_the_local_answer_then_the_stored_sentences(sample_home):
    reads, stdout = read_as_written(["ask", AL_BAB], sample_home)
    assert len(reads) >= 3, f"the answer came in one piece, not streamed: {reads}"
    assert "government forces" in stdout.lower().split("\n\n")[0]
    assert "Answer:" not in stdout and BESIEGED in stdout
    assert stdout.index("[1] ") > stdout.lower().index("government forces")  # sources after
    answer = run_json("ask", AL_BAB, home=sample_home, env={"NEWSDESK_ANSWERER": "local"})
    assert answer["model"].endswith("(local)") and answer["direct_answer"]
    assert answer["citations"][0]["text"] == BESIEGED
