# The README's two commands:  `make lab` (set up, then open the tutorial)
# and `make test` (set up, then run every test). CI runs `make test` via .ci/run.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=
# `make app` serves the latent explorer (notebook 11) as a web page, code hidden, with Voilà.
APP_NOTEBOOK := notebooks/11_latent_explorer.ipynb
APP_PORT ?= 8866
APP_ARGS ?=

PRETRAIN_ARGS ?= --recipe conditional --epochs 60

.PHONY: lab app test install mnist pretrain bench-throughput bench-quality bench-latency bench-layers bench-spread lint clean

lab: install mnist
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

# Voilà runs the notebook in a fresh kernel for each page load and shows only its outputs;
# cells tagged notebook-only (the lesson around the widget) are left out of the app.
app: install mnist
	$(BIN)/voila $(APP_NOTEBOOK) --Voila.ip=127.0.0.1 --port=$(APP_PORT) --no-browser \
		--TagRemovePreprocessor.remove_cell_tags=notebook-only $(APP_ARGS)

test: install mnist
	@command -v dot >/dev/null || { echo "make test needs graphviz's dot program: notebooks 3 and 4 store the diagrams it draws (Debian/Ubuntu: sudo apt install graphviz)"; exit 1; }
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nbstripout --keep-output --keep-count --verify notebooks/*.ipynb
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "$(VENV) runs $$($(BIN)/python -V); this project needs Python 3.11 or newer: delete $(VENV), then run again with PYTHON=python3.11 (or newer)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@# TensorFlow's C++ start-up log is written straight to file descriptor 2. Kernels of this
	@# venv leave that descriptor alone (it reaches the terminal that started Jupyter), so the
	@# chatter never lands in a notebook's outputs, where nbval would compare it.
	mkdir -p $(VENV)/etc/ipython
	echo "c.IPKernelApp.capture_fd_output = False" > $(VENV)/etc/ipython/ipython_kernel_config.py
	touch $@

# Uses data/mnist.npz when present (verified), else downloads it once through Keras.
mnist: install
	$(BIN)/python -c "from gan_helpers.data import load_mnist; load_mnist()"

# Retrains the shipped models in data/pretrained/ with the tutorial's own training code.
pretrain: install mnist
	$(BIN)/python -m gan_helpers.pretrained $(PRETRAIN_ARGS)

# Benchmarks print what they measure; they are not tests (see benchmarks/*.py).
bench-throughput: install mnist
	$(BIN)/python benchmarks/throughput.py $(BENCH_ARGS)

bench-quality: install mnist
	MPLBACKEND=Agg $(BIN)/python benchmarks/time_to_quality.py $(BENCH_ARGS)

# Times each layer of the seed DCGAN alone: where its training step spends its time.
bench-layers: install
	$(BIN)/python benchmarks/layer_speed.py $(BENCH_ARGS)

# Scores the shipped generator on several draws of samples: how noisy each measure is.
bench-spread: install mnist
	$(BIN)/python benchmarks/sample_spread.py $(BENCH_ARGS)

# Starts the Voilà app and times slider moves in headless Chromium (/usr/bin/chromium).
bench-latency: install mnist
	$(BIN)/python benchmarks/explorer_latency.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf artifacts test-artifacts .pytest_cache .ruff_cache
