"""The local answerer: a GGUF model run in this process by llama.cpp (the `xllamacpp` wheel).

xllamacpp starts llama.cpp's own server inside the process, listening on a loopback port, so
the local model is spoken to exactly like a served one: `OpenAICompatibleGenerator` streams
from it, and its timeouts, errors and fallbacks are the same code. The model is loaded once per
process (the first `LocalGenerator` to need it) in a background thread, so the weights load
while retrieval runs; later answers reuse it, and llama.cpp's prompt cache keeps the fixed
system prompt evaluated between questions.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.model_client import GenerationError, OpenAICompatibleGenerator
from assistant.model_files import PACKAGED, ensure_model, file_sha256
from index.errors import NewsdeskError

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 4096
LOG_VERBOSITY = -1  # llama.cpp's own log: errors only (it prints every request otherwise)
# A local answer on a busy 2-core laptop can take far longer than a server's; the timeout that
# ends a stuck answer is therefore at least this long.
MIN_LOCAL_TIMEOUT = 120.0


@dataclass(frozen=True)
class ModelChoice:
    """Which GGUF the local answerer runs: a packaged model (by name) or a user's file."""

    path: Path
    name: str
    sha256: str  # known for packaged models; hashed on demand for a user's file

    @classmethod
    def resolve(cls, setting: str, cache_dir: Path) -> ModelChoice:
        """`setting` is a packaged model's name or the path of a GGUF file."""
        if setting in PACKAGED:
            model = PACKAGED[setting]
            return cls(ensure_model(model, cache_dir), model.name, model.sha256)
        path = Path(setting).expanduser()
        if not path.is_file():
            names = ", ".join(PACKAGED)
            raise NewsdeskError(f"local model {setting!r} is neither a packaged model ({names}) "
                                "nor a GGUF file; fix NEWSDESK_LOCAL_MODEL or --local-model")
        return cls(path, path.name, "")


def server_params(path: Path, threads: int, host: str = "127.0.0.1", port: int = 0,
                  alias: str = "", api_key: str = ""):
    """llama.cpp's server settings for one GGUF on the CPU: one answer at a time (two at once
    would halve each one's speed on a laptop), its own log quiet."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = CONTEXT_TOKENS
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = False
    params.hostnames = [host]
    params.port = port
    params.verbosity = LOG_VERBOSITY
    if alias:
        params.model_alias = {alias}
    if api_key:
        params.api_keys = [api_key]
    return params


def serve_forever(path: Path, host: str, port: int, alias: str = "", threads: int = 0) -> None:
    """Serve a GGUF over llama.cpp's OpenAI-compatible HTTP API until interrupted: the same
    server the local answerer runs in-process, for other machines or processes to use."""
    import signal

    import xllamacpp

    stop = threading.Event()

    def on_signal(*_) -> None:
        stop.set()

    # Before the (slow) load too: a SIGTERM then must still end the process, and llama.cpp may
    # install handlers of its own while it loads, so ours are set again afterwards.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    server = xllamacpp.Server(server_params(path, threads or default_threads(), host, port,
                                            alias))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    if stop.is_set():
        return
    print(f"serving {path.name} at {server.listening_address}/v1", flush=True)
    while not stop.wait(0.5):
        pass


class _LoadedModel:
    """One llama.cpp server in this process for one GGUF file, started in the background."""

    def __init__(self, path: Path, threads: int):
        self.path = path
        self.threads = threads
        self.address = ""
        self.error = ""
        # The server listens on loopback; a key keeps other local processes from using it.
        self.api_key = secrets.token_hex(16)
        self._server = None
        self._ready = threading.Event()
        threading.Thread(target=self._load, name="newsdesk-model-load", daemon=True).start()

    def _load(self) -> None:
        try:
            import xllamacpp

            params = server_params(self.path, self.threads, api_key=self.api_key)
            self._server = xllamacpp.Server(params)
            self.address = self._server.listening_address
        except ImportError:
            self.error = ("the local answerer needs the xllamacpp package; run `make install` "
                          "or choose --answerer extractive")
        except Exception as exc:  # a corrupt file, too little memory: one line for the notice
            self.error = f"cannot load the local model {self.path.name} ({exc})"
        finally:
            self._ready.set()

    def wait(self, timeout: float) -> str:
        """The server's base URL, once loaded; raises `GenerationError` when it cannot be."""
        if not self._ready.wait(timeout):
            raise GenerationError(f"the local model {self.path.name} did not load within "
                                  f"{timeout:g} s")
        if self.error:
            raise GenerationError(self.error)
        return self.address


_LOADED: dict[Path, _LoadedModel] = {}
_LOADED_LOCK = threading.Lock()


def _loaded(path: Path, threads: int) -> _LoadedModel:
    with _LOADED_LOCK:
        if path not in _LOADED:
            _LOADED[path] = _LoadedModel(path, threads)
        return _LOADED[path]


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


class LocalGenerator:
    """A `Generator` backed by the GGUF model loaded in this process."""

    def __init__(self, choice: ModelChoice, timeout: float = 60.0, threads: int = 0,
                 load_timeout: float = 120.0):
        self.choice = choice
        self.name = f"{choice.name} (local)"
        self.timeout = timeout
        self.load_timeout = load_timeout
        self._model = _loaded(choice.path, threads or default_threads())
        self._client: OpenAICompatibleGenerator | None = None
        self._sha256 = choice.sha256

    @classmethod
    def from_settings(cls, settings) -> LocalGenerator:
        choice = ModelChoice.resolve(settings.local_model, Path(settings.model_cache)
                                     .expanduser())
        return cls(choice, timeout=max(settings.llm_timeout, MIN_LOCAL_TIMEOUT))

    def stream(self, messages: list[dict[str, str]], max_tokens: int,
               stop: list[str] | None = None) -> Iterator[str]:
        if self._client is None:
            address = self._model.wait(self.load_timeout)
            self._client = OpenAICompatibleGenerator(address, "local", self._model.api_key,
                                                     timeout=self.timeout)
            self._client.name = self.name
        yield from self._client.stream(messages, max_tokens, stop)

    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Evaluate a prompt prefix in the background once the model is loaded, so llama.cpp's
        prompt cache holds it when the first question comes (a one-token answer, discarded)."""
        def run() -> None:
            try:
                for _ in self.stream(messages, 1):
                    pass
            except GenerationError as exc:
                log.debug("prefill failed: %s", exc)

        threading.Thread(target=run, name="newsdesk-model-prefill", daemon=True).start()

    def describe(self) -> dict[str, str]:
        if not self._sha256:
            self._sha256 = file_sha256(self.choice.path)
        return {"answerer": "local", "model": self.choice.name, "sha256": self._sha256,
                "path": str(self.choice.path)}
