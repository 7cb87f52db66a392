# One entry point for people and CI. `make synth` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# The pinned Node LTS and CDK CLI from package.json come first, then the project's Python.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_VERSION_CHECK := 1
# Extra CDK options for synth, diff, deploy and destroy, e.g. make deploy ARGS="-c stage=prod". CDK=path runs
# another CDK CLI than the pinned one.
ARGS ?=
# `make deploy` runs the preflight first; PREFLIGHT=0 skips it (docs/preflight.md).
PREFLIGHT ?= 1

.PHONY: help setup setup-dev distclean bootstrap synth test lint fuzz mutation bench checks diff-local reference diff preflight deploy destroy status redrive demo cost images clean email-picture settings-table figures-table

help:
	@echo "make synth    set up, synthesize every stack offline and show what would be deployed"
	@echo "make test     set up, lint, type-check and run the whole test suite (checks included)"
	@echo "make fuzz     the property tests of the mailer and of the images' lifecycle with many more cases (minutes)"
	@echo "make mutation  how many planted bugs the tests catch (mutmut); SAMPLE=N for N per target (docs/mutation.md)"
	@echo "make checks   only the checks before deploy: cfn-lint, checkov, hadolint, image, IAM, cdk-nag, workflows"
	@echo "make diff-local  compare a fresh synth with the reviewed templates in checks/reference (offline)"
	@echo "make reference   accept the current synth as the new reference (after a reviewed change)"
	@echo "make bench    set up, measure synth, tests, cold start, per-file cost and image weight (bench/results.json)"
	@echo "make bootstrap  once per account and region: the CDK's bootstrap stack (needs AWS credentials)"
	@echo "make diff     compare with what is deployed (needs AWS credentials)"
	@echo "make preflight  check this machine and the AWS account can deploy (read-only, needs AWS credentials)"
	@echo "make deploy   preflight, then build the image, push it to the project's registry and deploy (cdk deploy --all)"
	@echo "make destroy  delete the stacks (retained resources stay; README, "Destroying")"
	@echo "make status   one screen of the deployed app: queues, alarms, last failures, SES, image (read-only)"
	@echo "make redrive  move failed files back to the queue; make redrive DRY_RUN=1 only shows what would move"
	@echo "make images   the registry's images: live and protected marks, scan findings, storage a month, what expires next"
	@echo "make demo     see it work here first: the synthesized app in a local stand-in for AWS (docs/demo.md)"
	@echo "make cost     a month's cost of the synthesized app for your uploads, offline; USAGE=\"--files-per-day 1000\""
	@echo "make settings-table  rewrite docs/settings.md's table from the declarations in stacks/settings.py"
	@echo "make figures-table  rewrite docs/performance.md's tables from bench/results.json and bench/mutation.json"
	@echo "make clean    remove what synth and the tests leave; make distclean also removes the venvs and node_modules"
	@echo "Pass CDK options with ARGS, a list quoted whole: make synth ARGS='-c stage=prod -c \"recipients=a@example.com, b@example.com\"'"
	@echo "Without make (PowerShell): py tools/dev.py synth, test, status, ... (docs/setup.md)"

# setup, synth, test and the operator commands run through tools/dev.py, the same runner PowerShell users call
# (docs/setup.md). It checks the interpreter first and installs only what the command needs.
export MAKE_PYTHON := $(PYTHON)
RUN := $(PYTHON) tools/dev.py

setup:
	$(RUN) setup

# The test tools as well, for the targets below that run them.
setup-dev:
	$(RUN) setup-dev

synth:
	$(RUN) synth $(ARGS)

lint: setup-dev
	ruff check .
	ruff format --check .
	mypy

# Lint, types, then one pytest worker per core (tools/dev.py's PYTEST, which `make bench` times too).
test:
	$(RUN) test

fuzz: setup-dev
	python -m pytest tests/handler/test_properties.py tests/infra/test_live_image_property.py --hypothesis-profile=fuzz

# Not part of `make test`: SAMPLE=N mutates a seeded sample of N mutants per target (SEED=...), TARGET=mailer|stacks
# only one target; without SAMPLE every mutant runs (docs/mutation.md).
mutation: setup-dev
	python -m checks.mutation $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(SEED),--seed $(SEED)) $(if $(TARGET),--target $(TARGET)) $(if $(RESCORE),--rescore)

checks: setup-dev
	python -m pytest tests/checks

diff-local:
	$(RUN) diff-local

reference: setup-dev
	python -m checks.diff_local --refresh

bench: setup-dev
	python -m bench.run

bootstrap:
	$(RUN) bootstrap $(ARGS)

diff:
	$(RUN) diff $(ARGS)

# Synthesizes first: the bootstrap version and the image tag are read from the assembly the deploy will use.
preflight:
	$(RUN) preflight $(ARGS)

deploy:
	$(RUN) deploy $(if $(filter 0,$(PREFLIGHT)),--no-preflight) $(ARGS)

destroy:
	$(RUN) destroy $(ARGS)

# The operator tools take the same ARGS as deploy (-c stage=..., -c region=..., --profile ...).
status:
	$(RUN) status $(ARGS)

# DRY_RUN=1 (or yes, true) only shows what would move; DRY_RUN=0 or any other value is a real run.
redrive:
	$(RUN) redrive $(ARGS) $(if $(DRY_RUN),--dry-run=$(DRY_RUN))

# The whole product on this machine: no AWS account, no Docker (docs/demo.md).
demo:
	$(RUN) demo $(ARGS)

# Read-only, needs AWS credentials (docs/images.md).
images:
	$(RUN) images $(ARGS)

# USAGE holds the profile's flags (cdk would refuse them in ARGS): make cost USAGE="--files-per-day 1000".
cost:
	$(RUN) cost $(ARGS) $(if $(USAGE),-- $(USAGE))

# Keeps the venvs and node_modules; `make distclean` removes them too, and the next `make synth` starts over.
clean:
	$(RUN) clean

distclean:
	$(RUN) reset

# The README's picture of the email, docs/email.png (needs Debian's chromium: apt-get install chromium fonts-noto-cjk).
email-picture: setup-dev
	python tools/render_email.py cdk.out/email
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir=cdk.out/email/profile --hide-scrollbars \
		--window-size=800,760 --screenshot=docs/email.png file://$(CURDIR)/cdk.out/email/email.html

# docs/settings.md's table of every setting, rendered from each setting's declaration (a test fails while it is not current).
settings-table: setup-dev
	python -m tools.settings_table

# docs/performance.md's tables, rendered from bench/results.json and bench/mutation.json (a test fails while stale).
figures-table: setup-dev
	python -m tools.figures_table
