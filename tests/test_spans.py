"""Answer spans on real cited sentences from the al-Bab sample and the MultiHop-RAG articles.

Every sentence is checked to be verbatim in its corpus, so the cases stay what the assistant
really cites, not sentences written to suit the rules.
"""

from __future__ import annotations

import json

import pytest
from conftest import AL_BAB, MULTIHOP_ARTICLES

from assistant.question_kind import COUNT, WHEN, WHERE, WHO, question_type
from assistant.spans import Span, answer_span

BESIEGED = ("The town has been besieged since Monday, when government forces advancing from "
            "the south cut off a road leading into Al-Bab.")
ERDOGAN = ("Recep Tayyip Erdogan said Sunday before flying to Bahrain that IS fighters have begun "
           "deserting al-Bab, which has been under attack for weeks.")
IS_CONTROL = ("Al-Bab has been under IS control since 2014, when the group seized large swathes "
              "of territory in Syria and neighbouring Iraq, proclaiming its self-described "
              "caliphate.")
YILDIRIM = ("Turkish Prime Minister Binali Yildirim said earlier this week that clashes with "
            "Syrian forces had been avoided thanks to global coordination, including that between "
            "Turkey and Russian Federation.")
SOLDIER = "One Turkish soldier was killed and another injured during the push to enter the city."
FALLON = ("Western-backed Syrian forces should isolate Islamic State's de facto capital in Syria "
          "\"by the spring\" before an offensive on the city itself, British Defence Secretary "
          "Michael Fallon said on Saturday.")
DAMASCUS = "There was no immediate comment from Damascus on the reported clashes."

SBF_TRIAL = ("The highly anticipated criminal trial for Sam Bankman-Fried, former CEO of bankrupt "
             "crypto exchange FTX, started Tuesday to determine whether he’s guilty of seven "
             "counts of fraud and conspiracy.")
HAMAS = ("On Saturday, the Islamic militant group Hamas launched an unprecedented attack on "
         "Israel, resulting in the worst war the region has seen in 50 years.")
KELCE_BRACELET = ("In July, speaking on the podcast he shares with his brother, New Heights, Kelce "
                  "said he intended to give Swift a friendship bracelet with his number on it "
                  "during her Eras Tour concert in Kansas City.")
ZHAO = ("When Changpeng Zhao, the CEO of Binance, announced on Twitter that he intended to "
        "acquire FTX, Ellison confessed the theft of customer funds to him and a few other "
        "employees, Drappi said.")
INTER_MIAMI = ("The most expensive premium packages at Inter Miami in 2024, which will run "
               "supporters over $45,000, dwarf any of the most luxurious tickets in the Premier "
               "League.")
ARROWHEAD = ("The game is taking place at Arrowhead Stadium, where Swift has performed herself "
             "and attended a game before.")
INVITATION = ("On his podcast, he later invited the “Anti-Hero” singer to one of his games at "
              "Arrowhead Stadium - an invitation she famously accepted on 24 September.")
CHINA_TOUR = ("Likely with the sole intent of keeping Messi fit in that time off, and the added "
              "bonus of raking in significant cash, Inter Miami scheduled a two-match tour of "
              "China in early November after their regular season concluded.")
OSLO = ("The understandings that Israel reached with Hamas in 2012 were made \"to stop the "
        "fighting\", Ortal says, and to get life back to normal as quickly as possible.")
SHIELD = ("FC Cincinnati won the Supporters' Shield as the regular season champion, confirmed on "
          "Wednesday despite suffering defeat.")
NO_INTEL = ("Another user said that no one can carry out such a major attack against Israel "
            "without intelligence support.")

AL_BAB_SENTENCES = [BESIEGED, ERDOGAN, IS_CONTROL, YILDIRIM, SOLDIER, FALLON, DAMASCUS]
MULTIHOP_SENTENCES = [SBF_TRIAL, HAMAS, KELCE_BRACELET, ZHAO, INTER_MIAMI, ARROWHEAD, INVITATION,
                      CHINA_TOUR, OSLO, SHIELD, NO_INTEL]


def marked(question: str, sentence: str) -> str | None:
    span = answer_span(question, sentence)
    if span is None:
        return None
    assert 0 <= span.start < span.end <= len(sentence)
    return sentence[span.start:span.end]


def test_the_sentences_are_verbatim_in_the_corpora():
    al_bab = AL_BAB.read_text(encoding="utf-8")
    for sentence in AL_BAB_SENTENCES:
        assert sentence in al_bab
    bodies = [json.loads(line)["body"]
              for line in MULTIHOP_ARTICLES.read_text(encoding="utf-8").splitlines() if line]
    for sentence in MULTIHOP_SENTENCES:
        assert any(sentence in body for body in bodies), sentence


# The parser reads "government forces" as a relative clause of "Monday" and "Al-Bab" as a
# PERSON: the answer must still be the besiegers, never the town the question names.
def test_who_besieged_al_bab_marks_the_government_forces():
    span = answer_span("Who besieged al-Bab?", BESIEGED)
    assert span is not None
    assert BESIEGED[span.start:span.end] == "government forces"
    assert span == Span(BESIEGED.index("government forces"),
                        BESIEGED.index("government forces") + len("government forces"))


@pytest.mark.parametrize("question", [
    "When was the town besieged?",
    "Since when has al-Bab been besieged?",
])
def test_when_was_the_town_besieged_marks_monday(question):
    assert marked(question, BESIEGED) == "Monday"


@pytest.mark.parametrize(("question", "sentence", "answer"), [
    # who -> the named speaker, with the title the sentence gives them
    ("Who said IS fighters have begun deserting al-Bab?", ERDOGAN, "Recep Tayyip Erdogan"),
    ("Who said clashes with Syrian forces had been avoided?", YILDIRIM,
     "Turkish Prime Minister Binali Yildirim"),
    ("Who said Western-backed forces should isolate Raqqa by the spring?", FALLON,
     "British Defence Secretary Michael Fallon"),
    ("Who launched an unprecedented attack on Israel?", HAMAS, "Islamic militant group Hamas"),
    # the subject of the question's verb, not the other people named in the same sentence
    ("Who announced that he intended to acquire FTX?", ZHAO, "Changpeng Zhao"),
    ("Who confessed the theft of customer funds?", ZHAO, "Ellison"),
    ("Who won the Supporters' Shield?", SHIELD, "FC Cincinnati"),
    # "who did X invite": the object, not the subject
    ("Who did Kelce invite to one of his games?", INVITATION, "“Anti-Hero” singer"),
    # when
    ("When did Erdogan say IS fighters were deserting al-Bab?", ERDOGAN, "Sunday"),
    ("Since when has al-Bab been under IS control?", IS_CONTROL, "2014"),
    ("When did the criminal trial of Sam Bankman-Fried start?", SBF_TRIAL, "Tuesday"),
    ("When did Travis Kelce invite Taylor Swift to a game?", INVITATION, "24 September"),
    ("What year did Israel reach understandings with Hamas?", OSLO, "2012"),
    # where
    ("Where did Erdogan fly to?", ERDOGAN, "Bahrain"),
    ("Where was the Eras Tour concert?", KELCE_BRACELET, "Kansas City"),
    ("Which stadium is the game taking place at?", ARROWHEAD, "Arrowhead Stadium"),
    ("Which country did Inter Miami plan a tour of?", CHINA_TOUR, "China"),
    # how many / how much: "One" is a spaCy stop word but still the answer
    ("How many Turkish soldiers were killed?", SOLDIER, "One"),
    ("How many counts of fraud did Sam Bankman-Fried face?", SBF_TRIAL, "seven"),
    ("How much do the most expensive premium packages at Inter Miami cost?", INTER_MIAMI,
     "over $45,000"),
])
def test_marks_the_answer(question, sentence, answer):
    assert marked(question, sentence) == answer


@pytest.mark.parametrize(("question", "sentence"), [
    # yes/no and why/how questions have no phrase to mark
    ("Was the town besieged?", BESIEGED),
    ("Why has the town been besieged?", BESIEGED),
    ("Is Sam Bankman-Fried guilty of fraud?", SBF_TRIAL),
    # no candidate of the asked type
    ("How many soldiers died?", DAMASCUS),
    ("When did Hamas attack Israel?", NO_INTEL),
    # a candidate of the right type, but not tied to what the question asks: Bahrain is where
    # Erdogan flew, not where the fighters went; the group seized territory, not al-Bab
    ("Where did the IS fighters go?", ERDOGAN),
    ("Who besieged al-Bab?", IS_CONTROL),
    # only the question's own words are of the right type
    ("Who said something about Turkey and Russian Federation?", DAMASCUS),
])
def test_no_confident_span_gives_none(question, sentence):
    assert answer_span(question, sentence) is None


def test_never_marks_the_questions_own_words():
    # spaCy tags "Al-Bab" as a PERSON: it fits "who" but is what the question is about.
    assert marked("Who besieged al-Bab?", BESIEGED) != "Al-Bab"
    assert marked("Where was the road leading into Al-Bab cut off?", BESIEGED) is None


@pytest.mark.parametrize(("question", "kind"), [
    ("Who besieged al-Bab?", WHO),
    ("Whom did Kelce invite?", WHO),
    ("Which company fired Sam Altman?", WHO),
    ("When was the town besieged?", WHEN),
    ("What year did the war start?", WHEN),
    ("Where did Erdogan fly to?", WHERE),
    ("Which city did Turkey target next?", WHERE),
    ("How many soldiers were killed?", COUNT),
    ("How much did FTX lose?", COUNT),
])
def test_question_type(question, kind):
    qtype = question_type(question)
    assert qtype is not None and qtype.kind == kind


@pytest.mark.parametrize("question", [
    "Did Turkey besiege al-Bab?", "Why did Hamas attack Israel?", "How did FTX collapse?",
    "What did Erdogan say?",
])
def test_question_type_none_without_a_phrase_answer(question):
    assert question_type(question) is None


def test_empty_inputs():
    assert answer_span("", BESIEGED) is None
    assert answer_span("Who besieged al-Bab?", "") is None
