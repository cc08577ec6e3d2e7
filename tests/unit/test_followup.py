"""Follow-up rewriting on the kind of conversations a newsroom has about the sample corpora:
the siege of al-Bab, Taylor Swift and Travis Kelce, Sam Altman and OpenAI, the FTX trial."""

from __future__ import annotations

import pytest

from assistant.followup import Turn, is_follow_up, rewrite

AL_BAB = Turn("Who besieged al-Bab?", "Who besieged al-Bab?", "government forces")
SWIFT = Turn("Who is Taylor Swift dating?", "Who is Taylor Swift dating?", "Travis Kelce")
ALTMAN = Turn("Why was Sam Altman fired from OpenAI?", "Why was Sam Altman fired from OpenAI?")
SBF = Turn("When did Sam Bankman-Fried's trial start?",
           "When did Sam Bankman-Fried's trial start?", "Tuesday")
MIAMI = Turn("How much do Inter Miami's premium packages cost in 2024?",
             "How much do Inter Miami's premium packages cost in 2024?", "over $45,000")
HAMAS = Turn("When did Hamas attack Israel?", "When did Hamas attack Israel?", "Saturday")


@pytest.mark.parametrize("question", [
    "and when did that start?",
    "who else was there?",
    "why?",
    "since when?",
    "Who won?",
    "what about Raqqa?",
    "But did they take the town?",
    "Also, how long has it been going on?",
    "did they break up?",
    "is he still the CEO?",
    "Who replaced him?",
    "what did she say about it?",
    "how many people died there?",
    "Were there any casualties?",
    "was it the same week?",
    "And then what happened?",
    "so what was the verdict?",
    "How about Greg Brockman?",
])
def test_follow_ups_are_recognised(question):
    assert is_follow_up(question)


@pytest.mark.parametrize("question", [
    "What is the capital of Syria?",
    "Who besieged al-Bab?",
    "Who is Taylor Swift dating?",
    "who is taylor swift dating?",
    "Who is Messi?",
    "When was Sam Altman fired from OpenAI?",
    "How many Turkish soldiers were killed near al-Bab?",
    "Why did Sam Bankman-Fried go on trial?",
    "Is Travis Kelce dating Taylor Swift?",
    "What did Erdogan say about Raqqa?",
    "Who said that Turkey would push on to Raqqa?",  # "that" as a conjunction
    "What is OpenAI?",
])
def test_standalone_questions_are_not_follow_ups(question):
    assert not is_follow_up(question)


def test_no_history_or_not_a_follow_up_leaves_the_question_unchanged():
    assert rewrite("and when did that start?", []) == "and when did that start?"
    assert rewrite("Who is Taylor Swift dating?", [AL_BAB]) == "Who is Taylor Swift dating?"
    assert rewrite("What is the capital of Syria?", [AL_BAB]) == "What is the capital of Syria?"


def test_when_did_that_start_carries_the_siege():
    searched = rewrite("and when did that start?", [AL_BAB])
    assert searched == "When did that start? (about: government forces besieged al-Bab)"


def test_who_else_was_there_carries_al_bab():
    searched = rewrite("who else was there?", [AL_BAB])
    assert searched.startswith("Who else was there?")
    assert "al-Bab" in searched


@pytest.mark.parametrize(("history", "question", "kept", "topic"), [
    ([AL_BAB], "why?", "Why?", ["al-Bab", "government forces"]),
    ([AL_BAB], "But did they take the town?", "Did they take the town?", ["al-Bab"]),
    ([AL_BAB], "what about the casualties?", "What about the casualties?", ["al-Bab"]),
    ([SWIFT], "when did they meet?", "When did they meet?", ["Taylor Swift", "Travis Kelce"]),
    ([SWIFT], "Is he playing this weekend?", "Is he playing this weekend?", ["Travis Kelce"]),
    ([SWIFT], "did they break up?", "Did they break up?", ["Taylor Swift"]),
    ([ALTMAN], "Who replaced him?", "Who replaced him?", ["Sam Altman", "OpenAI"]),
    ([ALTMAN], "is he still the CEO?", "Is he still the CEO?", ["Sam Altman", "OpenAI"]),
    ([SBF], "so what was the verdict?", "What was the verdict?", ["Sam Bankman-Fried"]),
    ([SBF], "what did she say about it?", "What did she say about it?", ["Bankman-Fried"]),
    ([MIAMI], "why so expensive?", "Why so expensive?", ["Inter Miami", "$45,000"]),
    ([HAMAS], "how many people died there?", "How many people died there?",
     ["Hamas", "Israel", "Saturday"]),
    ([HAMAS], "Were there any casualties?", "Were there any casualties?", ["Hamas", "Israel"]),
])
def test_rewrite_keeps_the_users_words_and_adds_the_topic(history, question, kept, topic):
    searched = rewrite(question, history)
    assert searched.startswith(kept), searched
    for words in topic:
        assert words in searched, searched


@pytest.mark.parametrize(("history", "question", "expected"), [
    ([AL_BAB], "what about Raqqa?", "Who besieged Raqqa?"),
    ([SWIFT], "what about Travis Kelce?", "Who is Travis Kelce dating?"),
    ([ALTMAN], "How about Greg Brockman?", "Why was Greg Brockman fired from OpenAI?"),
])
def test_what_about_a_name_asks_the_previous_question_about_it(history, question, expected):
    assert rewrite(question, history) == expected


def test_the_answer_fills_the_subject_slot_when_the_question_asked_for_the_subject():
    company = Turn("Which company fired Sam Altman?", "Which company fired Sam Altman?",
                   "OpenAI's board")
    assert rewrite("why?", [company]) == "Why? (about: OpenAI's board fired Sam Altman)"


def test_a_chain_of_follow_ups_keeps_the_original_topic():
    history = [AL_BAB]
    second = rewrite("and when did that start?", history)
    history.append(Turn("and when did that start?", second, "Monday"))
    third = rewrite("who else was there?", history)
    assert third.startswith("Who else was there?")
    assert "al-Bab" in third and "government forces" in third and "Monday" in third
    history.append(Turn("who else was there?", third))
    fourth = rewrite("did they take the town?", history)
    assert fourth == "Did they take the town? (about: government forces besieged al-Bab)"


def test_a_chain_after_what_about_follows_the_new_name():
    history = [SWIFT]
    second = rewrite("what about Travis Kelce?", history)
    history.append(Turn("what about Travis Kelce?", second, "Taylor Swift"))
    third = rewrite("since when?", history)
    assert third.startswith("Since when?")
    assert "Travis Kelce" in third and "Taylor Swift" in third


def test_a_new_standalone_question_resets_the_topic():
    history = [AL_BAB, Turn("When was Sam Altman fired from OpenAI?",
                            "When was Sam Altman fired from OpenAI?", "November 17")]
    searched = rewrite("who replaced him?", history)
    assert "Sam Altman" in searched and "al-Bab" not in searched


def test_a_question_already_carrying_its_topic_gets_no_suffix():
    history = [HAMAS]
    searched = rewrite("and did Hamas attack Israel on Saturday?", history)
    assert searched == "Did Hamas attack Israel on Saturday?"
