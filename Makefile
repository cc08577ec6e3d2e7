# Newsdesk: `make demo` and `make test` are the two set-up commands (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_HOME ?= $(CURDIR)/.newsdesk/demo
# Nothing is ever fetched from a model hub: a hidden download fails loudly instead.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False

.PHONY: install demo test bench lint reliability clean

install: $(STAMP)

# torch first, from the CPU build on disk: a bare `torch` requirement would pull a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Index the bundled sample, answer the reference question, then open the chat on :7860.
demo: install
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk index data/sample
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk stats
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk ask "Who besieged al-Bab?"
	NEWSDESK_HOME=$(DEMO_HOME) $(BIN)/newsdesk chat

test: install
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/bench_index.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_assistant.py
	$(BIN)/python bench/bench_chat.py
	$(BIN)/python bench/bench_servers.py
	bash .ci/build-llama-cpp.sh $(BIN)/python
	$(BIN)/python bench/bench_generative.py

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
