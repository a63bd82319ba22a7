# OpenLines: `make run` to start it, `make test` to prove it. `make install` is shared by both.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench frontends clean

install: $(STAMP) frontends

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Front ends (widget bundle, operator console) are built from package.json when present.
frontends:
	@if [ -f package.json ]; then \
		[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; \
		npm run --silent build; \
	fi

# A first run seeds the demo (admin, operator, a line with a widget, /demo); OPENLINES_DEMO=false
# skips it. Seeding happens once, into an empty database only.
run: install
	OPENLINES_DEMO=$${OPENLINES_DEMO:-true} $(BIN)/openlines serve

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
	$(BIN)/python -m pytest -q -m "not processes and not serial" -n 2 --dist loadfile
	$(BIN)/python -m pytest -q -m "processes and not serial" -n 2 --dist worksteal
	$(BIN)/python -m pytest -q -m serial

bench: install
	scripts/test-services.sh
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
