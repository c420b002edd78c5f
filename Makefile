# The two commands of the README, each setting up what it needs itself.
#   make workbook   build out/2026-02-21.xlsx from the February 2026 pricebook
#   make test       run the test suite (installs LibreOffice and Gnumeric when
#                   run as root on Debian/Ubuntu and they are missing)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: workbook test engines lint bench clean

$(BIN)/infercost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

workbook: $(BIN)/infercost
	$(BIN)/infercost build

engines:
	@sh scripts/install-engines.sh

test: $(BIN)/infercost engines
	$(BIN)/python -m pytest

lint: $(BIN)/infercost
	$(BIN)/ruff check .

# make bench BENCH_ARGS='--runs 5' (or --quick, --profile; see bench/run.py -h)
bench: $(BIN)/infercost engines
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out/*.xlsx out/*.pdf
