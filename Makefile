# Two entry points for a fresh machine (see README):
#   make app    set up .venv and start the explorer
#   make test   set up .venv with the test needs (and Debian's chromium) and run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
# Offline weights and data for tests and benchmarks (ignored when absent).
SHARED_DATA ?= $(abspath ../shared/data)

.PHONY: app test setup setup-dev chromium bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.3"

$(VENV)/.setup: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --build-constraint build-constraints.txt -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.setup-dev: requirements-dev.txt build-constraints.txt $(VENV)/.setup
	$(BIN)/python -m pip install -q --build-constraint build-constraints.txt -r requirements-dev.txt
	touch $@

setup: $(VENV)/.setup
setup-dev: $(VENV)/.setup-dev

chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

app: setup
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: setup-dev chromium
	ALMA_WEIGHTS_DIR="$${ALMA_WEIGHTS_DIR:-$(SHARED_DATA)}" $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
