"""The core types that cross every layer boundary.

They are plain dataclasses so that any layer (and any test) can build, compare and serialise
them without importing the machinery that produced them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Sentence:
    """A sentence is a span of its article, never a copy: `article.text[start:end]` is it."""

    article_id: str
    index: int
    start: int
    end: int


@dataclass
class Article:
    """One news article as indexed.

    `id` is a content hash over the identity key and the normalised content, so re-indexing the
    same article is a no-op and an edited one gets a new id that replaces the old version
    (found through the shared `key`).
    """

    id: str
    key: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    author: str = ""
    category: str = ""
    published_at: str = ""  # ISO 8601 when it could be parsed, else the raw value
    origin: str = ""  # "file" or "file:line", for messages; not part of the identity
    sentences: list[Sentence] = field(default_factory=list)

    def sentence_text(self, sentence: Sentence) -> str:
        return self.text[sentence.start : sentence.end]

    def metadata(self) -> dict:
        d = asdict(self)
        d.pop("sentences")
        d.pop("text")
        return d


@dataclass(frozen=True)
class Chunk:
    """A window of whole consecutive sentences of one article: what is embedded and retrieved.

    `sentence_start`/`sentence_end` are a half-open range of sentence indexes and
    `start`/`end` the character span they cover in the article text.
    """

    article_id: str
    index: int
    sentence_start: int
    sentence_end: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.index}"


@dataclass(frozen=True)
class LoadError:
    """A problem with one input record, reported as one line and never raised mid-run."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"
