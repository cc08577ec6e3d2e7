"""Windows of whole consecutive sentences, sized for the embedding model's token limit.

By default (`Settings.chunk_tokens` 0) every sentence is its own chunk: the dense index then
holds the sentence vectors the reranker reads, and the index run embeds each sentence once
instead of twice (once in a window, once alone). Measured in docs/REALTIMEQA_ANALYSIS.md, 5g.

llama-index's SentenceSplitter re-joins and may re-space text, which loses exact offsets, so
chunking is done here over `Sentence` spans: a chunk's text is always
`article.text[chunk.start:chunk.end]`.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.types import Chunk, Sentence


def make_chunks(
    text: str,
    article_id: str,
    sentences: Sequence[Sentence],
    token_counts: Sequence[int],
    max_tokens: int,
) -> list[Chunk]:
    """Greedy windows: add sentences while the window stays within `max_tokens` (0: one
    sentence a window).

    A single sentence longer than the limit becomes a chunk of its own (the embedder truncates
    it); it is never cut, because a chunk must be made of whole sentences.
    """
    chunks: list[Chunk] = []
    first = 0
    used = 0
    for i, count in enumerate(token_counts):
        if i > first and (max_tokens <= 0 or used + count > max_tokens):
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
