"""Torch is imported only where an agent needs it: spawned grid workers that run baselines
must not pay its import (seconds of CPU and hundreds of MiB each)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nas_gym.agents import agent_names, make
from nas_gym.agents.kwargs import check_agent_kwargs

PROBE = """
import sys
import nas_gym, nas_gym.experiments.runner
from nas_gym.agents import make
{body}
print(sorted(m for m in ("torch", "optuna", "scipy") if m in sys.modules))
"""


def loaded(body: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_baseline_runs_import_no_torch():
    body = (
        "import gymnasium as gym\n"
        "from nas_gym.experiments.runner import RunSpec, run_one\n"
        "p = run_one(RunSpec('NB201-Cont-v0', 'rs', 0, '20'))\n"
        "assert p['status'] == 'ok', p\n"
    )
    assert "torch" not in loaded(body)


def test_making_an_rl_agent_imports_torch():
    assert "torch" in loaded("make('cadam')")


def test_lazy_agents_are_listed_made_and_checked():
    assert {"cadam", "bo", "reinforce", "reinforce-cat", "tpe", "rs"} <= set(agent_names())
    assert make("reinforce-cat").name == "reinforce-cat"
    check_agent_kwargs("bo", {})
    with pytest.raises(ValueError, match="unknown agent 'nope'.*cadam"):
        make("nope")


def test_cheap_grid_forks_its_workers_and_matches_one_worker(tmp_path):
    body = (
        "import json\n"
        "from nas_gym.experiments.runner import run_grid, worker_start_method\n"
        "assert worker_start_method() == 'fork'\n"
        f"one = run_grid('NB201-Cont-v0', ['rs', 're'], 2, 25, r'{tmp_path}/one', workers=1, progress=False)\n"
        f"two = run_grid('NB201-Cont-v0', ['rs', 're'], 2, 25, r'{tmp_path}/two', workers=2, progress=False)\n"
        "strip = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != 'wall_s'}\n"
        "assert [strip(p) for p in one] == [strip(p) for p in two]\n"
    )
    assert "torch" not in loaded(body)


def test_workers_are_spawned_once_torch_is_loaded():
    assert loaded(
        "import torch\nfrom nas_gym.experiments.runner import worker_start_method\n"
        "assert worker_start_method() == 'spawn'"
    ).startswith("[")


def test_bo_runs_and_the_plots_import_no_scipy_stats(tmp_path):
    """scipy.stats costs a third of a second per process: BO's normal cdf / pdf and the plots'
    t-interval come from scipy.special (the same floats), so grid workers and the summary skip it."""
    body = (
        "from nas_gym.experiments.runner import run_grid\n"
        "from nas_gym.experiments.summary import summarise\n"
        f"run_grid('NB201-Cont-v0', ['bo'], 2, 15, r'{tmp_path}', workers=1, progress=False)\n"
        f"summarise(r'{tmp_path}')\n"
        f"assert (__import__('pathlib').Path(r'{tmp_path}') / 'anytime.png').exists()\n"
        "assert 'scipy.stats' not in sys.modules, 'scipy.stats was imported'\n"
    )
    assert "scipy" in loaded(body)


def test_bo_acquisition_is_scipy_stats_expected_improvement():
    from scipy.stats import norm

    from nas_gym.agents.bo import expected_improvement

    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=1000), rng.uniform(1e-6, 2.0, 1000)
    gain = mu - 0.3 - 0.01
    ref = gain * norm.cdf(gain / sigma) + sigma * norm.pdf(gain / sigma)
    assert np.array_equal(expected_improvement(mu, sigma, 0.3, 0.01), ref)


NO_TORCH = """
import sys
for name in ("torch", "sklearn"):  # as on an installation without the torch extra
    sys.modules[name] = None
import gymnasium as gym, numpy as np
import nas_gym
from nas_gym.agents import Budget, make

status = nas_gym.env_status()
torch_ids = [i for i in status if "Supernet" in i or i == "NasGym/FewShot-v0"]
assert all("pip install 'nas-gym[torch]'" in status[i] for i in torch_ids), status
ready = nas_gym.env_ids(ready_only=True)
assert not set(torch_ids) & set(ready) and "NasGym/NB201-Seq-v0" in ready
for env_id in ready:  # every table id steps
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(7):
        if any(env.step(env.action_space.sample())[2:4]):
            env.reset()
for name in ("rs", "re", "bo"):
    result = make(name).search(gym.make("NasGym/NB201-Cont-v0", budget=30), Budget.parse(30), seed=0)
    assert result.n_queries == 30 and result.best_observed > 80, (name, result.best_observed)
for fail in (lambda: gym.make("NasGym/NB201Supernet-Cont-v0"), lambda: gym.make("NasGym/FewShot-v0"),
             lambda: make("cadam"), lambda: make("darts"), lambda: make("sb3:PPO")):
    try:
        fail()
    except ModuleNotFoundError as e:
        assert "pip install 'nas-gym[" in str(e), e
    else:
        raise AssertionError("made without torch")
print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sklearn") and sys.modules[m] is not None))
"""


def test_table_envs_and_baselines_run_where_torch_is_not_installed():
    """Without the torch extra: every table id steps, rs/re/bo search, and what needs torch says
    how to install it, at make time."""
    out = subprocess.run([sys.executable, "-c", NO_TORCH], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
