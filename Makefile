# alibabacloud.ecs_ops — the two commands users need are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-$(shell cat requirements.txt requirements-dev.txt tests/simulator/pyproject.toml | sha256sum | cut -c1-16)
COLLECTION_LINK := collections/ansible_collections/alibabacloud/ecs_ops
BUILD_COPY := build/ansible_collections/alibabacloud/ecs_ops
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export PYTHONPATH := $(CURDIR)/collections
export ANSIBLE_NOCOLOR := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup test units simulator-tests integration molecule reliability reliability-full sanity lint build importer docs-lint changelog-lint demo bench clean

help:
	@echo "make setup  - create .venv with the collection's runtime and test tools (idempotent)"
	@echo "make test   - set up, then run every test and linter"
	@echo "make demo   - run the main job against the bundled simulator"
	@echo "make bench  - fleet benchmarks"
	@echo "make reliability-full - the reliability suite at full size"

NODE_CONFORMANCE := tests/simulator/conformance/node

setup: $(STAMP) $(COLLECTION_LINK) $(NODE_CONFORMANCE)/node_modules/.package-lock.json

# The simulator's Node.js conformance check needs its SDKs; installed only where Node.js and npm exist.
$(NODE_CONFORMANCE)/node_modules/.package-lock.json: $(NODE_CONFORMANCE)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd $(NODE_CONFORMANCE) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "setup: no npm here, the simulator's Node.js conformance check will not run"; fi

$(STAMP): requirements.txt requirements-dev.txt tests/simulator/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -e tests/simulator
	$(BIN)/python -m pip check
	rm -f $(VENV)/.setup-*
	touch $@

# Ansible finds the collection through collections/ (ansible.cfg and ANSIBLE_COLLECTIONS_PATH).
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

test: setup units simulator-tests integration molecule reliability sanity lint build importer docs-lint changelog-lint
	@echo "make test: all checks passed"

units: setup
	$(BIN)/python -m pytest tests/unit -q -p no:cacheprovider

simulator-tests: setup
	$(BIN)/python -m pytest tests/simulator/tests -q -p no:cacheprovider -n 2
	@if command -v node >/dev/null 2>&1 && [ -d $(NODE_CONFORMANCE)/node_modules ]; then \
		$(BIN)/python $(NODE_CONFORMANCE)/../run_node.py; \
	else echo "simulator-tests: no Node.js here, the Node.js conformance check did not run"; fi

# Integration targets (tests/integration/targets) with ansible-test integration against a simulator process,
# in a build copy (build/integration); tools/run_ansible_test_integration.py --real for a real account.
# tools/run_integration.py runs the same targets with plain ansible-playbook (quicker for one target).
integration: setup
	$(BIN)/python tools/run_ansible_test_integration.py

# Molecule scenarios of the roles (extensions/molecule) against a simulator process.
molecule: setup
	$(BIN)/python tools/run_molecule.py

# The reliability suite (tests/reliability, docs/reliability.md) at its fast size.
reliability: setup
	$(BIN)/python -m pytest tests/reliability -q -p no:cacheprovider -n 2

sanity: setup
	$(BIN)/python tools/install_get_pip_shim.py
	$(BIN)/python tools/build_copy.py >/dev/null
	cd $(BUILD_COPY) && ansible-test sanity --python 3.11 --color no

lint: setup
	$(BIN)/ansible-lint --profile production

build: setup
	rm -rf build/dist
	$(BIN)/ansible-galaxy collection build --output-path build/dist --force >/dev/null
	@ls build/dist/*.tar.gz

# The importer writes importer_result.json into the working directory: keep it under build/.
importer: build
	cd build && ../$(BIN)/python -m galaxy_importer.main dist/alibabacloud-ecs_ops-*.tar.gz

docs-lint: setup
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

changelog-lint: setup
	$(BIN)/antsibull-changelog lint

# The main jobs against the bundled simulator (demo fleet in playbooks/demo); reports land in reports/.
demo: setup
	$(BIN)/python tools/demo.py

# Fleet benchmarks P1-P10 (tools/bench.py: a Markdown table, bench-results.json, docs/performance.md).
# About 17 minutes; the reliability suite at full size is its own target (about 21 minutes).
bench: setup
	$(BIN)/python tools/bench.py

reliability-full: setup
	RELIABILITY_FULL=1 $(BIN)/python -m pytest tests/reliability -q -p no:cacheprovider -n 2


clean:
	rm -rf build collections .ansible tests/output
