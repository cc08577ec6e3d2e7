"""Web-chat latency as a user sees it: from pressing Enter to the first answer text, and to the
complete answer with its sources shown.

The real `newsdesk chat` serves a fresh store filled by the real `newsdesk index data/sample`
(or `--home`, an already indexed store), and Debian's Chromium asks the questions. Times come
from the page's own clock (a MutationObserver, see tests/browser_support.py): "first text" is
the first non-empty new answer bubble, "complete" is when Gradio's `generating` tracker is gone.

Each question is asked twice, each time in a new conversation: the cold pass is the first time
the server sees it, the warm pass repeats it. Goals with the extractive answerer: first text
< 1 s, complete < 2 s (p95, cold pass). With `--answerer local` (the packaged model writes the
answer) the evidence comes first and the model's text after it: goals evidence shown < 0.5 s,
first answer token < 3 s, complete answer < 8 s (p50). The load average is
printed too: on a shared two-core machine it moves these figures more than the code does.

Figures go to stdout, logs to stderr; the last stdout line is one JSON object
{"bench": "chat", ...}. Run: `.venv/bin/python bench/bench_chat.py [--home DIR]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from offline_env import ROOT, offline_env  # first: offline env; project, tests/ on sys.path

# isort: split
from browser_support import (  # the tests' server and page helpers
    BOT,
    NEWSDESK,
    QUESTION,
    VIEWPORT,
    ChatServer,
    ask,
    chromium_path,
    launch_args,
)

GOAL_FIRST_MS = 1000
GOAL_COMPLETE_MS = 2000
MULTIHOP_QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
N_MULTIHOP = 4

QUESTIONS = [
    "Who besieged al-Bab?",
    "Who cut off the road leading into al-Bab?",
    "What did Erdogan say about IS fighters in al-Bab?",
    "What are Turkey's next targets after al-Bab?",
    "What did Travis Kelce want to give Taylor Swift at the Eras Tour?",
    "Who was Sam Bankman-Fried compared to?",
    "What did Sam Altman show at OpenAI's first developer conference?",
    "How will the Fed make decisions on interest rates?",
]


def log(message: str) -> None:
    print(f"[bench-chat] {message}", file=sys.stderr, flush=True)


def questions() -> list[str]:
    """The fixed questions, plus the first MultiHop-RAG dev queries when ../shared is there."""
    extra = []
    if MULTIHOP_QUERIES.is_file():
        extra = [q["query"] for q in json.loads(MULTIHOP_QUERIES.read_text())[:N_MULTIHOP]]
    else:
        log(f"{MULTIHOP_QUERIES} not found: al-Bab and hand-written questions only")
    return QUESTIONS + extra


def index_sample(home: Path) -> None:
    log(f"indexing data/sample into {home} with the real CLI")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env = offline_env(env)
    started = time.monotonic()
    subprocess.run([NEWSDESK, "index", "data/sample", "--home", str(home)], check=True,
                   cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL)
    log(f"indexed in {time.monotonic() - started:.0f} s")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: with a dozen samples, p95 is simply the worst but one or so."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(rows: list[dict]) -> dict:
    out = {"n": len(rows)}
    for key in ("first_text_ms", "complete_ms", "evidence_ms", "first_token_ms"):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key] = {"p50": round(statistics.median(values), 1),
                        "p95": percentile(values, 95)}
    return out


def meets_goal(s: dict) -> bool:
    return s["first_text_ms"]["p95"] < GOAL_FIRST_MS and s["complete_ms"]["p95"] < GOAL_COMPLETE_MS


def run(home: Path, log_dir: Path, answerer: str = "extractive") -> dict:
    from playwright.sync_api import sync_playwright

    from ui.chat_render import WRITING

    asked = questions()
    passes: dict[str, list[dict]] = {"cold": [], "warm": []}
    load_before = os.getloadavg()
    env = {"NEWSDESK_ANSWERER": answerer}
    with ChatServer(home, log_dir / "chat-server.log", env=env) as server, \
            sync_playwright() as p:
        log(f"server up on {server.url}")
        browser = p.chromium.launch(**launch_args())
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        page.wait_for_selector(QUESTION)
        for name, rows in passes.items():
            for question in asked:
                page.click("#nd-new")  # a new conversation: no question is read as a follow-up
                page.wait_for_function(f"() => !document.querySelector('{BOT}')")
                timing = ask(page, question, timeout_ms=240_000)
                token = (timing.first_ms_without(WRITING.strip("*"))
                         if answerer != "extractive" else None)
                rows.append({"question": question, "first_text_ms": timing.first_text_ms,
                             "complete_ms": timing.complete_ms,
                             "evidence_ms": timing.evidence_ms, "first_token_ms": token})
                log(f"{name:4} first {timing.first_text_ms:7.0f} ms  evidence "
                    f"{timing.evidence_ms or 0:7.0f} ms  token {token or 0:7.0f} ms  complete "
                    f"{timing.complete_ms:7.0f} ms  {question[:60]}")
        browser.close()
    load_after = os.getloadavg()
    result = {name: summary(rows) for name, rows in passes.items()}
    cold = result["cold"]
    return {
        "bench": "chat",
        "answerer": answerer,
        "questions": len(asked),
        "cold": cold,
        "warm": result["warm"],
        "goal_first_text_ms": GOAL_FIRST_MS,
        "goal_complete_ms": GOAL_COMPLETE_MS,
        "meets_goal": meets_goal(cold),
        "meets_goal_warm": meets_goal(result["warm"]),
        "load_avg_1m": [round(load_before[0], 2), round(load_after[0], 2)],
        "cpus": os.cpu_count(),
        "rows": passes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an already indexed store (default: index "
                                                  "data/sample into a temporary one)")
    parser.add_argument("--answerer", default="extractive",
                        help="extractive (default) or local: who writes the answer")
    args = parser.parse_args()
    if chromium_path() is None:
        raise SystemExit("error: no Chromium; apt-get install -y chromium fonts-liberation")
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-chat-") as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "home"
            index_sample(home)
        out = run(home, Path(tmp), args.answerer)
    for name in ("cold", "warm"):
        s = out[name]
        print(f"{name} pass ({args.answerer}), {s['n']} questions: first text p50 "
              f"{s['first_text_ms']['p50']:.0f} ms, p95 {s['first_text_ms']['p95']:.0f} ms; "
              f"complete p50 {s['complete_ms']['p50']:.0f} ms, p95 "
              f"{s['complete_ms']['p95']:.0f} ms")
        for key in ("evidence_ms", "first_token_ms"):
            if key in s:
                print(f"  {key[:-3]}: p50 {s[key]['p50']:.0f} ms, p95 {s[key]['p95']:.0f} ms")
    verdict = {True: "met", False: "NOT met"}
    print(f"goals (p95): first text < {GOAL_FIRST_MS} ms, complete < {GOAL_COMPLETE_MS} ms: "
          f"cold {verdict[out['meets_goal']]}, warm {verdict[out['meets_goal_warm']]}; "
          f"load average {out['load_avg_1m'][0]} -> {out['load_avg_1m'][1]} on "
          f"{out['cpus']} CPUs")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
