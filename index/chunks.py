"""Windows of whole consecutive sentences, sized for the embedding model's token limit.

llama-index's SentenceSplitter re-joins and may re-space text, which loses exact offsets, so
chunking is done here over `Sentence` spans: a chunk's text is always
`article.text[chunk.start:chunk.end]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from index.types import Chunk, Sentence


def make_chunks(
    text: str,
    article_id: str,
    sentences: Sequence[Sentence],
    token_counts: Sequence[int],
    max_tokens: int,
) -> list[Chunk]:
    """Greedy windows: add sentences while the window stays within `max_tokens`.

    A single sentence longer than the limit becomes a chunk of its own (the embedder truncates
    it); it is never cut, because a chunk must be made of whole sentences.
    """
    chunks: list[Chunk] = []
    first = 0
    used = 0
    for i, count in enumerate(token_counts):
        if i > first and used + count > max_tokens:
            chunks.append(_chunk(text, article_id, len(chunks), sentences, first, i))
            first, used = i, 0
        used += count
    if first < len(sentences):
        chunks.append(_chunk(text, article_id, len(chunks), sentences, first, len(sentences)))
    return chunks


def _chunk(text: str, article_id: str, index: int, sentences: Sequence[Sentence],
           first: int, stop: int) -> Chunk:
    start, end = sentences[first].start, sentences[stop - 1].end
    return Chunk(article_id, index, first, stop, start, end, text[start:end])


def count_tokens_with(tokenizer) -> Callable[[list[str]], list[int]]:
    """A batch token counter from a Hugging Face tokenizer (special tokens excluded)."""

    def count(texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = tokenizer(texts, add_special_tokens=False, truncation=False,
                            return_attention_mask=False, return_token_type_ids=False)
        return [len(ids) for ids in encoded["input_ids"]]

    return count
