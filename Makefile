# make run   - set everything up and run the tutorial's experiment on the digits
# make test  - set everything up, lint, type-check layerwise.nn, and run the test suite
# make data  - install Fashion-MNIST (Debian package dataset-fashion-mnist)
# make bench - Fashion-MNIST seconds per epoch against PyTorch and scikit-learn
# make bench-cnn - a convolutional network on Fashion-MNIST against PyTorch
# make bench-strategies - grid, halving, Hyperband, random and TPE at an equal budget
# make fuzz  - coverage-guided fuzzing of every file loader (atheris), FUZZ_SECONDS long
# make docs  - the documentation site, built in strict mode into site/ (make docs-serve serves it)
# make notebooks - run examples/*.ipynb on the full data and store their outputs
# make chromium - headless Chromium (Debian's package) for the web app's browser test
# make bench-serve - 8 clients x 250 predictions against layerwise serve on loopback
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
FUZZ_STAMP := $(VENV)/.fuzz-installed
FUZZ_SECONDS ?= 180
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format data chromium bench bench-cnn bench-tutorial bench-search bench-strategies bench-serve fuzz docs docs-serve notebooks clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/layerwise reproduce

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

# The Fashion-MNIST notebook runs on the real data set (a subset) in the tests.
test: lint data chromium
	$(BIN)/python -m pytest

data:
	test -d /usr/share/datasets/fashion-mnist || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y dataset-fashion-mnist)

chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) data
	$(BIN)/python bench/fashion_epoch.py --rounds 5 --epochs 2

bench-cnn: $(BENCH_STAMP) data
	$(BIN)/python bench/fashion_cnn.py --rounds 3 --epochs 1

bench-tutorial: $(STAMP)
	$(BIN)/python bench/tutorial_experiment.py --rounds 3

bench-search: $(STAMP)
	$(BIN)/python bench/search_scaling.py --rounds 3

bench-strategies: $(BENCH_STAMP) data
	$(BIN)/python bench/search_strategies.py

bench-serve: $(STAMP)
	$(BIN)/python bench/serve_load.py

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test,fuzz]"
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	mkdir -p .fuzz/corpus
	$(BIN)/python tests/fuzz/fuzz_loaders.py -max_total_time=$(FUZZ_SECONDS) -timeout=30 -rss_limit_mb=4096 \
		-artifact_prefix=.fuzz/ .fuzz/corpus

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

notebooks: $(STAMP) data
	$(BIN)/python examples/run_notebooks.py --store

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis .fuzz
