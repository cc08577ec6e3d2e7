"""Faults from outside Newsdesk, with real processes: a Chroma server that stops and comes back
while the chat is in use, and a data directory that is read-only or runs out of space.

Each fault must give one line that names the place and what to do (no traceback), must leave
the store intact, and must heal by itself once the fault is gone: the chat without a restart,
the index by a re-run that ends equal to a clean run. The disk faults are real mounts (a
read-only bind mount, a small tmpfs): root ignores file modes, and CI runs as root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import AL_BAB, run_cli, run_json
from support.browser_support import ARTIFACTS, ChatServer
from support.council_corpus import write_council
from support.store_snapshot import snapshot

AL_BAB_QUESTION = "Who besieged al-Bab?"
CORPUS_SIZE = 80
# Small enough that the corpus above cannot fit, large enough for a few batches to commit.
FULL_DISK_SIZE = "1300k"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 1, nothing on stdout, exactly one `error:` line holding every needle."""
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout.strip() == ""
    return lines[0]


# ---- the Chroma server stops and restarts under a running chat ------------------------------


@dataclass
class ApiAnswer:
    text: str  # the last chat message, as Markdown
    panel: str  # the sources panel's last HTML


def respond_endpoint(client) -> str:
    """The chat's ask endpoint, found by its inputs rather than by a name that may change."""
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name, info in named.items():
        if any(p.get("label") == "Published since" for p in info["parameters"]):
            return name
    raise AssertionError(f"no ask endpoint among {sorted(named)}")


def ask_api(client, endpoint: str, question: str) -> ApiAnswer:
    """One question in a fresh conversation, through Gradio's own API (the browser's path)."""
    job = client.submit(question, [], "", "", [], api_name=endpoint)
    job.result(timeout=180)
    outputs = job.outputs()
    history = outputs[-1][1]
    content = history[-1]["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    panels = [out[2] for out in outputs if isinstance(out[2], str)]
    return ApiAnswer(text, panels[-1])


def process_start(pid: int) -> int:
    """The process's start time in clock ticks since boot (`ps` reads the same field): a
    restarted chat would be another process, even under a reused pid."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[19])


def test_chat_answers_again_after_the_chroma_server_restarts(chroma_server_factory, tmp_path):
    from gradio_client import Client

    server = chroma_server_factory()  # a fixed port and path: it comes back where it was
    run_cli("index", str(AL_BAB), "--chroma-url", server.url, home=tmp_path / "index-home",
            check=True)
    chat = ChatServer(tmp_path / "chat-home", ARTIFACTS / "fault-chat-server.log",
                      env={"NEWSDESK_CHROMA_URL": server.url})
    with chat:
        pid = chat.proc.pid
        started = process_start(pid)
        client = Client(chat.url, verbose=False)
        endpoint = respond_endpoint(client)
        before = ask_api(client, endpoint, AL_BAB_QUESTION)
        assert "government forces" in before.text and "(#src-1)" in before.text, before.text
        assert 'id="src-1"' in before.panel

        server.stop()
        down = ask_api(client, endpoint, AL_BAB_QUESTION)
        assert down.text.startswith("**error:**") and server.url in down.text, down.text
        assert "\n" not in down.text and "Traceback" not in chat.log()
        assert 'id="src-' not in down.panel
        assert chat.proc.poll() is None

        server.start()
        after = ask_api(client, endpoint, AL_BAB_QUESTION)
        assert after == before  # the same answer and the same sources
        assert chat.proc.poll() is None and process_start(pid) == started  # never restarted
        assert "Traceback" not in chat.log()


# ---- the data directory: read-only, or out of space -----------------------------------------


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only bind or a small tmpfs (CI runs as root)")


def run_root(*command: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(command)}: {proc.stderr}"


@contextmanager
def mounted(target: Path, *commands: list[str]) -> Iterator[Path]:
    """Run the mount commands on target; always unmount it again (lazily if still busy)."""
    target.mkdir(parents=True, exist_ok=True)
    is_mounted = False
    try:
        for command in commands:
            run_root(*command)
            is_mounted = True
        yield target
    finally:
        if is_mounted and subprocess.run(["umount", str(target)],
                                         capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


@dataclass(frozen=True)
class Corpus:
    main: Path
    extra: Path
    clean_home: Path  # `main` indexed in one clean run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    folder = tmp_path_factory.mktemp("fault-corpus")
    main = write_council(folder / "council.jsonl", CORPUS_SIZE, seed=7, tag="regular")
    extra = write_council(folder / "extra.jsonl", 5, seed=11, tag="special")
    run_cli("index", str(main), home=folder / "clean-home", check=True)
    return Corpus(main, extra, folder / "clean-home")


def snap(home: Path, scratch: Path) -> dict:
    """The store's snapshot, read from a fresh copy: this process never holds the mounted
    directory open, and Chroma's per-path client cache never serves an older state."""
    copy = scratch / f"snap-{len(list(scratch.glob('snap-*')))}"
    shutil.copytree(home, copy)
    return snapshot(copy)


def file_digests(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()}


def test_read_only_data_directory_fails_in_one_line_and_keeps_the_store(corpus, tmp_path):
    need_root()
    home = tmp_path / "home"
    shutil.copytree(corpus.clean_home, home)
    before, digests = snap(home, tmp_path), file_digests(home)
    with mounted(home, ["mount", "--bind", str(home), str(home)],
                 ["mount", "-o", "remount,ro,bind", str(home)]):
        proc = run_cli("index", str(corpus.extra), home=home)
        assert_one_line_error(proc, f"data directory {home} is read-only", "make it writable")
        # Chroma's embedded store writes even to open, so asking cannot work either: the
        # same line says why, rather than an answer that pretends all is well.
        proc = run_cli("ask", "Who voted on the library in Elgin?", home=home)
        assert_one_line_error(proc, f"data directory {home} is read-only")
    assert file_digests(home) == digests
    assert snap(home, tmp_path) == before
    report = run_json("index", str(corpus.extra), home=home)
    assert report["articles_added"] == 5 and report["errors"] == []


def test_full_disk_fails_in_one_line_keeps_committed_articles_and_resumes(corpus, tmp_path):
    need_root()
    small = tmp_path / "small"
    with mounted(small, ["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK_SIZE}", "tmpfs",
                         str(small)]):
        home = small / "home"
        proc = run_cli("index", str(corpus.main), home=home,
                       env={"NEWSDESK_INDEX_BATCH_CHUNKS": "16"})
        assert_one_line_error(proc, f"no space left on the disk of the data directory {home}",
                              "free space")
        moved = tmp_path / "moved"  # the user's way out: the home moved to a bigger disk
        shutil.copytree(home, moved)

    partial = snap(moved, tmp_path)
    clean = snap(corpus.clean_home, tmp_path)
    committed = set(partial["articles"])
    assert 0 < len(committed) < CORPUS_SIZE, "the disk must fill in the middle of the run"
    # Every committed article is whole: its record and all its chunks equal the clean run's.
    assert partial["articles"] == {i: clean["articles"][i] for i in committed}
    assert ([row for row in partial["chunks"] if row[1] in committed]
            == [row for row in clean["chunks"] if row[1] in committed])

    report = run_json("index", str(corpus.main), home=moved)
    assert report["errors"] == []
    assert report["articles_unchanged"] == len(committed)
    assert report["articles_added"] == CORPUS_SIZE - len(committed)
    assert snap(moved, tmp_path) == clean
