"""Fuzzed bad input, the short run: every loader on generated malformed files, then the store.

The generators and the contract live in tests/support/fuzz_inputs.py, shared with
bench/rel_fuzz_loaders.py, which runs the same checks on 10,000+ inputs.
"""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from support.fuzz_inputs import FORMATS, cases, check_case, mixed_file, store_problems

EXAMPLES_PER_FORMAT = 60  # 300 inputs over the five formats
STORE_RUNS = 2  # each one is a `newsdesk index` process with a model load


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-inputs")


@pytest.mark.parametrize("fmt", FORMATS)
def test_loader_keeps_its_contract_on_malformed_files(fmt, folder):
    @settings(max_examples=EXAMPLES_PER_FORMAT, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases(fmt))
    def check(case):
        problems = check_case(case, folder, f"{fmt}-").problems
        assert not problems, f"{case.kind} {case.suffix} {case.data[:300]!r}: {problems}"

    check()


def test_store_gains_exactly_the_valid_articles_of_a_mixed_file(sample_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(sample_home, home)
    runs = []

    # Generate phase only: shrinking would mean more CLI runs, each with a model load.
    @settings(max_examples=STORE_RUNS, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=mixed_file())
    def check(case):
        problems, valid = store_problems(case, tmp_path, home, f"mixed-{len(runs)}")
        runs.append(valid)
        assert not problems, f"{case.data!r}: {problems}"

    check()
    assert len(runs) == STORE_RUNS
