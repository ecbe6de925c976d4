# Two entry points for people (README): `make demo` and `make test`. CI runs .ci/run (lint + test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The real OPA engine, in-process, for the policy cross-engine tests only. Its wheel declares a newer
# Python than it needs, hence --ignore-requires-python (see DESIGN.md).
OPA_BINDINGS := opa-golib-python-bindings==0.4.4

.PHONY: dev system-deps demo test lint policy-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[webhook]" --group dev
	$(BIN)/pip install --quiet --ignore-requires-python $(OPA_BINDINGS)
	touch $@

dev: $(VENV)/.installed

# The Debian registry the OCI integration tests start on 127.0.0.1, Chromium for the audit report's
# rendering test, the npm signer (sigstore-js) and GitHub's workflow parser (tests/github-workflow-parser).
SYSTEM_PACKAGES := docker-registry chromium apache2-utils skopeo
system-deps:
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@if [ -f tests/sigstore-js/package-lock.json ]; then cd tests/sigstore-js && npm ci --silent --no-audit --no-fund; fi
	@if [ -f tests/github-workflow-parser/package-lock.json ]; then cd tests/github-workflow-parser && npm ci --silent --no-audit --no-fund; fi

demo: dev
	@bash fixtures/demo/run-demo.sh $(BIN)/verifier

test: dev system-deps
	$(BIN)/pytest -q -p no:cacheprovider

lint: dev
	$(BIN)/ruff check verifier tests bench
	$(BIN)/ruff format --check verifier tests bench
	$(BIN)/typos
	$(BIN)/interrogate verifier
	$(BIN)/mypy
	$(BIN)/verifier policy test

bench: dev
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
