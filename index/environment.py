"""The process environment Newsdesk runs in, set in one place.

Models load only from installed packages: the Hugging Face libraries are told they are offline,
so a hidden hub download fails loudly instead of happening. Tokenizer threads and Chroma's
telemetry are switched off. Front ends, tests and benches take these values from here, and so
does every subprocess they start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
}
# Libraries that log routine chatter at INFO/DEBUG; only their errors are worth a line.
# bm25s sets its own logger to DEBUG when it is imported, so `quiet_loggers` is called again
# after it may have been (see evals/runner.py).
NOISY_LOGGERS = ("chromadb", "httpx", "sentence_transformers", "transformers", "urllib3",
                 "bm25s")


def use_offline_env(environ: MutableMapping[str, str] | None = None,
                    force: bool = False) -> None:
    """Put `OFFLINE_ENV` into `environ` (default: this process's), keeping values already set
    unless `force` (the tests force them)."""
    environ = os.environ if environ is None else environ
    for name, value in OFFLINE_ENV.items():
        if force:
            environ[name] = value
        else:
            environ.setdefault(name, value)


def offline_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child process: `base` (default: this process's), `OFFLINE_ENV`
    over it, then `extra`."""
    return {**(os.environ if base is None else base), **OFFLINE_ENV, **extra}


def quiet_loggers() -> None:
    """Only errors from the chatty third-party loggers."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
