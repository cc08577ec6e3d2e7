"""Which answerer writes the answer: the one setting (`answerer`) resolved to a `Generator`.

`extractive` needs no model (None here: the pipeline's own answer stands); `served` is any
OpenAI-compatible server at `llm_url`; `local` is a GGUF model run in this process. `auto`
prefers a server the user named, then the packaged local model when it is installed, so a
fresh `make install` answers with the model and a minimal install still answers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from assistant.model_client import Generator, OpenAICompatibleGenerator
from assistant.model_files import PACKAGED, is_installed, is_ready
from index.errors import NewsdeskError
from index.settings import Settings

EXTRACTIVE_INFO = {"answerer": "extractive"}


def resolve_answerer(settings: Settings) -> str:
    """The concrete answerer for `settings` ("auto" decided)."""
    if settings.answerer != "auto":
        return settings.answerer
    if settings.llm_url:
        return "served"
    return "local" if local_model_available(settings) else "extractive"


def local_model_available(settings: Settings) -> bool:
    if importlib.util.find_spec("xllamacpp") is None:
        return False
    model = PACKAGED.get(settings.local_model)
    if model is None:
        return Path(settings.local_model).expanduser().is_file()
    cache = Path(settings.model_cache).expanduser()
    return is_ready(model, cache) or is_installed(model)


def make_generator(settings: Settings) -> Generator | None:
    kind = resolve_answerer(settings)
    if kind == "extractive":
        return None
    if kind == "served":
        if not settings.llm_url:
            raise NewsdeskError("the served answerer needs a model server URL; set "
                                "NEWSDESK_LLM_URL or --llm-url")
        return OpenAICompatibleGenerator.from_settings(settings)
    from assistant.local_model import LocalGenerator
    from assistant.prompts import answer_prefix

    generator = LocalGenerator.from_settings(settings)
    generator.prefill(answer_prefix())
    return generator
