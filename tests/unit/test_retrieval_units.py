"""Unit tests of the small rules retrieval and the extractive answer rest on, without a model:
what a question names (`assistant.query_meta`), the names a corpus never mentions
(`assistant.abstain`) and which candidates become citations (`assistant.compose.select`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assistant.abstain import named_terms, unknown_names
from assistant.compose import Policy, select, with_context
from assistant.query_meta import QueryMeta, dates_in, match, meta_score, question_parts
from assistant.rerank import _diversify
from assistant.retrieve import UNRANKED, Candidate, Pool
from index.articles import new_article
from index.lexical_store import ArticleInfo, SqliteLexicalStore
from index.sentences import split_sentences
from index.types import Sentence

# ---- query_meta ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("What did CBSSports.com report on October 12, 2023?", {date(2023, 10, 12)}),
    ("the piece of 12th Oct 2023", {date(2023, 10, 12)}),
    ("published Sept. 3, 2022 and 2021-02-03", {date(2022, 9, 3), date(2021, 2, 3)}),
    ("on 3 September 2022, again on September 3rd, 2022", {date(2022, 9, 3)}),
    ("February 30, 2023 and 2021-13-01 are no dates", set()),
    ("in 2023, in October, on the 12th", set()),
])
def test_dates_in_a_question(text, expected):
    assert dates_in(text) == expected


def test_outlets_are_matched_whole_case_blind_and_by_their_short_form():
    outlets = ["CBSSports.com", "The Roar | Sports Writers Blog", "BBC", "AP", ""]
    meta = match("Did the roar and cbssports.com agree, per the BBCs?", outlets)
    assert meta.sources == {"The Roar | Sports Writers Blog", "CBSSports.com"}
    assert meta.dates == frozenset()
    # A short form under four characters is never matched alone ("AP" in "AP | Wire" is not).
    assert match("What did AP say?", ["AP | Wire"]).sources == frozenset()
    assert match("What did AP | Wire say?", ["AP | Wire"]).sources == {"AP | Wire"}


def ts(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


def test_meta_score_is_source_named_and_date_within_a_day():
    meta = QueryMeta(frozenset({"BBC"}), frozenset({date(2023, 10, 12)}))
    assert meta_score(meta, ArticleInfo("t", "BBC", "2023-10-12", ts("2023-10-12"))) == (1, 1)
    assert meta_score(meta, ArticleInfo("t", "CNN", "", ts("2023-10-13T23:00:00"))) == (0, 1)
    assert meta_score(meta, ArticleInfo("t", "BBC", "", ts("2023-10-14"))) == (1, 0)
    assert meta_score(meta, ArticleInfo("t", "BBC", "soon", None)) == (1, 0)


def test_a_many_part_question_is_split_into_clauses_worth_matching():
    question = ("Did the article from CBSSports.com on October 12, 2023, and the report by "
                "The Verge on October 14, 2023, both mention the trade?")
    parts = question_parts(question)
    assert len(parts) == 3
    assert parts[0] == "Did the article from CBSSports.com on October 12"
    assert "The Verge" in parts[1] and "mention the trade" in parts[2]
    assert question_parts("Who besieged al-Bab?") == []  # one clause: nothing to split
    # A trailing short piece joins the last part instead of standing alone.
    assert question_parts("Who won the cup final, and who scored the goal, then?") == [
        "Who won the cup final", "who scored the goal then"]


# ---- abstain -------------------------------------------------------------------------------


def test_named_terms_are_capitalised_words_after_the_first():
    assert named_terms("Who did Indrani Roy meet in Paris after Roy's speech?") == [
        "Indrani", "Roy", "Paris", "Roy's"]
    # The first word, function words and titles are not names, however capitalised.
    assert named_terms("Paris: What Did The CEO of Acme say?") == ["Acme"]
    assert named_terms("what happened yesterday?") == []


@pytest.fixture
def lexical(tmp_path):
    article = new_article(title="Paris talks", source="Wire",
                          text="Ministers met in Paris on Monday. Roy Keane was not there.")
    article.sentences = split_sentences(article.text, article.id)
    store = SqliteLexicalStore(tmp_path / "lexical.sqlite3")
    store.write([article])
    yield store
    store.close()


def test_unknown_names_are_those_no_sentence_headline_or_outlet_holds(lexical):
    assert unknown_names("Who did Indrani Roy meet in Paris?", lexical) == ["Indrani"]
    # Each unknown name once, without its possessive; digits are no names.
    assert unknown_names("What did Zorblat say of Zorblat's T22 plan at Wire?", lexical) == [
        "Zorblat"]
    assert unknown_names("Who met in Paris on Monday?", lexical) == []


# ---- compose.select ------------------------------------------------------------------------


def candidate(i: int, score: float, text: str | None = None, article: str = "") -> Candidate:
    """Sentence 0 of its own article `a<i>`, or sentence `i` of `article` when one is named."""
    ref = Sentence(article, i, 0, 10) if article else Sentence(f"a{i}", 0, 0, 10)
    return Candidate(ref, ArticleInfo("t", "s", "", None), text or f"sentence {i}", score=score)


def pool(*candidates: Candidate) -> Pool:
    return Pool("q", None, QueryMeta(frozenset(), frozenset()), list(candidates), {}, {}, None)


def test_select_takes_the_best_then_close_runners_up():
    c = [candidate(0, 1.0), candidate(1, 0.9), candidate(2, 0.86), candidate(3, 0.5)]
    assert select(pool(*c), Policy(margin=0.15, max_citations=3)) == c[:3]
    assert select(pool(*c), Policy(margin=0.12, max_citations=3)) == c[:2]
    assert select(pool(*c), Policy(margin=0.15, max_citations=1)) == c[:1]


def test_select_skips_repeated_text_and_filtered_candidates():
    c = [candidate(0, float("-inf")), candidate(1, 0.8, "same"), candidate(2, 0.79, "same"),
         candidate(3, 0.75)]
    assert select(pool(*c), Policy(margin=0.15, max_citations=2)) == [c[1], c[3]]
    assert select(pool(candidate(0, float("-inf"))), Policy()) == []
    assert select(pool(), Policy()) == []


def test_ranked_leaves_out_what_the_reranker_left_out_and_keeps_the_order():
    c = [candidate(0, 0.9), candidate(1, UNRANKED), candidate(2, 0.95), candidate(3, 0.1)]
    assert pool(*c).ranked() == [c[0], c[2], c[3]]
    assert pool(candidate(0, UNRANKED)).ranked() == []


def test_the_model_policy_cites_more_of_the_runners_up():
    c = [candidate(i, 1.0 - 0.07 * i) for i in range(7)]
    policy = Policy()
    assert len(select(pool(*c), policy)) == 3  # within 0.15, at most 3
    wider = policy.for_model()
    assert (wider.max_citations, wider.margin) == (policy.model_max_citations,
                                                   policy.model_margin)
    assert select(pool(*c), wider) == c[:5]  # within 0.3, at most 5
    # Only the model is given the sentence before its best one; the extractive answer is not.
    assert (policy.context_before, wider.context_before) == (0, policy.model_context_before)


# ---- rerank._diversify ----------------------------------------------------------------------


def test_one_long_page_does_not_fill_the_top_ranks_past_its_share():
    long_page = [candidate(i, 1.0 - 0.01 * i, article="long") for i in range(6)]
    other = candidate(0, 0.6, article="other")
    ranked = [*long_page, other]
    _diversify(ranked, penalty=0.1, share=3, over_share=0.3)
    # The page's first three sentences pay 0, 0.1 and 0.2; its fourth would pay 0.3 + 0.3,
    # so the other page's weaker sentence (0.6) comes before it.
    assert [(c.ref.article_id, c.ref.index) for c in ranked[:5]] == [
        ("long", 0), ("long", 1), ("long", 2), ("other", 0), ("long", 3)]
    # Without the share rule the page's fourth sentence (0.97 - 0.3) still wins.
    ranked = [*long_page, other]
    _diversify(ranked, penalty=0.1)
    assert ranked[3].ref.article_id == "long"


# ---- compose.with_context ------------------------------------------------------------------


def test_the_model_gets_the_sentence_before_its_best_one_after_the_ranked_ones(tmp_path):
    article = new_article(title="Vanguard", source="Wire", text=(
        "Meet the new chief executive of Vanguard. Read more "
        "\nSalim Ramji takes over in July. He joins from BlackRock."))
    article.sentences = split_sentences(article.text, article.id)
    texts = [article.sentence_text(s) for s in article.sentences]
    assert texts[1] == "Read more"  # page furniture between the two
    store = SqliteLexicalStore(tmp_path / "lexical.sqlite3")
    store.write([article])
    info = ArticleInfo("Vanguard", "Wire", "", None)

    def ranked(index: int, score: float) -> Candidate:
        return Candidate(article.sentences[index], info, texts[index], score=score)

    def context(chosen, before=1):
        p = Pool("q", None, QueryMeta(frozenset(), frozenset()), list(chosen),
                 {article.id: article}, {}, store)
        return [c.text for c in with_context(list(chosen), p, before)]

    try:
        best, other = ranked(3, 0.9), ranked(0, 0.5)
        # The sentence before the best one, last so that [1] stays the best sentence.
        assert context([best, other]) == [texts[3], texts[0], texts[2]]
        # Nothing before the first sentence; furniture and what is already cited are skipped.
        assert context([other]) == [texts[0]]
        assert context([ranked(2, 0.9)]) == [texts[2]]
        assert context([best, ranked(2, 0.8)]) == [texts[3], texts[2]]
        assert context([best], before=0) == [texts[3]]
    finally:
        store.close()
