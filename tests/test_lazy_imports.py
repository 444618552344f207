"""Torch is imported only where an agent needs it: spawned grid workers that run baselines
must not pay its import (seconds of CPU and hundreds of MiB each)."""

from __future__ import annotations

import subprocess
import sys

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
