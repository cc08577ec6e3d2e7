"""A real `newsdesk chat` server and a real Chromium page, for the browser tests and the bench.

Both measure the same thing the same way: the server is the real CLI in its own process, the
browser is Debian's Chromium (Playwright's own browser download does not work here), and an
answer counts as finished only when Gradio's status tracker has shown `generating` and then
dropped it (waiting for its absence alone can pass before the event even started).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from index.environment import offline_env

ROOT = Path(__file__).resolve().parents[1]
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
VIEWPORT = {"width": 1440, "height": 960}

QUESTION = "#nd-question textarea"
CHAT = "#nd-chat"
SOURCES = "#nd-sources"
BOT = "#nd-chat [data-testid=bot]"
GENERATING = "[data-testid=status-tracker].generating"


def chromium_path() -> str | None:
    return next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)


def launch_args() -> dict:
    return {"executable_path": chromium_path(), "args": CHROMIUM_ARGS, "headless": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_home(source: Path, target: Path) -> Path:
    """A private copy of an indexed store, so uploads never change a fixture others share."""
    shutil.copytree(source, target)
    return target


class ChatServer:
    """`newsdesk chat` on a free loopback port; stopped by its own pid, never by name."""

    def __init__(self, home: Path, log_path: Path, port: int | None = None,
                 env: dict[str, str] | None = None):
        self.home = home
        self.extra_env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 240) -> ChatServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        # Extractive unless the test names an answerer: most chat tests are about the evidence.
        env = offline_env(env, NEWSDESK_HOME=str(self.home), GRADIO_ANALYTICS_ENABLED="False",
                          NEWSDESK_ANSWERER="extractive")
        env.update(self.extra_env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the fd
            self.proc = subprocess.Popen(
                [NEWSDESK, "chat", "--port", str(self.port), "--home", str(self.home)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"newsdesk chat exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"newsdesk chat did not answer on {self.url} in {timeout:.0f} s:\n"
                           f"{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Timing:
    """Milliseconds from pressing Enter, measured by the page's own clock."""

    first_text_ms: float
    complete_ms: float
    texts: list[str] = field(default_factory=list)  # the answer's successive states
    text_ms: list[float] = field(default_factory=list)  # when each state appeared
    evidence_ms: float | None = None  # when the sources panel first showed a cited article

    def first_ms_without(self, placeholder: str) -> float | None:
        """When the answer first showed text other than `placeholder` (e.g. the first token
        of a model's answer after the evidence was shown)."""
        return next((t for text, t in zip(self.texts, self.text_ms, strict=True)
                     if placeholder not in text), None)


# Installed before each question: stamps the Enter key, the first non-empty new bot message,
# and the moment the `generating` tracker goes away again (answer and sources both shown).
_WATCH = """
([nBefore, questionSel, botSel, generatingSel]) => {
  const w = window.__ndWatch = {t0: null, first: null, seen: false, done: null, texts: [],
                                times: [], evidence: null};
  document.querySelector(questionSel).addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && w.t0 === null) w.t0 = performance.now();
  }, {capture: true, once: true});
  const check = () => {
    const now = performance.now();
    const bots = document.querySelectorAll(botSel);
    if (bots.length > nBefore) {  // every distinct state of the answer as it grew
      const text = bots[bots.length - 1].innerText.trim();
      if (text && text !== w.texts[w.texts.length - 1]) { w.texts.push(text); w.times.push(now); }
    }
    if (w.evidence === null && document.querySelector('#nd-sources .nd-card')) w.evidence = now;
    if (w.first === null && bots.length > nBefore
        && bots[bots.length - 1].innerText.trim()) w.first = now;
    const generating = document.querySelector(generatingSel) !== null;
    if (generating) w.seen = true;
    if (w.seen && !generating && w.done === null) { w.done = now; observer.disconnect(); }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, {subtree: true, childList: true, attributes: true,
                                   characterData: true});
}
"""


def ask(page, question: str, timeout_ms: float = 90_000) -> Timing:
    """Type a question, press Enter, and wait until the streamed answer has finished."""
    n_before = page.locator(BOT).count()
    page.fill(QUESTION, question)
    page.evaluate(_WATCH, [n_before, QUESTION, BOT, GENERATING])
    page.press(QUESTION, "Enter")
    # The observer sees a `generating` that lasts less than a frame; Playwright's polling may not.
    page.wait_for_function("() => window.__ndWatch.done !== null", timeout=timeout_ms)
    watch = page.evaluate("() => window.__ndWatch")
    first = watch["first"] if watch["first"] is not None else watch["done"]
    t0 = watch["t0"]
    return Timing(round(first - t0, 1), round(watch["done"] - t0, 1), watch["texts"],
                  [round(t - t0, 1) for t in watch["times"]],
                  None if watch["evidence"] is None else round(watch["evidence"] - t0, 1))


def last_answer(page) -> str:
    return page.locator(BOT).last.inner_text()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
