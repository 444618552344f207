"""Short real searches of every RL agent on NAS-Bench-201 CIFAR-10: valid results, reproducible seeds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from nas_gym.agents import Budget, make

BUDGET = 150
# agent -> (family, env keyword arguments): each agent on the env its paper defines
CASES = {
    "reinforce": ("Seq", {}),
    "reinforce-cat": ("Seq", {}),
    "qlearning": ("Seq", {}),
    "ppo": ("Seq", {}),
    "ppo-edit": ("Edit", {}),
    "ddpg": ("Cont", {"obs": "previous"}),
    "cadam": ("Cont", {"reward": "cadam", "budget": BUDGET}),
    "advantagenas": ("Cont", {}),
    "advantagenas-reinforce": ("Cont", {}),
}


def run(case: str, seed: int):
    """(env, result) of one search of ``case`` with ``seed``."""
    family, kwargs = CASES[case]
    env = gym.make(f"NasGym/NB201-{family}-v0", dataset="cifar10", **kwargs)
    return env, make(case.removesuffix("-edit")).search(env, Budget(BUDGET), seed)


@pytest.mark.parametrize("case", list(CASES))
def test_agent_returns_a_valid_reproducible_result(case, nb201_c10):
    threads = torch.get_num_threads()
    env, a = run(case, seed=3)
    _, b = run(case, seed=3)
    _, c = run(case, seed=4)
    again = make(case.removesuffix("-edit")).search(env, Budget(BUDGET), 4)  # same env, second search
    assert np.array_equal(c.arch_index, again.arch_index)  # the first search's queries are not counted
    assert a.n_queries == BUDGET and a.agent == case.removesuffix("-edit") and a.seed == 3
    assert np.array_equal(a.arch_index, b.arch_index) and np.array_equal(a.val, b.val)
    assert not np.array_equal(a.arch_index, c.arch_index)
    assert 0 <= a.best_index < nb201_c10.space.size and a.best_index in a.arch_index
    observed = a.val[a.arch_index == a.best_index]
    assert a.best_observed == pytest.approx(observed.mean()) and a.best_observed <= a.val.max()
    assert 85.0 < nb201_c10.val_mean[a.best_index] <= nb201_c10.optimum()[1]
    assert torch.get_num_threads() == threads  # the agents restore the thread setting they change


def test_state_checks_of_the_continuous_agents(nb201_c10):
    topk = gym.make("NasGym/NB201-Cont-v0")
    with pytest.raises(ValueError, match="obs='previous'"):
        make("ddpg").search(topk, Budget(5), 0)
    prev = gym.make("NasGym/NB201-Cont-v0", obs="previous")
    with pytest.raises(ValueError, match="obs='topk'"):
        make("cadam").search(prev, Budget(5), 0)
    with pytest.warns(UserWarning, match="reward='cadam'"):
        make("cadam").search(gym.make("NasGym/NB201-Cont-v0"), Budget(5), 0)
    with pytest.warns(UserWarning, match="budget=20"):
        make("cadam").search(gym.make("NasGym/NB201-Cont-v0", reward="cadam", budget=10), Budget(20), 0)


def test_families_are_checked(nb201_c10):
    with pytest.raises(ValueError, match="Seq"):
        make("reinforce").search(gym.make("NasGym/NB201-Cont-v0"), Budget(5), 0)
    with pytest.raises(ValueError, match="Cont"):
        make("cadam").search(gym.make("NasGym/NB201-Seq-v0"), Budget(5), 0)


@pytest.mark.slow
def test_reinforce_cat_beats_random_search_as_nas_bench_201_reports(tmp_path, nb201_c10):
    """NAS-Bench-201's REINFORCE ahead of random search on CIFAR-10 under training-seed noise:
    500 queries, 40 paired seeds (docs/agents.md has the other budgets and datasets)."""
    from scipy import stats

    from nas_gym.experiments import run_grid
    from nas_gym.experiments.results import read_run

    paths = run_grid(
        "NB201-Cont-v0",
        ["rs", "reinforce-cat"],
        40,
        500,
        tmp_path,
        workers=2,
        env_kwargs={"dataset": "cifar10", "noise": "seed"},
        progress=False,
    )
    runs = [read_run(p) for p in paths]
    rs, rf = (
        np.array([r["result"]["best_val"] for r in runs if r["spec"]["agent"] == a]) for a in ("rs", "reinforce-cat")
    )
    assert len(rs) == len(rf) == 40
    assert rf.mean() - rs.mean() > 0.05, (rs.mean(), rf.mean())
    assert stats.wilcoxon(rf, rs, alternative="greater").pvalue < 0.01
