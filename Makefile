# Vigie — two commands: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HOST ?= 127.0.0.1
export PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format migrate sweep sandbox bench screenshots proof openapi clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create the virtual environment and install Vigie with its dev tools

run: install ## Migrate, seed the demo on a first start, and serve (API, pages, worker) on HOST:PORT
	$(BIN)/vigie migrate
	$(BIN)/vigie demo
	@if [ -n "$$REDIS_URL" ]; then \
		echo "REDIS_URL set: starting an arq worker beside the API"; \
		$(BIN)/arq workers.main.WorkerSettings & WORKER=$$!; \
		trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
		$(BIN)/vigie serve; \
	else \
		$(BIN)/vigie serve; \
	fi

test: install ## Run the whole suite (PostgreSQL/Redis tests skip on a bare machine unless CI is set)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

test-fast: install ## The suite without the slow end-to-end tests
	$(BIN)/pytest -q -m "not slow"

lint: install ## ruff (lint + format check), mypy and the import contracts (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install ## Apply the database migrations
	$(BIN)/vigie migrate

sweep: install ## Run every check that is due now, in the foreground
	$(BIN)/vigie sweep

sandbox: install ## Serve the API Entreprise sandbox alone on port 8100
	$(BIN)/vigie sandbox --port 8100

bench: install ## Run every benchmark beside its anchor (figures: docs/BENCHMARKS.md; needs PostgreSQL)
	$(BIN)/python bench/reads.py
	$(BIN)/python bench/recompute.py
	$(BIN)/python bench/archive.py --count 2000 --database-url $${BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
	$(BIN)/python bench/archive.py --count 2000
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/upstream_throughput.py
	$(BIN)/python bench/supplier_pages.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/imports.py

screenshots: install ## Regenerate docs/screenshots/ (dashboard, a non-compliant supplier) in Chromium
	$(BIN)/python -m tests.browser.screenshots

proof: install ## The long reliability runs of docs/RELIABILITY.md (minutes; needs PostgreSQL + Redis)
	$(BIN)/python bench/proof.py all
	SCHEMATHESIS_EXAMPLES=60 $(BIN)/pytest -q -s -p no:randomly tests/api/test_schemathesis.py
	SCHEMATHESIS_EXAMPLES=30 DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(BIN)/pytest -q -s -p no:randomly tests/api/test_schemathesis.py tests/workers tests/test_reconciler.py

openapi: install ## Rewrite docs/openapi.json from the code (the API's contract: commit it with the change)
	$(BIN)/python -m tests.api.test_openapi

clean: ## Remove the virtual environment and local data (var/)
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache
