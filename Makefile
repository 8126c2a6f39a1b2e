# The README's two commands:  `make lab` (set up, then open the tutorial)
# and `make test` (set up, then run every test). CI runs `make test` via .ci/run.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package version `make install` may pick, pinned: an upstream release cannot change
# what the tests run on until `make lock` records it (see lock below).
CONSTRAINTS := requirements/constraints.txt
BUILD_CONSTRAINTS := requirements/build-constraints.txt
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=
# `make app` serves the latent explorer (notebook 11) as a web page, code hidden, with Voilà.
APP_NOTEBOOK := notebooks/11_latent_explorer.ipynb
APP_PORT ?= 8866
APP_ARGS ?=

# The shipped models' lengths (the "command" in data/pretrained/<model>.json);
# e.g. PRETRAIN_ARGS=--resume continues an interrupted run.
DCGAN_STEPS ?= 22000
CDCGAN_STEPS ?= 20000
PRETRAIN_ARGS ?=

.PHONY: lab app test test-fast install upgrade lock mnist pretrain bench-throughput bench-quality bench-five bench-tune bench-spread bench-latency lint clean

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

# The unit tests alone, for while you edit: no notebooks, no browser, nothing marked slow
# (training runs, servers, the distributed run). `make test` remains the full check.
test-fast: install mnist
	$(BIN)/pytest tests -m "not slow" --ignore=tests/test_browser.py

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS) $(BUILD_CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "$(VENV) runs $$($(BIN)/python -V); this project needs Python 3.11 or newer: delete $(VENV), then run again with PYTHON=python3.11 (or newer)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade -c $(CONSTRAINTS) pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) --build-constraint $(BUILD_CONSTRAINTS) -e ".[test]"
	@# TensorFlow's C++ start-up log is written straight to file descriptor 2. Kernels of this
	@# venv leave that descriptor alone (it reaches the terminal that started Jupyter), so the
	@# chatter never lands in a notebook's outputs, where nbval would compare it.
	mkdir -p $(VENV)/etc/ipython
	echo "c.IPKernelApp.capture_fd_output = False" > $(VENV)/etc/ipython/ipython_kernel_config.py
	touch $@

# Newer packages, on purpose: `make upgrade` installs the newest versions pyproject.toml allows,
# ignoring the pins; if `make test` then passes, `make lock` pins them for everyone.
upgrade: install
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install --upgrade --upgrade-strategy eager -e ".[test]"

# Pins exactly what this venv holds, pip included (not the project itself): the versions
# `make test` just passed with. The build backend is pinned apart, in $(BUILD_CONSTRAINTS).
lock:
	@test -x $(BIN)/python || { echo "make lock pins the packages of $(VENV): run make install first"; exit 1; }
	mkdir -p $(dir $(CONSTRAINTS))
	{ \
		echo "# Pinned versions for \`pip install -c $(CONSTRAINTS) -e \".[test]\"\` (make install)."; \
		echo "# Written by \`make lock\` from the venv (run it once \`make test\` passes); do not edit by hand."; \
		echo "# Python $$($(BIN)/python -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())')"; \
		$(BIN)/python -m pip freeze --all --exclude-editable; \
	} > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)

# Uses data/mnist.npz when present (verified), else downloads it once through Keras.
mnist: install
	$(BIN)/python -c "from gan_helpers.data import load_mnist; load_mnist()"

# Retrains the shipped models in data/pretrained/ with the tutorial's own GAN (notebook 7):
# the DCGAN, then the conditional DCGAN, each evaluated and written with its JSON record.
pretrain: install mnist
	$(BIN)/python -m gan_helpers.pretrained --model dcgan --steps $(DCGAN_STEPS) $(PRETRAIN_ARGS)
	$(BIN)/python -m gan_helpers.pretrained --model cdcgan --steps $(CDCGAN_STEPS) $(PRETRAIN_ARGS)

# Benchmarks print what they measure; they are not tests (see benchmarks/*.py, BENCH_ARGS=--help).
bench-throughput: install mnist
	$(BIN)/python benchmarks/throughput.py $(BENCH_ARGS)

bench-quality: install mnist
	MPLBACKEND=Agg $(BIN)/python benchmarks/time_to_quality.py $(BENCH_ARGS)

bench-five: install mnist
	$(BIN)/python benchmarks/five_minutes.py $(BENCH_ARGS)

# Variants of the unconditional DCGAN's settings, 5 minutes each: what tuning it buys.
bench-tune: install mnist
	$(BIN)/python benchmarks/tune_dcgan.py $(BENCH_ARGS)

# Scores a shipped generator on several draws of samples: how noisy each measure is.
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
