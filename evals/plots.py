"""The run's PNG plots, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Figures are built as `Figure` objects rather than through pyplot so that drawing never depends
on a GUI backend or on global state shared with anything else in the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TAG_METRICS = ("recall_at_4", "recall_at_10", "mrr_at_10", "answer_hit_at_10",
               "citation_precision",
               "citation_recall", "answer_accuracy", "answer_f1", "abstention_f1")
LABELS = {
    "recall_at_4": "recall@4", "recall_at_10": "recall@10", "mrr_at_10": "MRR@10",
    "answer_hit_at_4": "answer hit@4", "answer_hit_at_10": "answer hit@10",
    "citation_precision": "citation P", "citation_recall": "citation R",
    "citation_verbatim_rate": "verbatim", "answer_accuracy": "answer acc.",
    "answer_f1": "answer F1", "abstention_precision": "abstain P",
    "abstention_recall": "abstain R", "abstention_f1": "abstain F1",
    "latency_p50_ms": "latency p50 (ms)", "latency_p95_ms": "latency p95 (ms)",
}
HISTORY_RUNS = 30


def _figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _value(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def metrics_by_tag(aggregate: dict, by_tag: dict[str, dict], path: Path) -> None:
    groups = {"all": aggregate, **by_tag}
    fig = _figure(max(8.0, 1.2 * len(TAG_METRICS) * max(1, len(groups)) / 3), 4.5)
    ax = fig.add_subplot()
    width = 0.8 / len(groups)
    for i, (tag, scores) in enumerate(groups.items()):
        xs = [m + (i - (len(groups) - 1) / 2) * width for m in range(len(TAG_METRICS))]
        ax.bar(xs, [_value(scores.get(k)) for k in TAG_METRICS], width,
               label=f"{tag} ({scores.get('cases', 0)})")
    ax.set_xticks(range(len(TAG_METRICS)), [LABELS[k] for k in TAG_METRICS], rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("Scores by tag (cases in brackets; no bar = not applicable)")
    ax.legend(fontsize="small", ncols=min(len(groups), 4), loc="upper center",
              bbox_to_anchor=(0.5, -0.18))
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path)


def latency(latencies_ms: Sequence[float], p50: float | None, p95: float | None,
            path: Path) -> None:
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    ax.hist(list(latencies_ms), bins=min(30, max(5, len(latencies_ms) // 3)), color="#4878a8")
    for value, name, style in ((p50, "p50", "--"), (p95, "p95", ":")):
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, label=f"{name} {value:.0f} ms")
    ax.set_xlabel("latency per case (ms, the scored question)")
    ax.set_ylabel("cases")
    ax.set_title("Latency distribution")
    ax.legend()
    fig.savefig(path)


HISTORY_PANELS = {
    "retrieval": ("recall_at_4", "recall_at_10", "mrr_at_10", "answer_hit_at_4",
                  "answer_hit_at_10"),
    "citations": ("citation_precision", "citation_recall", "citation_verbatim_rate"),
    "answers": ("answer_accuracy", "answer_f1"),
    "abstention": ("abstention_precision", "abstention_recall", "abstention_f1"),
    "latency (ms)": ("latency_p50_ms", "latency_p95_ms"),
}


def history(runs: Sequence[tuple[str, dict]], path: Path) -> None:
    """Every metric over the suite's runs (oldest left; the last is this run), one panel per
    group: a dozen separate panels take seconds to lay out and are harder to compare."""
    runs = list(runs)[-HISTORY_RUNS:]
    fig = _figure(3.6 * len(HISTORY_PANELS), 3.6)
    xs = list(range(1, len(runs) + 1))
    styles = ("o-", "s--", "^:", "v-.", "D-")
    for n, (title, metrics) in enumerate(HISTORY_PANELS.items(), start=1):
        ax = fig.add_subplot(1, len(HISTORY_PANELS), n)
        for metric, style in zip(metrics, styles[:len(metrics)], strict=True):
            ax.plot(xs, [_value(agg.get(metric)) for _, agg in runs], style, markersize=4,
                    label=LABELS[metric])
        if title.startswith("latency"):
            ax.set_ylim(bottom=0)
        else:
            ax.set_ylim(-0.05, 1.05)
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("run", fontsize="small")
        ax.set_xticks(xs if len(xs) <= 10 else xs[::max(1, len(xs) // 10)])
        ax.tick_params(labelsize="x-small")
        ax.legend(fontsize="x-small", loc="lower left")
        ax.grid(alpha=0.3)
    fig.suptitle(f"History over {len(runs)} run(s): {runs[0][0]} .. {runs[-1][0]}"
                 if runs else "History", fontsize="medium")
    fig.savefig(path)
