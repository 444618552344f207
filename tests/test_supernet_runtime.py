"""Supernet run-time behaviour: the thread policy (keyword, environment variable, default), a cached
supernet loading quickly in a new process, the quick data set reaching a useful accuracy, and the
GPU check and benchmark scripts (which refuse clearly without CUDA, and run on the CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import nas_gym  # noqa: F401
from nas_gym.cli import main
from nas_gym.supernets import backend as B
from nas_gym.supernets.backend import SupernetBackend
from nas_gym.supernets.threads import THREADS_ENV, resolve_threads, torch_threads

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    space="nb201",
    dataset="digits",
    size="tiny",
    device="cpu",
    epochs=0,
    n_val=100,
    recal_batches=1,
    cache_size=0,
    progress=False,
)


@pytest.fixture
def caller_threads():
    """The caller runs torch on two threads; put its setting back afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(old)


def test_thread_count_comes_from_the_keyword_then_the_environment_then_one(monkeypatch, raises_naming):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert resolve_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "3")
    assert resolve_threads() == 3 and resolve_threads(2) == 2
    monkeypatch.setenv(THREADS_ENV, "two")
    raises_naming(lambda: resolve_threads(), THREADS_ENV, "'two'", "positive")
    raises_naming(lambda: resolve_threads(0), "threads=0", "positive")
    raises_naming(lambda: resolve_threads(1.5), "threads=1.5")


def test_backend_work_runs_on_its_threads_and_gives_the_callers_back(monkeypatch, caller_threads, tmp_path):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path))
    monkeypatch.delenv(THREADS_ENV, raising=False)
    seen: dict[str, list[int]] = {"pretrain": [], "query": []}
    real = B.pretrain

    def spy(*args, **kwargs):
        seen["pretrain"].append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(B, "pretrain", spy)
    sn = SupernetBackend(**TINY)
    assert torch.get_num_threads() == caller_threads
    sn.network.register_forward_pre_hook(lambda m, a: seen["query"].append(torch.get_num_threads()))
    sn.query(sn.space.sample(np.random.default_rng(0)))
    assert torch.get_num_threads() == caller_threads
    assert seen["pretrain"] == [1] and set(seen["query"]) == {1}

    monkeypatch.setenv(THREADS_ENV, "2")
    torch.set_num_threads(1)
    sn2 = SupernetBackend(**TINY, seed=1)
    seen["query"].clear()
    sn2.network.register_forward_pre_hook(lambda m, a: seen["query"].append(torch.get_num_threads()))
    sn2.evaluate(sn2.space.sample(np.random.default_rng(0)))
    assert seen["pretrain"][-1] == 2 and set(seen["query"]) == {2} and torch.get_num_threads() == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_process_stays_on_one_thread():
    """Torch's thread pool does not survive fork: a second thread in the child would wait forever."""
    torch.ones(4).sum()  # torch in use in the parent
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        with torch_threads(2):
            n = torch.get_num_threads()
        os._exit(0 if n == 1 else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with torch_threads(2):  # the parent is no forked child
        assert torch.get_num_threads() == 2


def test_gym_make_and_the_cli_take_the_policy(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path))
    env = gym.make(
        "NasGym/NB201Supernet-Cont-v0",
        data="digits",
        size="tiny",
        device="cpu",
        epochs=0,
        n_val=100,
        recal_batches=1,
        progress=False,
        threads=2,
    )
    assert env.unwrapped.backend.threads == 2
    env.close()
    monkeypatch.setenv(THREADS_ENV, "0")  # the CLI's default --threads is the policy's: a bad value is named
    assert main(["supernet", "pretrain", "--data", "digits", "--epochs", "1", "--device", "cpu", "--no-progress"]) == 2
    assert THREADS_ENV in capsys.readouterr().err


def test_a_new_process_loads_a_cached_supernet_without_training_machinery(tmp_path):
    """The second process reads the checkpoint and builds no optimiser: torch.optim's first use
    imports torch._dynamo (seconds), which a finished checkpoint does not need."""
    env = {**os.environ, "NAS_GYM_CACHE": str(tmp_path)}
    code = (
        "import json, sys, time, gymnasium as gym, nas_gym\n"
        "t = time.perf_counter()\n"
        "e = gym.make('NasGym/NB201Supernet-Cont-v0', data='digits', size='tiny', device='cpu',\n"
        "             epochs=2, progress=False)\n"
        "e.reset(seed=0); e.step(e.action_space.sample())\n"
        "print(json.dumps({'steps': e.unwrapped.backend.trained_steps, 'dynamo': 'torch._dynamo' in sys.modules}))\n"
    )
    first, second = (
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout.splitlines()[-1]
        )
        for _ in range(2)
    )
    assert first["steps"] > 0 and first["dynamo"]  # the first process trained (with the optimiser)
    assert second == {"steps": 0, "dynamo": False}


def test_digits_default_recipe_reaches_a_useful_accuracy(one_torch_thread):
    """scikit-learn's digits, the quick choice: the default recipe (batch 16, 30 epochs, ~10 CPU-s)
    gives children far above chance (3 epochs at batch 64 left them at 8-23%). Its checkpoint,
    in the suite's cache, serves the documentation's digits examples too."""
    sn = SupernetBackend(space="nb201", dataset="digits", size="tiny", device="cpu", cache_size=0, progress=False)
    assert (sn.recipe.batch_size, sn.recipe.epochs) == (16, 30)
    acc = [sn.query(c).val for c in sn.space.sample(np.random.default_rng(0), 12)]
    assert np.median(acc) > 75, acc
    given = SupernetBackend(
        space="nb201", dataset="digits", size="tiny", device="cpu", epochs=0, recipe={"batch_size": 32}, progress=False
    )
    assert (given.recipe.batch_size, given.recipe.epochs) == (32, 0)  # what the user gives wins


def test_gpu_check_refuses_clearly_without_cuda():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU visible, on any machine
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode != 0
    assert "no CUDA device" in out.stderr and "pytest" not in out.stdout


# the benchmark script's smallest real run: one round of two queries on the tiny supernet over digits
SMALL_BENCH = "--device cpu --spaces nb201 --sizes tiny --data digits --reps 1 --queries 2 --rounds 1".split()


def test_bench_supernet_sections_run_on_the_cpu(load_script, capsys):
    script = load_script("bench_supernet")
    assert (
        script.main(
            [
                *SMALL_BENCH,
                "--what",
                "steps,pool,threads",
                "--epoch-rounds",
                "1",
                "--pool-batch",
                "8",
                "--vs-threads",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "== steps" in out and "== pool" in out and "3x3 stride 1, C=4 " in out
    assert "CPU seconds, 1 vs 2 thread(s):" in out
    with pytest.raises(SystemExit):
        script.main(["--what", "steps,warp"])
    assert "warp" in capsys.readouterr().err


@pytest.mark.long  # ~25 CPU-s: four fresh processes of the benchmark script, two of them on a checkout
def test_bench_supernet_compares_with_a_revision_in_fresh_processes(load_script, capsys):
    script = load_script("bench_supernet")
    assert script.main([*SMALL_BENCH, "--what", "queries,load", "--compare-ref", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "nb201 tiny: frozen queries/s:" in out and "nb201 tiny: single-path step:" in out and "darts" not in out
    assert "gym.make, this tree vs HEAD:" in out and "trained steps 0" in out
