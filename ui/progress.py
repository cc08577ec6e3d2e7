"""Progress bars on stderr (tqdm) for the library's progress callbacks: an index run's
(`index.indexer.index_paths`) and an eval run's cases (`evals.runner.run_suite`)."""

from __future__ import annotations

import sys

from tqdm import tqdm


class IndexBar:
    """A progress callback for `index_paths` drawing a tqdm bar (articles, sentences per
    second); the bar appears once the total is known and only when there is work."""

    def __init__(self, show: bool = True):
        self.show = show
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int, sentences: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, unit="article", file=sys.stderr, dynamic_ncols=True,
                            disable=not self.show or not total, mininterval=0.5)
        bar = self.bar
        bar.update(done - bar.n)
        elapsed = bar.format_dict.get("elapsed") or 0
        rate = sentences / elapsed if elapsed else 0.0
        bar.set_postfix_str(f"{sentences} sentences, {rate:.0f} sent/s", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class CaseBar:
    """A progress callback for `evals.runner.run_suite`: a tqdm bar of the suite's cases with
    the answer accuracy so far."""

    def __init__(self, name: str, show: bool = True):
        self.name, self.show = name, show
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int, accuracy: float | None) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.name, unit="case", file=sys.stderr,
                            dynamic_ncols=True, disable=not self.show, mininterval=0.5,
                            bar_format="{desc}: {n_fmt}/{total_fmt} cases |{bar}| "
                                       "{percentage:3.0f}% [{elapsed} elapsed, ETA {remaining}, "
                                       "{rate_fmt}]{postfix}")
        if accuracy is not None:
            self.bar.set_postfix_str(f"answer accuracy {accuracy:.2f}", refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
