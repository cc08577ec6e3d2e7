"""Shared fixtures: real model, real embedded Chroma, real CLI processes.

Model-hub access is forbidden for the whole session, so a hidden download fails loudly here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.environment import use_offline_env

use_offline_env(force=True)
# A developer's own settings must not leak into the tests.
for name in list(os.environ):
    if name.startswith("NEWSDESK_"):
        del os.environ[name]
# Answers are extractive unless a test asks for a model: loading the 1.5B answer model into
# every CLI process a test starts would cost minutes. The answerer tests set it themselves.
os.environ["NEWSDESK_ANSWERER"] = "extractive"

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = ROOT / "data" / "sample"
AL_BAB = SAMPLE / "al-bab-2017.txt"
MULTIHOP_ARTICLES = SHARED / "data" / "multihop-rag" / "evidence-articles.jsonl"
MULTIHOP_QUERIES = SHARED / "data" / "multihop-rag" / "queries-dev.json"
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))


def run_cli(*args: str, home: Path | None = None, env: dict | None = None, check: bool = False,
            stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    if home is not None:
        full_env["NEWSDESK_HOME"] = str(home)
    proc = subprocess.run([NEWSDESK, *args], capture_output=True, text=True, env=full_env,
                          input=stdin, timeout=timeout, cwd=str(ROOT))
    if check and proc.returncode != 0:
        raise AssertionError(f"newsdesk {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def run_json(*args: str, **kwargs) -> dict:
    proc = run_cli(*args, "--json", **kwargs)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no JSON on stdout; stderr:\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


def pytest_collection_modifyitems(config, items):
    """A test that needs llama.cpp's model server is marked `model_server`, wherever its
    fixtures ask for it, so `make test-fast` (-m "not model_server ...") never starts one."""
    for item in items:
        if "llama_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.model_server)


@pytest.fixture(scope="session")
def embedder():
    from index.embed import get_embedder
    from index.settings import Settings

    return get_embedder(Settings().embed_model)


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory) -> Path:
    """A store holding the bundled sample corpus, indexed once by the real CLI."""
    home = tmp_path_factory.mktemp("sample-home")
    run_cli("index", str(SAMPLE), home=home, check=True)
    return home


# ---- the browser tests: Debian's Chromium (apt), launched by path (tests/browser_support.py);
# Playwright's own browser download is never used ---------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    from browser_support import chromium_path, launch_args

    if chromium_path() is None:
        pytest.fail("no Chromium at /usr/bin/chromium: run `apt-get install -y chromium "
                    "fonts-liberation` (.ci/run does); the browser tests never skip")
    return {**browser_type_launch_args, **launch_args()}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    from browser_support import VIEWPORT

    return {**browser_context_args, "viewport": VIEWPORT}
