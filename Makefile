# One entry point for people and CI. `make synth` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# checkov's dependencies clash with the project's pins: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
# The pinned Node LTS and CDK CLI from package.json come first, then the project's Python.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_VERSION_CHECK := 1
CDK := cdk
# Extra CDK options for synth, diff, deploy and destroy, e.g. make deploy ARGS="-c stage=prod".
ARGS ?=
# `make deploy` runs the preflight first; PREFLIGHT=0 skips it (README, "First deploy").
PREFLIGHT ?= 1

.PHONY: help setup bootstrap synth test lint fuzz mutation bench checks diff-local reference diff preflight deploy destroy status redrive clean email-picture settings-table

help:
	@echo "make synth    set up, synthesize every stack offline and show what would be deployed"
	@echo "make test     set up, lint, type-check and run the whole test suite (checks included)"
	@echo "make fuzz     the property tests of the mailer with many more generated uploads (a few minutes)"
	@echo "make mutation  how many planted bugs the tests catch (mutmut); SAMPLE=N for N per target (README)"
	@echo "make checks   only the checks before deploy: cfn-lint, checkov, hadolint, image, IAM, cdk-nag, workflows"
	@echo "make diff-local  compare a fresh synth with the reviewed templates in checks/reference (offline)"
	@echo "make reference   accept the current synth as the new reference (after a reviewed change)"
	@echo "make bench    set up, measure synth, tests, cold start, per-file cost and image weight (bench/results.json)"
	@echo "make bootstrap  once per account and region: the CDK's bootstrap stack (needs AWS credentials)"
	@echo "make diff     compare with what is deployed (needs AWS credentials)"
	@echo "make preflight  check this machine and the AWS account can deploy (read-only, needs AWS credentials)"
	@echo "make deploy   preflight, then build the image, push it to the project's registry and deploy (cdk deploy --all)"
	@echo "make destroy  delete the stacks (retained resources stay; see README)"
	@echo "make status   one screen of the deployed app: queues, alarms, last failures, SES, image (read-only)"
	@echo "make redrive  move failed files back to the queue; make redrive DRY_RUN=1 only shows what would move"
	@echo "make settings-table  rewrite the README's settings table from the declarations in stacks/settings.py"
	@echo "Pass CDK options with ARGS, e.g. make synth ARGS=\"-c stage=prod -c recipients=a@example.com\""

$(VENV)/.installed: requirements.txt requirements-dev.txt lambda_image/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(CHECKOV_VENV)/.installed: checks/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r checks/requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

synth: setup
	$(CDK) synth --quiet $(ARGS)
	python tools/show_plan.py cdk.out

lint: setup
	ruff check .
	ruff format --check .
	mypy

# One pytest worker per core (pytest-xdist). `make bench` times this same pytest command, read from here.
test: lint $(CHECKOV_VENV)/.installed
	python -m pytest -n auto

fuzz: setup
	python -m pytest tests/handler/test_properties.py --hypothesis-profile=fuzz

# Not part of `make test`: SAMPLE=N mutates a seeded sample of N mutants per target (SEED=...), TARGET=mailer|stacks
# only one target; without SAMPLE every mutant runs (README, "How good are the tests").
mutation: setup $(CHECKOV_VENV)/.installed
	python -m checks.mutation $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(SEED),--seed $(SEED)) $(if $(TARGET),--target $(TARGET)) $(if $(RESCORE),--rescore)

checks: setup $(CHECKOV_VENV)/.installed
	python -m pytest tests/checks

diff-local: setup
	python -m checks.diff_local

reference: setup
	python -m checks.diff_local --refresh

bench: setup
	python -m bench.run

bootstrap: setup
	$(CDK) bootstrap $(ARGS)

diff: setup
	$(CDK) diff --all $(ARGS)

# Synthesizes first: the bootstrap version and the image tag are read from the assembly the deploy will use.
# Run as a module, like the other tools, so that it can import what they share from tools/.
preflight: setup
	$(CDK) synth --quiet $(ARGS)
	python -m tools.preflight $(ARGS)

deploy: setup $(if $(filter 0,$(PREFLIGHT)),,preflight)
	$(CDK) deploy --all $(ARGS)

destroy: setup
	$(CDK) destroy --all $(ARGS)

# The operator tools take the same ARGS as deploy (-c stage=..., -c region=..., --profile ...).
status: setup
	python -m tools.status $(ARGS)

redrive: setup
	python -m tools.redrive $(ARGS) $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf cdk.out bench/out .pytest_cache .mypy_cache .ruff_cache .cache

# The README's picture of the email (needs Debian's chromium: apt-get install chromium fonts-noto-cjk).
email-picture: setup
	python tools/render_email.py cdk.out/email
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir=cdk.out/email/profile --hide-scrollbars \
		--window-size=800,760 --screenshot=docs/email.png file://$(CURDIR)/cdk.out/email/email.html

# The README's settings table, rendered from each setting's declaration (a test fails while it is not current).
settings-table: setup
	python -m tools.settings_table
