# sim: `make run` (baseline), `make test` (lint: ruff + mypy, then tests on 2 workers), `make bench`,
# `make clean`.
# A fresh machine needs only Python 3.11 and make: everything else goes into .venv.

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sim-installed
TSTAMP := $(VENV)/.sim-test-installed
LINTED := sim tests benchmarks

# `make run` plays the baseline scenario; `make replay-example` replays the example ops log.
EXAMPLE_OPS   := scenarios/examples/ops-example.csv
EXAMPLE_USAGE := scenarios/examples/usage-example.csv
RUN_OUT       := reports/baseline

.PHONY: run replay-example test lint bench browser notebook clean distclean

run: $(STAMP)
	$(PY) -m sim run baseline --out $(RUN_OUT)
	$(PY) -m sim report $(RUN_OUT)
	@echo "baseline report: $(RUN_OUT)/report/report.html (tables: $(RUN_OUT)/)"

replay-example: $(STAMP)
	$(PY) -m sim replay $(EXAMPLE_OPS) --usage $(EXAMPLE_USAGE) --out reports/example-replay
	@echo "outcomes written to reports/example-replay/outcomes.csv"

test: lint browser
	$(PY) -m pytest -n 2

# tests/test_browser.py opens a report in Debian's chromium: install it when missing (as root).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for tests/test_browser.py"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing (needs root and apt-get): tests/test_browser.py will skip"; fi; }

# JupyterLab on notebooks/ (the notebooks extra: JupyterLab, papermill, nbconvert).
NSTAMP := $(VENV)/.sim-notebooks-installed
$(NSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[notebooks]'
	touch $(STAMP) $@

notebook: $(NSTAMP)
	$(VENV)/bin/jupyter lab notebooks/

lint: $(TSTAMP)
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy

bench: $(STAMP)
	@set -e; for f in benchmarks/bench_*.py; do \
	  [ -e "$$f" ] || { echo "no benchmarks/bench_*.py yet"; break; }; \
	  echo "== $$f"; $(PY) "$$f"; \
	done

# -- the virtual environment -----------------------------------------------------------------
$(PY):
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

$(TSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP) $@

clean:
	rm -rf build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
