"""Many simultaneous chat sessions through the Gradio API, with indexing while they chat.

Shared by `tests/reliability/test_reliability_concurrency.py` (short) and
`bench/rel_concurrent_chat.py` (20 sessions, 60 s). Each simulated user is its own
`gradio_client.Client`, so its own Gradio session and its own `gr.State` conversation, as a
browser tab would be. Every question has a
known answer, and every session asks about an article no other session asks about, so an
answer (or a follow-up's context) that crosses between sessions names the wrong article and
is caught:

- the reference conversation: "Who besieged al-Bab?" (government forces, the siege sentence),
  then "And when did that start?" (Monday; searched for with al-Bab in the context);
- the session's own article: its headline as the question, then "And what else did they say?",
  whose "Searched for:" line must carry a word found in that headline and in no other;
- once indexing has finished: one question per new article (two indexed by `newsdesk index`
  in another process, two uploaded through the chat), answered from that article.

At the end (server stopped) the store must hold sample + new articles, every chunk of every
article exactly once, and a fresh process's dense search must find each new article.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from gradio_client import Client, handle_file

from index.environment import offline_env
from ui.chat_render import md_text

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_JSONL = SAMPLE / "multihop-rag-evidence.jsonl"
SAMPLE_ARTICLES = 327  # al-bab-2017.txt + 326 MultiHop-RAG evidence articles
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))

RESPOND = "/respond"  # the question box's submit event (ui/chat.py: ChatHandlers.respond)
RESET = "/reset"  # "New conversation"
UPLOAD = "/add_files"  # the upload box
QUESTION_TIMEOUT = 300.0  # seconds: a question not answered by then is lost
# gradio_client posts each event with httpx's default 5 s timeout, which a busy 2-core machine
# (an index run loading its model beside the server) can exceed for a request the server has
# not even queued yet; a browser waits longer, so the simulated users do too.
# The read timeout also bounds the event stream's silences, so it is the question's timeout.
HTTP = {"timeout": httpx.Timeout(60.0, read=QUESTION_TIMEOUT)}
FOLLOW_UP = "And what else did they say?"

AL_BAB_TITLE = "End goal of Turkey in Syria is Raqqa: Tayyip Erdogan"
AL_BAB_SENTENCE = ("The town has been besieged since Monday, when government forces advancing "
                   "from the south cut off a road leading into Al-Bab.")

# (word, headline): headlines whose own words find their article, then a follow-up finds it
# again (checked once against the offline assistant); the word occurs in no other headline of
# the sample, so it identifies the session's topic in a "Searched for:" line.
TOPICS = (
    ("Ray-Ban", "The Ray-Ban Meta smart glasses actually make the future look cool"),
    ("Scalable", "European neobroker Scalable Capital raises $65M on a flat $1.4B valuation"),
    ("McRae", "McRae reveals hidden message he carried under collar of his grand final shirt"),
    ("Moneyline", "Moneyline Betting - What is the Moneyline and How Does it Work?"),
    ("Adobe", "Adobe: Thanksgiving US online sales nudge up to $5.6B; Salesforce: $31.7B spent "
              "globally"),
    ("Spill", "Spill toasts one year with a 2.7M seed extension, Kerry Washington and champagne"),
    ("Barbarian", "The best Barbarian builds and skills in Diablo 4"),
    ("Govee", "Govee’s colorful LED light strips are on sale just in time for Halloween"),
    ("Christmastime", "The 5 biggest mistakes parents make at Christmastime, according to a "
                      "parenting expert"),
    ("Flipboard", "Flipboard becomes a federated app with support for ActivityPub"),
    ("Wullaert", "Wullaert Fires Belgium to 3-2 Home Win over England In UEFA Women’s Nations "
                 "League"),
    ("Alcoholism", "Alcoholism, Ayahuasca and the Enlightenment of an N.F.L. Player"),
    ("Kindle", "Here are the best Kindle deals right now"),
    ("Cannabis", "Cannabis use in pregnancy linked to small birth size, other poor outcomes"),
    ("Arteta", "Arteta reveals Pochettino influence on his career | Poch: He is family"),
    ("Epoch", "How the conspiracy-fueled Epoch Times went mainstream and made millions"),
    ("Sweeney", "Tim Sweeney on Epic’s victory royale over Google"),
    ("Connecticut", "Connecticut moms prowl neighborhood as zombies to raise money for breast "
                    "cancer research"),
    ("Mediterranean", "What about the Mediterranean lifestyle reduces mortality? Scientists "
                      "find out"),
    ("Rainforest", "Here’s how Rainforest, a budding Stripe rival, aims to win over software "
                   "companies"),
    ("UTSA", "UTSA vs. Marshall odds, props, predictions: Roadrunners lay big spread in Frisco "
             "Bowl"),
    ("Blueprint", "The Blueprint of Regeneration: Scientists Discover How to Turn Stem Cells’ "
                  "Fate"),
    ("Norway", "Norway seeks to extend ban on Meta’s consentless tracking ads across the EU"),
    ("Theatre", "Theatre producer and Everton chairman Kenwright dies"),
    ("SSSniperwolf", "YouTube demonetizes popular content creator SSSniperwolf after doxxing "
                     "accusations"),
    ("Brady", "Amazon’s Tye Brady discusses generative AI, humanoid robots and mobile "
              "manipulation"),
    ("Mozilla", "Why Mozilla is betting on a decentralized social networking future"),
    ("Gemini", "Early impressions of Google’s Gemini aren’t great"),
    ("Acquisitions", "Video games in 2023: Acquisitions, layoffs, unions"),
    ("Daye", "Daye now offers tampon-based STI screening — starting in the UK"),
    ("Sorcerer", "The best Sorcerer builds and skills in Diablo 4"),
    ("ASOS", "Fast fashion retailer ASOS struggles to engage consumers as company losses "
             "balloon"),
    ("Vermont", "Vermont Sportsbook Promos and Sports Betting Launch News"),
    ("Bellingham", "European roundup: Bellingham helps Real Madrid go top while Bayern draw"),
    ("Onana", "Ten Hag demands both positivity and pragmatism from erratic Onana"),
)


@dataclass(frozen=True)
class Topic:
    """One session's own article: asked by its headline, checked by its text."""

    word: str
    title: str
    body: str


@dataclass(frozen=True)
class NewArticle:
    """An article added while the sessions chat, with one fact found nowhere else."""

    title: str
    body: str
    question: str
    fact: str
    via: str  # "cli": `newsdesk index` in its own process; "upload": the chat's upload box


NEW_ARTICLES = (
    NewArticle("Velmora switches on its tidal power plant",
               "The harbour town of Velmora has a new source of electricity.\n\n"
               "The Velmora tidal plant was switched on by the engineer Ottoline Brask on "
               "Thursday morning.\n\nThe plant is expected to power about 9,000 homes, the "
               "town council said.",
               "Who switched on the Velmora tidal plant?", "Ottoline Brask", "cli"),
    NewArticle("Quenby Lake lantern festival breaks its record",
               "The Quenby Lake lantern festival drew 41,700 visitors this year, its organisers "
               "said.\n\nThe festival, first held in 1998, closes each night with a lantern "
               "procession along the shore.",
               "How many visitors did the Quenby Lake lantern festival draw?", "41,700", "cli"),
    NewArticle("Marrowfield library reopens after flood repairs",
               "The Marrowfield public library reopened on Saturday after eleven months of "
               "flood repairs.\n\nThe repairs were paid for by a grant from the Thistlecombe "
               "Trust, the library's director said.",
               "Who paid for the Marrowfield library repairs?", "Thistlecombe Trust", "upload"),
    NewArticle("Pellingford suspension bridge reopens to traffic",
               "The Pellingford suspension bridge reopened to traffic on Tuesday.\n\n"
               "The ribbon was cut by the mayor, Corvin Ashdale, after a year of repairs to "
               "its cables.",
               "Who cut the ribbon at the Pellingford suspension bridge?", "Corvin Ashdale",
               "upload"),
)


def load_topics(count: int) -> list[Topic]:
    """The first `count` topics, with their article text from the bundled sample."""
    if count > len(TOPICS):
        raise ValueError(f"at most {len(TOPICS)} sessions: each needs an article of its own")
    bodies = {}
    with open(SAMPLE_JSONL, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            bodies[record["title"].strip()] = record["body"]
    return [Topic(word, title, bodies[title]) for word, title in TOPICS[:count]]


def write_new_articles(folder: Path, articles: list[NewArticle]) -> tuple[list[Path], list[Path]]:
    """The new articles as files: one JSONL for the CLI, one TXT per upload."""
    folder.mkdir(parents=True, exist_ok=True)
    cli = folder / "cli-articles.jsonl"
    with open(cli, "w", encoding="utf-8") as f:
        for i, a in enumerate(a for a in articles if a.via == "cli"):
            f.write(json.dumps({"title": a.title, "source": "Newsdesk Load Test",
                                "published_at": "2024-03-14",
                                "url": f"https://example.org/load-test/{i}",
                                "body": a.body}) + "\n")
    uploads = []
    for i, a in enumerate(a for a in articles if a.via == "upload"):
        path = folder / f"upload-{i}.txt"
        path.write_text(f"{a.title}\n\n{a.body}\n", encoding="utf-8")
        uploads.append(path)
    return [cli], uploads


# -- what one answer shows -----------------------------------------------------------------

_CARD = re.compile(r'<article class="nd-card" id="src-\d+">(.*?)</article>', re.S)
_TITLE = re.compile(r'<span class="nd-title">(.*?)</span>', re.S)
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SEARCHED = re.compile(r"^\*Searched for: (.*)\*$", re.M)


def _text(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment))


@dataclass
class Shown:
    """One answer as a user sees it: the chat message and the cited sources."""

    message: str
    citations: list[tuple[str, str]]  # (article title, cited sentence) per source card
    searched_for: str

    @classmethod
    def from_outputs(cls, question: str, outputs: list) -> Shown:
        """From the streamed outputs: the final chat history, and the one panel update."""
        history = outputs[-1][1]
        if len(history) < 2 or _content(history[-2]) != md_text(question):
            raise AssertionError(f"the chat's last question is not {question!r}")
        message = _content(history[-1])
        panels = [o[2] for o in outputs if isinstance(o[2], str) and "<article" in o[2]]
        citations = []
        for card in _CARD.findall(panels[-1] if panels else ""):
            title, mark = _TITLE.search(card), _MARK.search(card)
            citations.append((_text(title.group(1)) if title else "",
                              _text(mark.group(1)) if mark else ""))
        searched = _SEARCHED.search(message)
        return cls(message, citations, searched.group(1).replace("\\", "") if searched else "")


def _content(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I) is not None


# -- the checks: each returns (problem, crossed), "" when the answer is right ----------------

Check = Callable[[Shown], tuple[str, bool]]


def check_al_bab(shown: Shown) -> tuple[str, bool]:
    if "government forces" not in shown.message:
        return "al-Bab: 'government forces' missing from the answer", False
    if (AL_BAB_TITLE, AL_BAB_SENTENCE) not in shown.citations:
        return "al-Bab: the siege sentence is not cited", False
    return "", False


def check_al_bab_when(shown: Shown) -> tuple[str, bool]:
    if not _word_in("al-Bab", shown.searched_for):
        crossed = any(_word_in(word, shown.searched_for) for word, _ in TOPICS)
        return f"al-Bab follow-up searched for {shown.searched_for!r}", crossed
    if "Monday" not in shown.message or (AL_BAB_TITLE, AL_BAB_SENTENCE) not in shown.citations:
        return "al-Bab follow-up: no 'Monday' from the siege sentence", False
    return "", False


def check_own_article(topic: Topic, others: dict[str, str], follow_up: bool) -> Check:
    """Every citation from the session's own article; a citation of another session's article,
    or a follow-up searched with another session's topic, is a crossing."""

    def check(shown: Shown) -> tuple[str, bool]:
        if follow_up:
            if not _word_in(topic.word, shown.searched_for):
                crossed = any(_word_in(w, shown.searched_for) for w in others)
                return f"{topic.word} follow-up searched for {shown.searched_for!r}", crossed
        if not shown.citations:
            return f"{topic.word}: no citation ({shown.message[:120]!r})", False
        for title, sentence in shown.citations:
            if title in others.values():
                return f"{topic.word}: cites another session's article {title!r}", True
            if title != topic.title or sentence not in topic.body:
                return f"{topic.word}: cites {title!r}: {sentence[:80]!r}", False
        return "", False

    return check


def check_new_article(article: NewArticle) -> Check:
    def check(shown: Shown) -> tuple[str, bool]:
        if article.fact not in shown.message:
            return f"new article {article.title!r}: {article.fact!r} missing", False
        if not shown.citations or shown.citations[0][0] != article.title:
            return f"new article {article.title!r}: cited {shown.citations[:1]!r}", False
        return "", False

    return check


# -- the run ---------------------------------------------------------------------------------

@dataclass
class TurnResult:
    session: int
    question: str
    latency_ms: float | None  # None: no answer (an error or a lost question)
    problem: str = ""
    crossed: bool = False
    error: bool = False
    lost: bool = False  # no answer within QUESTION_TIMEOUT


@dataclass
class IndexEvents:
    """What the indexing thread did, and when (seconds since the sessions started)."""

    ways: tuple[str, ...] = ("cli", "upload")
    started_s: float | None = None
    done_s: float | None = None
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.done_s is not None

    @property
    def articles(self) -> list[NewArticle]:
        return [a for a in NEW_ARTICLES if a.via in self.ways]


@dataclass
class LoadReport:
    sessions: int
    seconds: float
    elapsed_s: float
    turns: list[TurnResult]
    index: IndexEvents | None
    new_fact_turns: int
    reset_errors: list[str] = field(default_factory=list)
    server_problems: list[str] = field(default_factory=list)
    store_problems: list[str] = field(default_factory=list)

    @property
    def latencies(self) -> list[float]:
        return [t.latency_ms for t in self.turns if t.latency_ms is not None]

    @property
    def errors(self) -> int:
        return sum(t.error for t in self.turns) + len(self.reset_errors)

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.turns)

    @property
    def crossings(self) -> int:
        return sum(t.crossed for t in self.turns)

    @property
    def wrong(self) -> int:
        return sum(bool(t.problem) and not (t.crossed or t.error or t.lost) for t in self.turns)

    @property
    def answered(self) -> int:
        return len(self.latencies)

    def problems(self) -> list[str]:
        out = [f"session {t.session}: {t.question!r}: {t.problem}" for t in self.turns
               if t.problem]
        if self.index is not None:
            out += [f"indexing: {p}" for p in self.index.problems]
            if not self.index.done:
                out.append("indexing: did not finish")
            elif not self.new_fact_turns:
                out.append("no question about the new articles was asked after indexing")
        out += [f"'New conversation' failed: {e}" for e in self.reset_errors]
        out += [f"server: {p}" for p in self.server_problems]
        return out + [f"store: {p}" for p in self.store_problems]

    @property
    def ok(self) -> bool:
        return not self.problems() and self.answered == len(self.turns)

    def figures(self) -> dict:
        lat = self.latencies
        return {
            "bench": "rel_concurrent_chat", "sessions": self.sessions, "seconds": self.seconds,
            "elapsed_s": round(self.elapsed_s, 1), "questions": len(self.turns),
            "answered": self.answered, "lost": self.lost,
            "errors": self.errors, "crossings": self.crossings, "wrong_answers": self.wrong,
            "p50_ms": round(percentile(lat, 0.50), 1) if lat else None,
            "p95_ms": round(percentile(lat, 0.95), 1) if lat else None,
            "max_ms": round(max(lat), 1) if lat else None,
            "questions_per_s": round(self.answered / self.elapsed_s, 2) if self.elapsed_s else 0,
            "index_started_s": self.index.started_s if self.index else None,
            "index_done_s": self.index.done_s if self.index else None,
            "new_fact_questions": self.new_fact_turns,
            "server_problems": len(self.server_problems),
            "store_problems": len(self.store_problems), "ok": self.ok,
        }

    def summary(self) -> str:
        f = self.figures()
        lines = [
            f"{f['sessions']} sessions for {f['elapsed_s']} s (asked to run {f['seconds']} s): "
            f"{f['questions']} questions, {f['answered']} answered, {f['lost']} lost, "
            f"{f['errors']} errors, {f['crossings']} crossings, {f['wrong_answers']} wrong",
            f"latency per question (submit to last streamed update): p50 {f['p50_ms']} ms, "
            f"p95 {f['p95_ms']} ms, max {f['max_ms']} ms; {f['questions_per_s']} questions/s",
        ]
        if self.index is not None:
            lines.append(f"indexing while chatting: {'; '.join(self.index.steps) or 'nothing'}"
                         f" (started {f['index_started_s']} s, done {f['index_done_s']} s); "
                         f"{f['new_fact_questions']} questions about the new articles")
        lines += [f"PROBLEM {p}" for p in self.problems()[:30]]
        return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


class Session:
    """One simulated user: its own Gradio session, conversations in a loop until told to stop.

    A cycle is the al-Bab conversation, then the session's own article and its follow-up,
    then (once indexing has finished) one question per new article; each conversation starts
    with "New conversation". After `seconds`, a session stops at the end of a cycle, but only
    once it has completed a cycle begun after indexing finished.
    """

    def __init__(self, number: int, url: str, topic: Topic, others: dict[str, str],
                 index: IndexEvents | None, log: Callable[[str], None]):
        self.number = number
        self.url = url
        self.topic = topic
        self.others = others
        self.index = index
        self.log = log
        self.turns: list[TurnResult] = []
        self.new_fact_turns = 0
        self.reset_errors: list[str] = []

    def run(self, t0: float, seconds: float, hard_stop: float) -> None:
        client = Client(self.url, verbose=False, httpx_kwargs=dict(HTTP))
        try:
            while time.monotonic() < hard_stop:
                after_index = self.index is None or self.index.done
                self._cycle(client, after_index and self.index is not None)
                over = time.monotonic() - t0 >= seconds
                if over and (after_index or self.index.problems):
                    break
        finally:
            client.close()

    def _cycle(self, client: Client, new_facts: bool) -> None:
        topic = self.topic
        self._conversation(client, [("Who besieged al-Bab?", check_al_bab),
                                    ("And when did that start?", check_al_bab_when)])
        self._conversation(client, [
            (topic.title, check_own_article(topic, self.others, follow_up=False)),
            (FOLLOW_UP, check_own_article(topic, self.others, follow_up=True))])
        if new_facts:
            for article in self.index.articles:
                self._conversation(client, [(article.question, check_new_article(article))])
                self.new_fact_turns += 1

    def _conversation(self, client: Client, turns: list[tuple[str, Check]]) -> None:
        try:
            client.predict(api_name=RESET)
        except Exception as exc:  # noqa: BLE001 - any failure of the app counts as an error
            self.log(f"session {self.number}: new conversation failed: {exc!r}")
            self.reset_errors.append(f"session {self.number}: {exc!r}")
            return
        history: list = []
        for question, check in turns:
            result, history = self._ask(client, question, history, check)
            self.turns.append(result)
            if result.error:
                return  # the conversation's state is unknown: start the next one afresh

    def _ask(self, client: Client, question: str, history: list, check: Check
             ) -> tuple[TurnResult, list]:
        started = time.perf_counter()
        job = None
        try:
            job = client.submit(question, history, "", "", [], api_name=RESPOND)
            job.result(timeout=QUESTION_TIMEOUT)
            outputs = job.outputs()
            latency = round((time.perf_counter() - started) * 1000, 1)
            shown = Shown.from_outputs(question, outputs)
        except TimeoutError:
            if job is not None:
                job.cancel()
            self.log(f"session {self.number}: {question!r}: no answer in {QUESTION_TIMEOUT} s")
            return TurnResult(self.number, question, None, "no answer", lost=True), []
        except Exception as exc:  # noqa: BLE001 - an app error or a malformed reply
            self.log(f"session {self.number}: {question!r}: {exc!r}")
            return TurnResult(self.number, question, None, f"error: {exc!r}", error=True), []
        if shown.message.startswith("**error:**"):
            self.log(f"session {self.number}: {question!r}: {shown.message}")
            return TurnResult(self.number, question, None, shown.message, error=True), []
        problem, crossed = check(shown)
        if problem:
            self.log(f"session {self.number}: {question!r}: {problem}")
        return TurnResult(self.number, question, latency, problem, crossed), outputs[-1][1]


def index_while_chatting(url: str, home: Path, folder: Path, events: IndexEvents, t0: float,
                         delay: float, log: Callable[[str], None]) -> None:
    """`newsdesk index` of new files in its own process, then an upload through the chat."""
    time.sleep(delay)
    events.started_s = round(time.monotonic() - t0, 1)
    cli_files, uploads = write_new_articles(folder, events.articles)
    try:
        if cli_files and "cli" in events.ways:
            _index_by_cli(home, cli_files, events)
            log(f"indexing: {events.steps[-1]}")
        if uploads:
            _upload(url, uploads, events)
            log(f"indexing: {events.steps[-1]}")
    except Exception as exc:  # noqa: BLE001 - reported, never left to kill the thread silently
        events.problems.append(repr(exc))
    events.done_s = round(time.monotonic() - t0, 1)


def _index_by_cli(home: Path, files: list[Path], events: IndexEvents) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env = offline_env(env, NEWSDESK_HOME=str(home))
    t = time.monotonic()
    proc = subprocess.run([NEWSDESK, "index", *map(str, files)], capture_output=True,
                          text=True, env=env, cwd=str(ROOT), timeout=600)
    expected = sum(a.via == "cli" for a in events.articles)
    if proc.returncode != 0 or f"{expected} added" not in proc.stdout + proc.stderr:
        events.problems.append(f"newsdesk index exited {proc.returncode}: "
                               f"{(proc.stdout + proc.stderr)[-600:]}")
    events.steps.append(f"newsdesk index of {expected} articles {time.monotonic() - t:.1f} s")


def _upload(url: str, files: list[Path], events: IndexEvents) -> None:
    t = time.monotonic()
    client = Client(url, verbose=False, httpx_kwargs=dict(HTTP))
    try:
        report, _, _ = client.predict([handle_file(str(p)) for p in files], api_name=UPLOAD)
    except Exception as exc:  # noqa: BLE001 - the app's failure is the finding
        events.problems.append(f"upload failed: {exc!r}")
        report = ""
    finally:
        client.close()
    if f"{len(files)} added" not in report:
        events.problems.append(f"upload reported {_text(report)!r}")
    events.steps.append(f"upload of {len(files)} files {time.monotonic() - t:.1f} s")


def run_load(url: str, home: Path, sessions: int, seconds: float, work: Path,
             log: Callable[[str], None], index_ways: tuple[str, ...] = ("cli", "upload"),
             index_delay: float | None = None) -> LoadReport:
    """Run the sessions (and the indexing, by the ways given: "cli", "upload") against a
    running chat; checks the answers only (`check_store` checks the store once the server is
    stopped)."""
    topics = load_topics(sessions)
    events = IndexEvents(tuple(index_ways)) if index_ways else None
    t0 = time.monotonic()
    hard_stop = t0 + seconds + 900
    runners = [Session(i, url, topic, {t.word: t.title for t in topics if t is not topic},
                       events, log) for i, topic in enumerate(topics)]
    threads = [threading.Thread(target=r.run, args=(t0, seconds, hard_stop),
                                name=f"session-{r.number}", daemon=True) for r in runners]
    if events is not None:
        delay = seconds / 4 if index_delay is None else index_delay
        threads.append(threading.Thread(
            target=index_while_chatting, args=(url, home, work / "new-articles", events, t0,
                                               delay, log), name="indexer", daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, hard_stop + QUESTION_TIMEOUT - time.monotonic()))
    elapsed = time.monotonic() - t0
    turns = [t for r in runners for t in r.turns]
    return LoadReport(sessions, seconds, elapsed, turns, events,
                      sum(r.new_fact_turns for r in runners),
                      [e for r in runners for e in r.reset_errors])


def server_problems(log_text: str) -> list[str]:
    """Tracebacks in the chat server's log: a failure the API may not have shown."""
    count = log_text.count("Traceback (most recent call last)")
    return [f"the chat server logged {count} traceback(s)"] if count else []


def check_store(home: Path, expected_articles: int,
                new_articles: list[NewArticle]) -> list[str]:
    """The store after the run, read by this (fresh) process: every article once, every chunk
    once and covering its article's sentences, and the new articles found by dense search."""
    from index.embed import embedder_for
    from index.settings import Settings
    from index.store import Store
    from support.store_snapshot import snapshot

    problems = []
    snap = snapshot(home)
    if len(snap["articles"]) != expected_articles:
        problems.append(f"{len(snap['articles'])} articles, expected {expected_articles}")
    if len({a[0] for a in snap["articles"].values()}) != len(snap["articles"]):
        problems.append("two versions of one article are stored")
    if len(snap["chunks"]) != snap["chunk_count"] or len(
            {c[0] for c in snap["chunks"]}) != len(snap["chunks"]):
        problems.append("duplicate chunk ids")
    by_article: dict[str, list[tuple]] = {}
    for row in snap["chunks"]:
        by_article.setdefault(row[1], []).append(row)
    for article_id, (_, title, text, spans) in snap["articles"].items():
        rows = sorted(by_article.pop(article_id, []), key=lambda r: r[2])
        covered = [(r[2], r[3]) for r in rows]
        expected_cover = bool(rows) and covered[0][0] == 0 and covered[-1][1] == len(spans) \
            and all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))
        if not expected_cover:
            problems.append(f"{title!r}: chunks cover sentences {covered} of {len(spans)}")
        for r in rows:
            if text[r[4]:r[5]] != r[6]:
                problems.append(f"{title!r}: chunk {r[0]} is not the article's text")
    if by_article:
        problems.append(f"chunks of {len(by_article)} articles that are not stored")
    settings = Settings(home=str(home), answerer="extractive")
    store = Store(settings)
    embedder = embedder_for(settings)
    titles = {a[1]: article_id for article_id, a in snap["articles"].items()}
    for article in new_articles:
        hits = store.query_chunks(embedder.embed([article.body])[0], 1)
        if not hits or hits[0].chunk.article_id != titles.get(article.title):
            problems.append(f"dense search does not find {article.title!r} "
                            f"(via {article.via})")
    return problems
