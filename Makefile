# botfleet.deploy — developer entry points. Run `make help`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTION_LINK := .collections/ansible_collections/botfleet/deploy
SANITY_ROOT := .build/sanity/ansible_collections/botfleet/deploy
# The pip version ansible-test 2.19 bootstraps into its venvs (get_venv_packages).
ANSIBLE_TEST_PIP := 24.2
ANSIBLE_TEST_GET_PIP := $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP)).py

export PATH := $(BIN):$(PATH)
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export MOLECULE_GLOB := molecule/*/molecule.yml
export PYTHONDONTWRITEBYTECODE := 1

MOLECULE_SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
# Scenarios run in two lanes side by side (tools/molecule-lanes.sh). On the build machine, loaded
# by benches too: faults 1078 s + venv 936 s; canary 691 s + rollout 1112 s + provision 1030 s.
# Not three yet: in a trial with a third lane, beside the 40-bot scale bench (load average 34), the
# canary scenario's timed crash (a bot that exits 25 s after its start) came during its gate.
MOLECULE_LANES ?= faults:venv canary:rollout:provision

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

.PHONY: venv
venv: $(BIN)/.installed $(COLLECTION_LINK) ## Create the dev virtualenv and link the collection

.PHONY: host-deps
host-deps: ## Install podman, runc, debootstrap when missing (Debian, root)
	lab/setup-host.sh

.PHONY: image
image: host-deps ## Build the lab image unless it exists
	lab/image/build.sh

.PHONY: setup
setup: venv image ## Everything the tests and the lab need

.PHONY: lint
lint: venv ## ruff and ansible-lint (production profile)
	ruff check .
	ruff format --check .
	ansible-lint

$(ANSIBLE_TEST_GET_PIP): tools/get_pip_offline.py
	mkdir -p $(dir $@)
	cp $< $@

.PHONY: sanity
sanity: venv $(ANSIBLE_TEST_GET_PIP) ## ansible-test sanity on a copy of the tracked files
	rm -rf .build/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A && \
	  ansible-test sanity --color no --python 3.11 --venv --requirements $(SANITY_ARGS)

.PHONY: test-unit
test-unit: venv ## Fast tests: unit tests of the plugins and the lab
	pytest -q -n auto tests/unit

.PHONY: test-lab
test-lab: venv ## The Webex emulator and the real demo bot per webex_bot/websockets pair
	pytest -q tests/lab

.PHONY: molecule
molecule: setup ## Molecule scenarios on real systemd containers (MOLECULE_SCENARIOS="a b" runs those, one after the other)
ifeq ($(origin MOLECULE_SCENARIOS),file)
	@missing="$(filter-out $(subst :, ,$(MOLECULE_LANES)),$(MOLECULE_SCENARIOS))"; \
	  [[ -z $$missing ]] || { echo "MOLECULE_LANES lacks the scenario(s): $$missing" >&2; exit 1; }
	tools/molecule-lanes.sh $(foreach lane,$(MOLECULE_LANES),"$(subst :, ,$(lane))")
else
	tools/molecule-lanes.sh "$(MOLECULE_SCENARIOS)"
endif

.PHONY: build
build: venv ## Build the collection tarball
	ansible-galaxy collection build --force --output-path .build

.PHONY: ee-context
ee-context: build ## The execution environment's build context (ansible-builder create), for AWX
	mkdir -p .build/ee
	cp .build/botfleet-deploy-$$(sed -n 's/^version: //p' galaxy.yml).tar.gz .build/ee/botfleet-deploy.tar.gz
	ansible-builder create --file execution-environment.yml --context .build/ee-context --output-filename Containerfile

.PHONY: test
test: setup lint sanity test-unit test-lab build molecule ## Everything CI runs

.PHONY: bench
bench: venv ## venv module benchmark (no lab); the lab ones are in bench/README.md and need `make demo` first
	python bench/venv_modules.py

.PHONY: wheelhouse
wheelhouse: venv ## Build the controller-side wheelhouse the lab installs from
	lab/lab.sh wheelhouse

.PHONY: lab-up
lab-up: setup wheelhouse ## Start the lab: two systemd VMs and the Webex emulator
	lab/lab.sh up

.PHONY: lab-down
lab-down: ## Remove the lab VMs, the emulator and their state
	lab/lab.sh down

.PHONY: demo
demo: setup ## The story on the local lab: provision, failing and passing canary, rollout, rollback
	lab/demo.sh

.PHONY: provision
provision: lab-up ## Provision the five lab bots at the pins in inventory
	ansible-playbook playbooks/provision.yml -i inventories/lab

.PHONY: clean
clean: ## Remove build output (keeps the venv and the lab image)
	rm -rf .build tests/output
