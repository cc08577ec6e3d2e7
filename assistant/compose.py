"""The extractive answer: the sentences that answer, numbered in order of first use.

No generative model is needed: the answer *is* the cited evidence (led by the answer span a
rule found in it), so it cannot state anything the corpus does not. It is also the evidence a
model answers from, and the answer shown when no model is set or the model fails. Which
sentences to show, and when to abstain, are decided by thresholds calibrated on the
MultiHop-RAG dev queries (bench/bench_assistant.py prints the calibration).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.cite import make_citation
from assistant.retrieve import UNRANKED, Candidate, Pool, without_furniture
from assistant.types import Citation

NO_EVIDENCE = "The corpus does not hold an answer to this question."


@dataclass(frozen=True)
class Policy:
    # Calibrated on the MultiHop-RAG dev queries: 0.02 under the lowest best similarity of an
    # answerable query (0.359; a sentence's similarity mixes in its headline's, see
    # `rerank.Weights.headline`); 17 of the 20 null queries score under it. (Before that mix,
    # with sentences embedded behind their headline, the same rule gave 0.38.)
    min_similarity: float = 0.34
    # Abstain when the question names at least this many things the corpus never mentions
    # (see `assistant.abstain`), unless the evidence is strong anyway (similarity >= ceiling,
    # kept at the ratio it had to `min_similarity`, 0.5 / 0.38).
    # Dev: null queries abstained 0.95, answerable ones wrongly abstained 0.015 (2 of 130).
    abstain_on_unknown_names: bool = True
    max_unknown_names: int = 2
    unknown_names_ceiling: float = 0.45
    # Further citations must score within this margin of the best one.
    margin: float = 0.15
    max_citations: int = 3
    closest: int = 3
    # When a model writes the answer it is given more of the runners-up: a multi-hop question
    # needs sentences from several articles, and the extractive choice (1.75 sentences on
    # average on the MultiHop-RAG dev queries) often holds only one of them. Measured on 40 dev
    # questions with the 1.5B model: answer accuracy 0.65 -> 0.70, first token +0.9 s.
    model_max_citations: int = 5
    model_margin: float = 0.3
    # The model is also given the sentence before each of its first `model_context_before`
    # citations: a sentence scored alone often names its subject in the sentence before it
    # ("Meet the new CEO of Vanguard ..."). Measured with the 1.5B model (docs/ANSWERS.md):
    # the one before the best sentence lifts RealTimeQA's written answer 0.554 -> 0.595
    # (first token +0.55 s there), MultiHop-RAG unchanged (0.685, first token the same), RGB
    # negative rejection 0.400 -> 0.367 (one case); two before: 0.608, but +1.2 s and MultiHop
    # null abstention 1.00 -> 0.95. The extractive answer quotes only what was ranked (0).
    model_context_before: int = 1
    context_before: int = 0

    def for_model(self) -> Policy:
        """The same policy with the model's wider choice of evidence."""
        return replace(self, max_citations=self.model_max_citations, margin=self.model_margin,
                       context_before=self.model_context_before)


def with_context(chosen: list[Candidate], pool: Pool, before: int) -> list[Candidate]:
    """`chosen`, then the sentence before each of its first `before` sentences, page
    furniture and repeats left out. The neighbours come last so that the ranked evidence keeps
    its numbers ([1] is still the best sentence)."""
    taken = {c.key for c in chosen}
    ranked = {c.key: c for c in pool.candidates if c.score != UNRANKED}
    neighbours: list[Candidate] = []
    for c in chosen[:max(before, 0)]:
        article = pool.articles.get(c.ref.article_id)
        if article is None or c.ref.index == 0:
            continue
        ref = article.sentences[c.ref.index - 1]
        key = (ref.article_id, ref.index)
        text = article.sentence_text(ref)
        if key in taken or not text.strip():
            continue
        taken.add(key)
        neighbours.append(ranked.get(key) or Candidate(ref, c.info, text, score=c.score))
    return chosen + without_furniture(neighbours, pool.lexical)


def select(pool: Pool, policy: Policy) -> list[Candidate]:
    """The best candidate, then close runners-up with different text, up to the limit."""
    ranked = pool.ranked()
    if not ranked:
        return []
    chosen = [ranked[0]]
    texts = {ranked[0].text}
    for c in ranked[1:]:
        if len(chosen) >= policy.max_citations or c.score < ranked[0].score - policy.margin:
            break
        if c.text not in texts:
            chosen.append(c)
            texts.add(c.text)
    return chosen


def cite_all(candidates: list[Candidate], pool: Pool, question: str,
             mark_span: bool = True) -> list[Citation]:
    return [make_citation(i, c, pool.articles[c.ref.article_id], question, mark_span)
            for i, c in enumerate(candidates, start=1)]


def direct_answer(citations: list[Citation]) -> str:
    """The rule-found answer span of the best citation, as the answer's opening words."""
    span = citations[0].span_text.strip() if citations else ""
    return span[:1].upper() + span[1:] if span else ""


def answer_text(citations: list[Citation]) -> str:
    """The extractive answer: the answer span first where a rule found one ("Government forces
    [1]."), then the cited sentences themselves."""
    quotes = " ".join(f"{c.text} [{c.number}]" for c in citations)
    lead = direct_answer(citations)
    if not lead:
        return quotes
    return f"{lead} [{citations[0].number}].\n\n{quotes}"
