"""Sentence offsets are exact on any text: `text[start:end]` is the sentence, always."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunks import make_chunks
from index.sentences import paragraph_bounds, split_sentences

PIECES = st.sampled_from([
    "Dr. Smith", "the U.N.", "Jan. 2017", "$3.5 million", "\u201cQuoted,\u201d she said.",
    "'Single'", "No.", "e.g.", "Mr. O\u2019Neil", "Ünïcödé", "日本語の文。", "emoji 🚀.",
    "...", "?!", "\n", "\n\n", "  ", "\t", "\u00a0", "\u2028", "\r\n", ".", "a", "Al-Bab",
])
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=40).map(" ".join)


def assert_exact(text: str) -> None:
    sentences = split_sentences(text, "a1")
    previous_end = 0
    for i, s in enumerate(sentences):
        piece = text[s.start:s.end]
        assert s.index == i and s.article_id == "a1"
        assert piece and piece == piece.strip(), (text, s)
        assert s.start >= previous_end, "sentences overlap or go backwards"
        assert "\n" not in piece, "a sentence crossed a line break"
        previous_end = s.end
    # Nothing but whitespace is left out.
    covered = set()
    for s in sentences:
        covered.update(range(s.start, s.end))
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_offsets_are_exact_on_arbitrary_text(text):
    assert_exact(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_offsets_are_exact_on_any_unicode(text):
    assert_exact(text)


def test_news_sentences_split_where_a_reader_would():
    text = ('Dr. Smith met the U.N. envoy on Jan. 5. He said "No." Then left.  '
            "It cost $3.5 million.\n\n\u201cQuoted,\u201d she said. Mr. X agreed?")
    got = [text[s.start:s.end] for s in split_sentences(text)]
    assert got == ["Dr. Smith met the U.N. envoy on Jan. 5.", 'He said "No."', "Then left.",
                   "It cost $3.5 million.", "\u201cQuoted,\u201d she said.", "Mr. X agreed?"]


def test_paragraph_bounds_hold_the_sentence():
    text = "First para. Two.\nSecond para here. And more.\n\nThird."
    sentences = split_sentences(text)
    s = sentences[3]
    start, end = paragraph_bounds(text, s.start, s.end)
    assert text[start:end] == "Second para here. And more."


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.integers(min_value=1, max_value=30))
def test_chunks_are_whole_consecutive_sentences(text, limit):
    sentences = split_sentences(text, "a1")
    counts = [len(text[s.start:s.end].split()) for s in sentences]
    chunks = make_chunks(text, "a1", sentences, counts, limit)
    assert [i for c in chunks for i in range(c.sentence_start, c.sentence_end)] == list(
        range(len(sentences)))
    for c in chunks:
        assert c.text == text[c.start:c.end]
        assert c.start == sentences[c.sentence_start].start
        assert c.end == sentences[c.sentence_end - 1].end
        window = sum(counts[c.sentence_start:c.sentence_end])
        assert window <= limit or c.sentence_end - c.sentence_start == 1
