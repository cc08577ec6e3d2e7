"""Newsdesk against a real `chroma run` server, through the real CLI.

The server must be a drop-in for the embedded store: the same corpus gives the same stats and
the same answers, a process without a shared sentence index catches its own copy up from the
server's contents (in whatever NEWSDESK_HOME it has), and a server that is down or dies
mid-run gives one error line naming its URL and loses nothing.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time

import pytest
from conftest import MULTIHOP_QUERIES, NEWSDESK, ROOT, SAMPLE, run_cli, run_json
from support.council_corpus import write_council
from support.store_snapshot import snapshot

from index.lexical_store import SqliteLexicalStore
from index.settings import Settings

AL_BAB_QUESTION = "Who besieged al-Bab?"
# One dev query of each MultiHop-RAG type: temporal, null (must abstain), comparison, inference.
DEV_QUERY_INDEXES = (0, 1, 2, 8)


def questions() -> list[str]:
    dev = json.loads(MULTIHOP_QUERIES.read_text(encoding="utf-8"))
    return [AL_BAB_QUESTION, *(dev[i]["query"] for i in DEV_QUERY_INDEXES)]


def server_env(url: str, **extra: str) -> dict[str, str]:
    return {"NEWSDESK_CHROMA_URL": url, **extra}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def comparable(answer: dict) -> dict:
    def cites(items: list[dict]) -> list[tuple]:
        return [(c["number"], c["text"], c["article_id"], c["start"], c["end"],
                 c["answer_span"]) for c in items]

    return {"question": answer["question"], "standalone": answer["standalone_question"],
            "abstained": answer["abstained"], "answer": answer["answer"],
            "citations": cites(answer["citations"]), "closest": cites(answer["closest"])}


def ask_all(qs: list[str], **kwargs) -> list[dict]:
    """All questions in one process (one model load), read from stdin."""
    proc = run_cli("ask", "--json", stdin="\n".join(qs) + "\n", check=True, **kwargs)
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(answers) == len(qs), proc.stderr[-2000:]
    return answers


@pytest.fixture(scope="module")
def shared_lexical(tmp_path_factory):
    """The sentence index every process of the deployment shares (NEWSDESK_LEXICAL_PATH)."""
    return tmp_path_factory.mktemp("shared") / "newsdesk.sqlite3"


@pytest.fixture(scope="module")
def server_sample(chroma_server, shared_lexical, tmp_path_factory) -> str:
    """The sample corpus indexed into the server by the real CLI (`--chroma-url`)."""
    home = tmp_path_factory.mktemp("server-index-home")
    report = run_json("index", str(SAMPLE), "--chroma-url", chroma_server.url, home=home,
                      env={"NEWSDESK_LEXICAL_PATH": str(shared_lexical)})
    assert report["errors"] == [] and report["articles_added"] > 300
    assert not (home / "lexical").exists()
    return chroma_server.url


def test_stats_through_the_server_match_the_embedded_store(server_sample, sample_home,
                                                           tmp_path):
    served = run_json("stats", home=tmp_path / "fresh", env=server_env(server_sample))
    embedded = run_json("stats", home=sample_home)
    assert served == embedded
    assert served["articles"] == 327 and served["chunks"] > 0


def test_answers_through_the_server_equal_the_embedded_store(server_sample, sample_home,
                                                            tmp_path):
    qs = questions()
    fresh_home = tmp_path / "fresh-home"  # no sentence index: caught up from the server
    served = ask_all(qs, home=fresh_home, env=server_env(server_sample))
    embedded = ask_all(qs, home=sample_home)
    for s, e in zip(served, embedded, strict=True):
        assert comparable(s) == comparable(e)
        for cs, ce in zip(s["citations"], e["citations"], strict=True):
            assert cs["score"] == pytest.approx(ce["score"], abs=1e-4)
    # The reference question is answered, and the null query abstains, on both.
    assert served[0]["abstained"] is False
    assert "government forces" in {c["answer_span"] for c in served[0]["citations"]}
    assert served[2]["abstained"] is True
    copy = SqliteLexicalStore(fresh_home / "lexical" / "newsdesk.sqlite3")
    assert copy.article_count() == 327 and copy.sentence_count() > 327


def test_a_fresh_process_sharing_the_sentence_index_answers_without_catching_up(
        server_sample, shared_lexical, sample_home, tmp_path):
    """Server mode as deployed: a fresh NEWSDESK_HOME, the Chroma server and the shared
    sentence index; nothing is derived or copied, whatever the corpus size."""
    qs = questions()
    before = shared_lexical.stat().st_mtime_ns
    fresh_home = tmp_path / "fresh-home"
    started = time.perf_counter()
    served = ask_all(qs, home=fresh_home, env=server_env(
        server_sample, NEWSDESK_LEXICAL_PATH=str(shared_lexical)))
    seconds = time.perf_counter() - started
    embedded = ask_all(qs, home=sample_home)
    assert [comparable(s) for s in served] == [comparable(e) for e in embedded]
    assert not (fresh_home / "lexical").exists()
    assert shared_lexical.stat().st_mtime_ns == before  # read, never written
    assert seconds < 120, seconds  # one process start and five questions


@pytest.mark.parametrize("command", ["stats", "ask", "index"])
def test_a_server_that_is_down_gives_one_error_line_naming_it(command, dead_url, tmp_path):
    url = dead_url
    args = {"stats": ["stats"], "ask": ["ask", AL_BAB_QUESTION],
            "index": ["index", str(SAMPLE / "al-bab-2017.txt")]}[command]
    proc = run_cli(*args, home=tmp_path / "home", env=server_env(url), timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and url in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == ""


def test_a_server_killed_mid_index_loses_nothing_and_duplicates_nothing(
        chroma_server_factory, tmp_path):
    corpus = tmp_path / "council.jsonl"
    write_council(corpus, 300)
    server = chroma_server_factory()
    env = {**os.environ, "NEWSDESK_HOME": str(tmp_path / "home"),
           "NEWSDESK_CHROMA_URL": server.url, "NEWSDESK_INDEX_BATCH_CHUNKS": "16"}
    proc = subprocess.Popen([NEWSDESK, "index", str(corpus)], env=env, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while proc.poll() is None and "sent/s" not in seen:  # writing has begun
        seen += proc.stderr.read(64)
    time.sleep(random.Random(int(time.time())).uniform(0.0, 1.0))
    assert proc.poll() is None, "indexing finished before the server could be killed"
    server.kill()
    out, rest = proc.communicate(timeout=300)
    stderr = seen + rest
    assert proc.returncode == 1, stderr[-2000:]
    lines = error_lines(stderr)
    assert len(lines) == 1 and server.url in lines[0], stderr[-2000:]
    assert "Traceback" not in stderr and out.strip() == ""

    server.start()  # same path, same port
    partial = snapshot(Settings(chroma_url=server.url))
    assert len(partial["articles"]) < 300
    report = run_json("index", str(corpus), home=tmp_path / "home",
                      env=server_env(server.url))
    assert report["errors"] == []
    assert report["articles_added"] + report["articles_unchanged"] == 300
    assert report["articles_unchanged"] == len(partial["articles"])
    run_cli("index", str(corpus), home=tmp_path / "clean-home", check=True,
            env=server_env(server.url, NEWSDESK_COLLECTION="clean"))
    resumed = snapshot(Settings(chroma_url=server.url))
    clean = snapshot(Settings(chroma_url=server.url, collection="clean"))
    assert resumed == clean
    assert len(resumed["articles"]) == 300
    assert len({row[0] for row in resumed["chunks"]}) == resumed["chunk_count"]


def test_a_server_that_dies_between_questions_gives_one_error_line(chroma_server_factory,
                                                                  tmp_path):
    server = chroma_server_factory()
    env = {**os.environ, "NEWSDESK_HOME": str(tmp_path / "home"),
           "NEWSDESK_CHROMA_URL": server.url}
    run_cli("index", str(SAMPLE / "al-bab-2017.txt"), env=env, check=True)
    proc = subprocess.Popen([NEWSDESK, "ask", "--json"], env=env, cwd=str(ROOT),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(AL_BAB_QUESTION + "\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())
        assert first["abstained"] is False
        server.kill()
        time.sleep(0.5)  # the store is asked again before every question
        out, err = proc.communicate(AL_BAB_QUESTION + "\n", timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err[-2000:]
    lines = error_lines(err)
    assert len(lines) == 1 and server.url in lines[0], err[-2000:]
    assert "Traceback" not in err and out.strip() == ""
