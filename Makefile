# The two commands of the README: `make run` and `make test`. Both create the
# virtual environment in .venv when it is missing and install the pinned
# versions of constraints.txt, so a fresh machine gets what was tested.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: setup run test test-fast lint check bench clean testbeds

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/xenon-console $(ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Static checks: ruff (lint and format), mypy (strict on backends/ and
# console/render/), the import contracts of pyproject.toml.
check: lint
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Install what the real servers of tests/testbeds/ need (each setup.sh is
# idempotent); the tests start and stop the servers themselves.
testbeds: setup
	@for script in tests/testbeds/*/setup.sh; do \
		[ -e "$$script" ] || continue; \
		echo "testbed: $$script"; \
		VENV=$(VENV) bash "$$script" || exit 1; \
	done

# The suite runs in $(WORKERS) processes (pytest-xdist), a test file per
# process at a time (so a file's servers and fixtures start once): on the 2
# cores of CI that takes the whole suite from 10 to 6 minutes.
WORKERS ?= 2
XDIST := -n $(WORKERS) --dist loadfile

test: setup check testbeds
	CONDOR_CONFIG=/dev/null $(PY) -m pytest -q $(XDIST)

# The inner loop: no test of a real server (marker `server`: Rucio,
# Prometheus, the MongoDB wire server), nothing marked `slow` (the paper's
# full history in the TUI); stops at the first failure. CI runs `make test`.
test-fast: setup check
	CONDOR_CONFIG=/dev/null $(PY) -m pytest -q -x $(XDIST) -m "not server and not slow"

# The figures of the README's cost table (bench/startup.py, about 8 min):
# the console in a 120x40 pseudo-terminal beside a bare Textual app and
# `htop -d 10` (installed here when missing, as the testbeds are).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	command -v htop >/dev/null 2>&1 || { \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends htop \
		|| { $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends htop; }; }
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	CONDOR_CONFIG=/dev/null $(PY) bench/startup.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
