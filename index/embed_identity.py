"""Which embedding model a store's vectors come from, recorded in the store and checked.

Why: with `NEWSDESK_EMBED_URL` the vectors come from whatever model that server happens to
serve. A server with another model (or another dimension) would otherwise mix incomparable
vectors into the store, and every later search would be quietly wrong. A name alone proves
nothing (servers name models as they like), so the identity carries the vector of a fixed
probe sentence: the same model gives the same vector (within float noise, whichever engine:
torch, ONNX, a server), another model a different one.

The identity lives in the article collection's metadata, i.e. with the store itself, so every
machine that writes to a Chroma server checks against the same record. A store written before
identities were recorded is checked against one of its stored headline vectors instead, then
recorded by the next index run.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from index.errors import NewsdeskError

PROBE = "Newsdesk embedding check: government forces besieged al-Bab, 3.5% of the town."
# Same model through different engines: cosine > 0.9999 (float32 noise, measured ~1e-7 per
# component). Unrelated models in the same dimension: near 0. Half-precision or quantised
# serving of the same model stays above this.
MIN_COSINE = 0.99
# What the vectors are of: since the ninth session every text is embedded as it is (a sentence
# alone, its headline's share left to the reranker). Stores recorded before carry no form;
# their sentences were embedded behind their headlines, which the reranker's weights and the
# abstention threshold no longer assume.
TEXT_FORM = "as-is"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingIdentity:
    model: str
    dimension: int
    probe: tuple[float, ...]
    text_form: str = TEXT_FORM

    def to_metadata(self) -> dict:
        vector = np.asarray(self.probe, dtype="<f4").tobytes()
        return {"embed_model": self.model, "embed_dimension": self.dimension,
                "embed_probe": base64.b64encode(vector).decode("ascii"),
                "embed_text_form": self.text_form}

    @classmethod
    def from_metadata(cls, meta: dict | None) -> EmbeddingIdentity | None:
        if not meta or "embed_dimension" not in meta or "embed_probe" not in meta:
            return None
        probe = np.frombuffer(base64.b64decode(meta["embed_probe"]), dtype="<f4")
        return cls(str(meta.get("embed_model", "")), int(meta["embed_dimension"]),
                   tuple(float(x) for x in probe), str(meta.get("embed_text_form", "")))


def identity_of(embedder) -> EmbeddingIdentity:
    vector = embedder.embed([PROBE])[0]
    return EmbeddingIdentity(embedder.name, int(vector.shape[0]),
                             tuple(float(x) for x in vector))


def where(embedder) -> str:
    url = getattr(embedder, "url", "")
    return f"model '{embedder.name}' " + (f"served at {url}" if url else "in this process")


def _cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def mismatch(recorded: EmbeddingIdentity, current: EmbeddingIdentity) -> str:
    """Why `current` cannot write to (or search) a store of `recorded`; "" when it can."""
    if recorded.dimension != current.dimension:
        return (f"it gives {current.dimension}-dimensional vectors, the store holds "
                f"{recorded.dimension}-dimensional ones of '{recorded.model}'")
    similarity = _cosine(recorded.probe, current.probe)
    if similarity < MIN_COSINE:
        return (f"its vectors are not those of '{recorded.model}', which the store was "
                f"indexed with (cosine {similarity:.3f} on a probe sentence)")
    return ""


def check_store(store, embedder, record: bool = False) -> EmbeddingIdentity:
    """Raise a one-line `NewsdeskError` when `embedder` is not the store's model; `record`
    (an index run) writes the identity into a store that has none yet."""
    current = identity_of(embedder)
    recorded = store.embedding_identity()
    reason, earlier = "", False
    if recorded is not None:
        reason = mismatch(recorded, current)
        earlier = recorded.text_form != TEXT_FORM
    else:
        sample = store.sample_title()  # a store from before identities were recorded
        if sample is not None:
            text, vector = sample
            legacy = EmbeddingIdentity("the stored headline vectors", len(vector),
                                       tuple(float(x) for x in vector))
            mine = embedder.embed([text])[0]
            reason = mismatch(legacy, EmbeddingIdentity(embedder.name, int(mine.shape[0]),
                                                        tuple(float(x) for x in mine)))
            earlier = True
    if reason:
        raise NewsdeskError(
            f"the embedding {where(embedder)} does not match the store at {store.location}: "
            f"{reason}; point NEWSDESK_EMBED_URL at a server of the store's model (or unset "
            "it), or index into a new NEWSDESK_COLLECTION")
    if earlier:
        log.warning("the store at %s was indexed by an earlier Newsdesk (sentences embedded "
                    "behind their headlines): it answers, but ranks and abstains as measured "
                    "only once re-indexed into a new NEWSDESK_HOME or NEWSDESK_COLLECTION",
                    store.location)
    if recorded is None and record:
        store.record_embedding_identity(dataclasses.replace(current, text_form="")
                                        if earlier else current)
    return current
