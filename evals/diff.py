"""What changed between two runs: the aggregate deltas and, more usefully, which cases got worse.

An aggregate can stay flat while one case loses its answer and another gains one; the case list
is what a reviewer acts on, so a regression is counted per case, for a reason a person can check
in the run: an answer lost, a gold sentence no longer cited, a new wrong abstention, a missed
abstention, or a question that now fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evals.metrics import LATENCY_METRICS, METRICS
from evals.runs import StoredRun

_IGNORED_SETTINGS = {"home"}  # the data directory follows from the corpus, shown separately
# Latency is noisy on a shared machine: only a rise of a fifth or more is called worse.
LATENCY_TOLERANCE = 0.2


@dataclass(frozen=True)
class MetricDelta:
    metric: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    @property
    def worse(self) -> bool:
        if self.delta is None:
            return False
        if self.metric in LATENCY_METRICS:
            return self.delta > LATENCY_TOLERANCE * (self.before or 0.0)
        return self.delta < 0


@dataclass(frozen=True)
class CaseChange:
    case_id: str
    question: str
    reasons: tuple[str, ...]


@dataclass
class RunDiff:
    before: str
    after: str
    deltas: list[MetricDelta]
    worse: list[CaseChange]
    better: list[CaseChange]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before, "after": self.after,
            "deltas": {d.metric: {"before": d.before, "after": d.after, "delta": d.delta}
                       for d in self.deltas},
            "regressions": len(self.worse),
            "worse": [asdict(c) for c in self.worse],
            "better": [asdict(c) for c in self.better],
            "added": self.added, "removed": self.removed, "notes": self.notes,
        }


def diff_runs(before: StoredRun, after: StoredRun) -> RunDiff:
    deltas = [MetricDelta(m, before.aggregate.get(m), after.aggregate.get(m)) for m in METRICS]
    old, new = before.cases, after.cases
    worse, better = [], []
    for case_id, b in new.items():
        a = old.get(case_id)
        if a is None:
            continue
        lost, gained = _changes(a, b), _changes(b, a)
        question = (b.get("turns") or [b.get("question", "")])[-1]
        if lost:
            worse.append(CaseChange(case_id, question, tuple(lost)))
        if gained:
            better.append(CaseChange(case_id, question, tuple(_gained(g) for g in gained)))
    return RunDiff(str(before.path), str(after.path), deltas, worse, better,
                   added=sorted(set(new) - set(old)), removed=sorted(set(old) - set(new)),
                   notes=_notes(before, after))


def _changes(a: dict, b: dict) -> list[str]:
    """What case `a` had that `b` lost."""
    sa, sb = a["scores"], b["scores"]
    out = []
    answerable = b.get("answerable", True)
    if answerable and sa.get("answer_correct") and sb.get("answer_correct") is False:
        out.append("answer lost")
    cited_a = _cited(a) & set(b.get("evidence", []))
    lost = len(cited_a - _cited(b))
    if lost:
        out.append(f"citation lost ({lost} gold sentence{'s' if lost > 1 else ''})")
    if answerable and not sa.get("abstained") and sb.get("abstained"):
        out.append("new wrong abstention")
    if not answerable and sa.get("abstained") and not sb.get("abstained"):
        out.append("abstention lost")
    if sb.get("error") and not sa.get("error"):
        out.append("error: " + sb["error"][:120])
    return out


def _gained(reason: str) -> str:
    """The name of a loss seen the other way round."""
    if reason.startswith("citation lost"):
        return reason.replace("citation lost", "citation gained")
    if reason.startswith("error"):
        return "error fixed"
    return {"answer lost": "answer gained", "new wrong abstention": "wrong abstention fixed",
            "abstention lost": "abstention gained"}[reason]


def _cited(case: dict) -> set[str]:
    evidence = case.get("evidence", [])
    return {evidence[i] for i in case["scores"].get("cited_evidence", []) if i < len(evidence)}


def _notes(before: StoredRun, after: StoredRun) -> list[str]:
    """Differences in how the two runs were made, so a delta is not misread as a code change."""
    notes = []
    if before.suite != after.suite:
        notes.append(f"different suites: {before.suite} vs {after.suite}")
    sa, sb = before.record.get("settings", {}), after.record.get("settings", {})
    changed = [f"{k} {sa.get(k)!r} -> {sb.get(k)!r}" for k in sorted(set(sa) | set(sb))
               if k not in _IGNORED_SETTINGS and sa.get(k) != sb.get(k)]
    if changed:
        notes.append("settings differ: " + "; ".join(changed))
    aa, ab = before.record.get("answerer"), after.record.get("answerer")
    if aa != ab:
        notes.append(f"answerer differs: {_answerer(aa)} -> {_answerer(ab)}")
    if before.record.get("corpus") != after.record.get("corpus"):
        notes.append(f"corpus differs: {before.record.get('corpus')} -> "
                     f"{after.record.get('corpus')}")
    ga, gb = before.record.get("git", {}), after.record.get("git", {})
    if ga != gb:
        notes.append(f"code: {ga.get('sha')}{'+dirty' if ga.get('dirty') else ''} -> "
                     f"{gb.get('sha')}{'+dirty' if gb.get('dirty') else ''}")
    va, vb = before.record.get("versions", {}), after.record.get("versions", {})
    changed = [f"{k} {va.get(k)} -> {vb.get(k)}" for k in sorted(set(va) | set(vb))
               if va.get(k) != vb.get(k)]
    if changed:
        notes.append("package versions differ: " + "; ".join(changed))
    return notes


def _answerer(info: dict | None) -> str:
    if not info:
        return "unrecorded"
    model = info.get("model")
    return f"{info.get('answerer', '?')} ({model})" if model else str(info.get("answerer", "?"))


def render(diff: RunDiff) -> str:
    lines = [f"diff {diff.before}", f"  -> {diff.after}"]
    lines += [f"note: {n}" for n in diff.notes]
    lines.append(f"{'metric':<24}{'before':>10}{'after':>10}{'delta':>10}")
    for d in diff.deltas:
        if d.before is None and d.after is None:
            continue  # a metric that applies to neither run
        mark = "  worse" if d.worse else ""
        ms = d.metric in LATENCY_METRICS
        lines.append(f"{d.metric:<24}{fmt(d.before, ms=ms):>10}{fmt(d.after, ms=ms):>10}"
                     f"{fmt(d.delta, signed=True, ms=ms):>10}{mark}")
    if diff.worse:
        lines.append(f"{len(diff.worse)} case(s) got worse:")
        lines += [f"  {c.case_id}: {', '.join(c.reasons)} -- {c.question}" for c in diff.worse]
    else:
        lines.append("no case got worse")
    if diff.better:
        lines.append(f"{len(diff.better)} case(s) got better:")
        lines += [f"  {c.case_id}: {', '.join(c.reasons)}" for c in diff.better]
    if diff.added or diff.removed:
        lines.append(f"cases added: {len(diff.added)}, removed: {len(diff.removed)}")
    return "\n".join(lines)


def fmt(value: float | None, signed: bool = False, ms: bool | None = None) -> str:
    """Rates to three decimals, milliseconds whole; without `ms`, anything above 1 in size is
    taken for milliseconds (no rate or rate delta is)."""
    if value is None:
        return "n/a"
    if ms is None:
        ms = abs(value) > 1
    if ms:
        return f"{value:+.0f}" if signed else f"{value:.0f}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"
