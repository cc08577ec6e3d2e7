"""Reliability: simultaneous chat sessions through the Gradio API, with indexing while they chat.

The bundled sample is indexed by the real `newsdesk index` into a home of its own, the real
`newsdesk chat` is started in its own process, and N threads each act as one user (one
`gradio_client.Client`, so one Gradio session and one conversation state) asking multi-turn
conversations with known answers for the duration; each session asks about an article no other
session asks about, so an answer or a follow-up context crossing between sessions is caught.
Meanwhile `newsdesk index` adds new articles from another process and more are uploaded
through the chat; later questions about them must be answered from them. At the end the store
must hold every article and chunk exactly once. The checks live in
tests/support/chat_load.py, shared with tests/reliability/test_reliability_concurrency.py.

Exit status 1 on any error, crossing, wrong or lost answer, or store problem.
Last stdout line: one JSON object {"bench": "rel_concurrent_chat", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from offline_env import ROOT  # first: offline env, project and tests on sys.path


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def newsdesk(home: Path, *args: str) -> subprocess.CompletedProcess:
    from support.chat_load import NEWSDESK

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["NEWSDESK_HOME"] = str(home)
    return subprocess.run([NEWSDESK, *args], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), check=True)


def main() -> int:
    from support.chat_load import NEW_ARTICLES, SAMPLE, TOPICS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20,
                        help=f"simultaneous chat sessions (at most {len(TOPICS)})")
    parser.add_argument("--seconds", type=float, default=60,
                        help="how long the sessions keep asking")
    parser.add_argument("--home", type=Path, default=None,
                        help="data directory to use (default: a new temporary one); it must "
                             "hold nothing but the sample, which is indexed into it")
    parser.add_argument("--index-while-chatting", action=argparse.BooleanOptionalAction,
                        default=True, help="add new articles (CLI and upload) during the run")
    parser.add_argument("--index-delay", type=float, default=None,
                        help="seconds into the run to start indexing (default: a quarter)")
    args = parser.parse_args()
    if not 1 <= args.sessions <= len(TOPICS):
        parser.error(f"--sessions must be 1..{len(TOPICS)}")

    from support.browser_support import ChatServer
    from support.chat_load import check_store, run_load, server_problems

    work = Path(tempfile.mkdtemp(prefix="rel-concurrent-chat-"))
    home = args.home or work / "home"
    t = time.perf_counter()
    newsdesk(home, "index", str(SAMPLE))
    before = json.loads(newsdesk(home, "stats", "--json").stdout.splitlines()[-1])["articles"]
    log(f"indexed the sample into {home}: {before} articles, {time.perf_counter() - t:.1f} s")
    ways = ("cli", "upload") if args.index_while_chatting else ()
    new = [a for a in NEW_ARTICLES if a.via in ways]

    server = ChatServer(home, work / "chat.log")
    t = time.perf_counter()
    server.start()
    log(f"newsdesk chat up on {server.url} in {time.perf_counter() - t:.1f} s; log {work}/chat.log")
    try:
        report = run_load(server.url, home, args.sessions, args.seconds, work, log,
                          ways, args.index_delay)
    finally:
        server.stop()
    report.server_problems += server_problems(server.log_path.read_text(errors="replace"))
    report.store_problems += check_store(home, before + len(new), new)

    print(report.summary())
    print(json.dumps(report.figures()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
