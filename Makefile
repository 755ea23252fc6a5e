# One-command entry points. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The Open Inference Protocol clients the tests drive (tritonclient, kserve) pin packages below
# the service's pins: they get a venv of their own.
CLIENTS_VENV := .venv-clients
MODEL_DIR ?= model
PORT ?= 8000
PRESET ?= full
# Training data: DATA=PATH, else a local copy of the IMDB archive beside the checkout, else download.
DATA ?= $(firstword $(wildcard ../shared/datasets/aclImdb*.tar.gz ../datasets/aclImdb*.tar.gz))
DATA_FLAG := $(if $(DATA),--data $(DATA))

.PHONY: setup test docker-test lint format train train-quick serve run benchmark screenshot clean

# The pinned requirements, then the project itself, editable (a code change needs no
# reinstall) and without dependencies (the pinned ones are there): the lstm-service command.
$(VENV)/.installed: requirements/serve.txt requirements/train.txt requirements/cli.txt requirements/dev.txt requirements/constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(CLIENTS_VENV)/.installed: requirements/clients.txt
	test -x $(CLIENTS_VENV)/bin/python || $(PYTHON) -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(CLIENTS_VENV)/bin/python -m pip install --quiet -r requirements/clients.txt
	touch $@

setup: $(VENV)/.installed  ## create .venv with every pinned dependency and the lstm-service command

test: setup $(CLIENTS_VENV)/.installed  ## run the test suite (trains tiny models on generated data)
	$(PY) -m pytest

docker-test: setup  ## build, train and serve in Docker for real (needs a Docker engine)
	RUN_DOCKER_TESTS=1 $(PY) -m pytest tests/docker -v

lint: setup  ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

train: setup  ## train both models: make train [PRESET=quick|full] [DATA=PATH]
	$(PY) -m training $(DATA_FLAG) --model-dir $(MODEL_DIR) --preset $(PRESET)

train-quick: PRESET = quick
train-quick: train

serve: setup  ## serve the newest models in MODEL_DIR on PORT
	MODEL_DIR=$(MODEL_DIR) PORT=$(PORT) $(PY) -m service

run: setup  ## train the quick preset if the model store is empty, then serve
	@if ! ls -d $(MODEL_DIR)/sentiment/[0-9]* $(MODEL_DIR)/next_word/[0-9]* >/dev/null 2>&1; then \
		echo "No model in $(MODEL_DIR) yet: training the quick preset first (about 5 minutes)."; \
		$(PY) -m training $(DATA_FLAG) --model-dir $(MODEL_DIR) --preset quick || exit 1; \
	fi
	MODEL_DIR=$(MODEL_DIR) PORT=$(PORT) $(PY) -m service

benchmark: setup  ## throughput and latency of the service against simpler ways of serving
	$(PY) -m benchmarks

screenshot: setup  ## save docs/playground.png: the playground answering on MODEL_DIR's models
	$(PY) -m benchmarks.screenshot --model-dir $(MODEL_DIR) --out docs/playground.png

clean:
	rm -rf $(VENV) $(CLIENTS_VENV) .pytest_cache .ruff_cache build *.egg-info
