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
    assert loaded("import torch\nfrom nas_gym.experiments.runner import worker_start_method\n"
                  "assert worker_start_method() == 'spawn'") .startswith("[")


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
