# OpenLines: `make run` to start it, `make test` to prove it. `make install` is shared by both.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What running needs (make run), and that plus the dev tools (make test, make lint).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
NPM_RUN_STAMP := node_modules/.openlines-run
NPM_STAMP := node_modules/.openlines-dev
# make run PORT=9000 (or OPENLINES_PORT=9000 make run); unset, the setting's 8080.
PORT ?=

.PHONY: install install-run run test lint bench frontends frontends-run clean

install: $(STAMP) frontends
install-run: $(RUN_STAMP) frontends-run

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

# Front ends (widget bundle, operator console) are built from package.json: running needs the
# bundler only (esbuild), tests add the type checker and axe-core.
frontends-run:
	@[ $(NPM_STAMP) -nt package-lock.json ] || [ $(NPM_RUN_STAMP) -nt package-lock.json ] || \
		{ npm ci --omit=dev --no-audit --no-fund && touch $(NPM_RUN_STAMP); }
	npm run --silent build

frontends:
	@[ $(NPM_STAMP) -nt package-lock.json ] || { npm ci --no-audit --no-fund && touch $(NPM_STAMP); }
	npm run --silent build

# A first run seeds the demo (admin, operator, a line with a widget, /demo); OPENLINES_DEMO=false
# skips it. Seeding happens once, into an empty database only.
run: install-run
	OPENLINES_DEMO=$${OPENLINES_DEMO:-true} $(BIN)/openlines serve $(if $(PORT),--port $(PORT))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	npx --no-install tsc -p tsconfig.json

# Most tests run on two workers (a module stays on one: some build one world per module); then
# the ``processes`` ones (openlines serve processes) two at a time; the ``serial`` ones (they
# measure time) alone, last. See tests/conftest.py.
test: install
	scripts/test-services.sh
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -q -m "not processes and not serial" -n 2 --dist loadfile --durations=15
	$(BIN)/python -m pytest -q -m "processes and not serial" -n 2 --dist worksteal --durations=25
	$(BIN)/python -m pytest -q -m serial --durations=10

# Every bench under bench/ (bench/all.py finds them), medians of 3, one table of figures;
# make bench BENCH_JSON=/tmp/bench.json writes every figure, BENCH_ARGS="--quick" a smoke run.
BENCH_JSON ?=
BENCH_ARGS ?=
bench: install
	scripts/test-services.sh
	$(BIN)/python bench/all.py $(if $(BENCH_JSON),--json $(BENCH_JSON)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
