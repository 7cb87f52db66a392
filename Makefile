# One entry point for people and CI. `make synth` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# The pinned Node LTS and CDK CLI from package.json come first, then the project's Python.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_VERSION_CHECK := 1
CDK := cdk

.PHONY: help setup synth test lint bench diff deploy destroy clean

help:
	@echo "make synth    set up, synthesize every stack offline and show what would be deployed"
	@echo "make test     set up, lint, type-check and run the whole test suite"
	@echo "make bench    set up, measure synth, tests, cold start, per-file cost and image weight (bench/results.json)"
	@echo "make diff     compare with what is deployed (needs AWS credentials)"
	@echo "make deploy   build the image, push it to the project's registry and deploy (cdk deploy --all)"
	@echo "make destroy  delete the stacks (retained resources stay; see README)"

$(VENV)/.installed: requirements.txt requirements-dev.txt lambda_image/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

synth: setup
	$(CDK) synth --quiet
	python tools/show_plan.py cdk.out

lint: setup
	ruff check .
	ruff format --check .
	mypy

test: lint
	python -m pytest

bench: setup
	python -m bench.run

diff: setup
	$(CDK) diff --all

deploy: setup
	$(CDK) deploy --all

destroy: setup
	$(CDK) destroy --all

clean:
	rm -rf cdk.out bench/out .pytest_cache .mypy_cache .ruff_cache
