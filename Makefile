# Two entry points (see README): `make demo` and `make test`. Both create .venv if needed.
VENV ?= .venv
PY := $(VENV)/bin/python
QUESTION ?= how are changed files detected and re-embedded incrementally?

.PHONY: venv demo test lint completions clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

demo: venv  ## index this repository, then pack it for a sample question
	$(VENV)/bin/agentctx index .
	$(VENV)/bin/agentctx pack "$(QUESTION)" --budget 4000

test: venv  ## the whole test suite (what CI runs)
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check agentctx tests
	$(VENV)/bin/ruff format --check agentctx tests

completions: venv  ## regenerate completions/ from the CLI
	for sh in bash zsh fish; do \
	  _AGENTCTX_COMPLETE=source_$$sh $(VENV)/bin/agentctx > completions/agentctx.$$sh; done

clean:
	rm -rf $(VENV) .agentctx .pytest_cache .ruff_cache
