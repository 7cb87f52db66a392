# One entry point for people and CI. `make synth` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# The pinned Node LTS and CDK CLI from package.json come first, then the project's Python.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_VERSION_CHECK := 1
CDK := cdk

.PHONY: help setup synth test lint diff deploy destroy clean email-picture

help:
	@echo "make synth    set up, synthesize every stack offline and show what would be deployed"
	@echo "make test     set up, lint, type-check and run the whole test suite"
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

diff: setup
	$(CDK) diff --all

deploy: setup
	$(CDK) deploy --all

destroy: setup
	$(CDK) destroy --all

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache

# The README's picture of the email (needs Debian's chromium: apt-get install chromium fonts-noto-cjk).
email-picture: setup
	python tools/render_email.py cdk.out/email
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir=cdk.out/email/profile --hide-scrollbars \
		--window-size=800,760 --screenshot=docs/email.png file://$(CURDIR)/cdk.out/email/email.html
