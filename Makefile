# Two entry points for people (README): `make demo` and `make test`. CI runs .ci/run.
# Every Python package comes from the lock (requirements/*.txt, exported from uv.lock by `make lock`) with
# --require-hashes: nothing is resolved at install time.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements
WHEELHOUSE ?= .wheelhouse
PIP_LOCKED := $(BIN)/python -m pip install --quiet --require-hashes --no-deps --only-binary :all:
# The project itself, built by the locked backend (requirements/build.txt): no unpinned download.
PIP_PROJECT := $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation
UV := $(BIN)/uv
UV_EXPORT := $(UV) export --frozen --format requirements-txt --no-emit-project --quiet

.PHONY: dev runtime system-deps image-deps demo test lint policy-test bench clean \
	lock lock-exports lock-check remediation wheelhouse offline-install image image-test helm-validate

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null || \
		{ echo "verifier needs Python >= 3.11 ($(PYTHON) is $$($(PYTHON) -V 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "$(PYTHON) -m venv failed: on Debian/Ubuntu, apt-get install python3-venv"; exit 1; }

# `make demo`: the runtime only (what the Action installs), no dev tools.
$(VENV)/.runtime: $(LOCK)/runtime.txt $(LOCK)/build.txt pyproject.toml | $(BIN)/python
	$(PIP_LOCKED) -r $(LOCK)/runtime.txt -r $(LOCK)/build.txt
	$(PIP_PROJECT) -e .
	touch $@

runtime: $(VENV)/.runtime

$(VENV)/.installed: $(LOCK)/dev.txt $(LOCK)/opa-test.txt pyproject.toml | $(BIN)/python
	$(PIP_LOCKED) -r $(LOCK)/dev.txt
	$(PIP_PROJECT) -e ".[webhook]"
	$(PIP_LOCKED) --ignore-requires-python -r $(LOCK)/opa-test.txt
	touch $(VENV)/.runtime $@

dev: $(VENV)/.installed

# Debian packages the tests use: the registry the OCI tests start on 127.0.0.1 (docker-registry, htpasswd
# from apache2-utils), skopeo, Chromium for the audit report's rendering test, Node.js and npm for the
# independent signer (sigstore-js, tests/sigstore-js) and GitHub's workflow parser
# (tests/github-workflow-parser). Installed with apt-get when missing (root or sudo).
SYSTEM_PACKAGES := docker-registry chromium apache2-utils skopeo
# The image build (make image, make image-test): a Debian rootfs and a daemonless, rootless-capable builder.
IMAGE_PACKAGES := mmdebstrap buildah
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

define apt_install
	@missing=""; for pkg in $(1); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
endef

system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES))
	@# Node.js and npm from Debian unless a node with its npm is already installed (e.g. NodeSource's).
	@command -v npm >/dev/null 2>&1 || { echo "installing: nodejs npm"; $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@cd tests/sigstore-js && npm ci --silent --no-audit --no-fund
	@if [ -f tests/github-workflow-parser/package-lock.json ]; then cd tests/github-workflow-parser && npm ci --silent --no-audit --no-fund; fi

image-deps:
	$(call apt_install,$(IMAGE_PACKAGES))

demo: runtime
	@bash fixtures/demo/run-demo.sh $(BIN)/verifier

test: dev system-deps
	$(BIN)/pytest -q -p no:cacheprovider

lint: dev
	$(BIN)/ruff check verifier tests bench image .ci
	$(BIN)/ruff format --check verifier tests bench image .ci
	$(BIN)/typos
	$(BIN)/interrogate verifier
	$(BIN)/mypy
	$(BIN)/verifier policy test

bench: dev
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The lock: uv.lock (universal: every platform and Python version the project supports) and its exports,
# which pip installs with --require-hashes. Run after changing dependencies in pyproject.toml.
lock: dev
	$(UV) lock
	$(MAKE) lock-exports

# The exports alone, from uv.lock as it is (no resolution; .github/workflows/lock-exports.yml runs it).
lock-exports: dev
	$(UV_EXPORT) --no-default-groups -o $(LOCK)/runtime.txt
	$(UV_EXPORT) --no-default-groups --extra webhook -o $(LOCK)/webhook.txt
	$(UV_EXPORT) --extra webhook --group dev --group build -o $(LOCK)/dev.txt
	$(UV_EXPORT) --only-group build -o $(LOCK)/build.txt
	$(UV_EXPORT) --only-group bootstrap -o $(LOCK)/bootstrap.txt

# The audit report's remediation table, regenerated from docs/checks/*.md after a rule's docs change.
remediation: dev
	VERIFIER_UPDATE_REMEDIATION=1 $(BIN)/pytest -q -p no:cacheprovider tests/unit/test_audit_remediation.py

# CI: uv.lock still satisfies pyproject.toml (tests/integration/test_lock.py checks the exports offline).
lock-check: dev
	$(UV) lock --check

# Every locked wheel, downloaded once (hashes checked) for offline installs: host/ for this machine's Python
# (the Action's install step, make offline-install), image/ for the image's Debian Python 3.11 on x86_64.
LOCKED_DOWNLOAD := PIP_CONFIG_FILE=/dev/null $(BIN)/python -m pip download --quiet --require-hashes \
	--no-deps --only-binary :all: -r $(LOCK)/webhook.txt -r $(LOCK)/build.txt -r $(LOCK)/bootstrap.txt
$(WHEELHOUSE)/host/.complete: $(LOCK)/webhook.txt $(LOCK)/build.txt $(LOCK)/bootstrap.txt | $(BIN)/python
	$(LOCKED_DOWNLOAD) -d $(WHEELHOUSE)/host
	touch $@
# bookworm's glibc is 2.36: every manylinux tag up to it (pip does not expand --platform by itself).
IMAGE_PLATFORMS := $(foreach v,$(shell seq 36 -1 5),--platform manylinux_2_$(v)_x86_64) \
	--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64
$(WHEELHOUSE)/image/.complete: $(LOCK)/webhook.txt $(LOCK)/build.txt $(LOCK)/bootstrap.txt | $(BIN)/python
	$(LOCKED_DOWNLOAD) --python-version 3.11 --implementation cp $(IMAGE_PLATFORMS) -d $(WHEELHOUSE)/image
	touch $@

wheelhouse: $(WHEELHOUSE)/host/.complete $(WHEELHOUSE)/image/.complete

# The Action's install step, run as GitHub runs it, in a clean venv with no network at all (unshare --net),
# from the wheelhouse; then the installed verifier gates the demo and refuses `webhook` without its extra.
offline-install: wheelhouse dev
	$(BIN)/python .ci/offline_install.py --wheelhouse $(WHEELHOUSE)/host

image: image-deps wheelhouse dev
	bash image/build.sh

# Builds the image, runs it, pushes it to a local registry, signs it, attests its SBOM and gates it.
image-test: image-deps wheelhouse dev system-deps
	$(BIN)/pytest -q -p no:cacheprovider image/tests

# The Helm chart rendered and validated against the Kubernetes OpenAPI schemas (kubernetes-validate).
helm-validate: dev
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/test_helm_chart.py

clean:
	rm -rf $(VENV) $(WHEELHOUSE) .mypy_cache .ruff_cache
