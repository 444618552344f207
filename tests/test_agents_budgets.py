"""Exact budgets: after a search, the env's search log itself (not the SearchResult, which is cut
to the budget and so would hide an overshoot) holds exactly the queries the budget allows.

Every registered agent, the SB3 adapter and the agent variants that spend budgets differently
(PPO on Edit envs, whose resets query; LNAS with a retraining) run three small searches each: a
budget of one query, of four (where an env's episode ends, so a reset that queries would
overshoot), and of simulated seconds (the search stops at the query that spends them);
one-shot agents also run a budget in epochs, whose weight steps are counted on the optimiser.
"""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from tiny_supernet import TINY

import nas_gym  # noqa: F401  (registers the env ids)
from nas_gym.agents import Budget, agent_names, make, search_log
from nas_gym.agents.base import agent_factory
from nas_gym.agents.oneshot.loop import OneShotAgent

STEPS_PER_QUERY = 3
# name -> (agent name, agent keywords, env id, env keywords) where the default does not fit
SPECIAL = {
    "cadam": ("cadam", {}, "NasGym/NB201-Cont-v0", {"reward": "cadam", "budget": 4}),
    "ddpg": ("ddpg", {}, "NasGym/NB201-Cont-v0", {"obs": "previous", "budget": 4}),
    "ppo-edit": ("ppo", {}, "NasGym/NB201-Edit-v0", {"budget": 3}),
    "lnas-retrain": ("lnas", {"variant": 1, "retrain_epochs": 2}, "NasGym/NB201Supernet-Cont-v0", {}),
    "sb3:PPO": ("sb3:PPO", {"n_steps": 16, "batch_size": 16}, "NasGym/NB201-Seq-v0", {}),
    "sb3:A2C": ("sb3:A2C", {"n_steps": 5}, "NasGym/NB201-Cont-v0", {"budget": 4}),
    "sb3:DQN": ("sb3:DQN", {"learning_starts": 2}, "NasGym/NB201-Edit-v0", {"budget": 3}),
}
CASES = agent_names() + [c for c in SPECIAL if c not in agent_names()]


def one_shot(agent_name: str) -> bool:
    factory = agent_factory(agent_name) if not agent_name.startswith("sb3:") else None
    return isinstance(factory, type) and issubclass(factory, OneShotAgent)


def setting(case: str) -> tuple[str, dict, str, dict]:
    """(agent, agent keywords, env id, env keywords) of a case."""
    if case in SPECIAL:
        name, kw, env_id, env_kw = SPECIAL[case]
    elif one_shot(case):
        name, kw, env_id, env_kw = case, {}, "NasGym/NB201Supernet-Cont-v0", {}
    else:
        family = make(case).families[0]
        name, kw, env_id, env_kw = case, {}, f"NasGym/NB201-{family}-v0", {"budget": 4} if family == "Cont" else {}
    if one_shot(name):
        kw, env_kw = {"steps_per_query": STEPS_PER_QUERY, **kw}, {**TINY, "budget": 4, **env_kw}
    else:
        env_kw = {"dataset": "cifar10", **env_kw}
    return name, kw, env_id, env_kw


def logged(agent, env: gym.Env, budget: Budget):
    """The search's result and the log it wrote."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3's and the agents' advice on settings
        result = agent.search(env, budget, 0)
    return result, search_log(env)


@pytest.mark.parametrize("case", CASES)
def test_the_search_log_holds_exactly_the_queries_the_budget_allows(case, one_torch_thread, nb201_c10):
    name, kw, env_id, env_kw = setting(case)
    env = gym.make(env_id, **env_kw)
    few = 2 if case == "lnas-retrain" else 1  # a retraining keeps one query for the retrained cell
    for q in (few, 4):
        result, log = logged(make(name, **kw), env, Budget(queries=q))
        assert len(log) == q, f"{case}: {len(log)} queries logged under a budget of {q}"
        assert result.n_queries == q
    # seconds: a budget that runs out part-way through the third of those queries' costs
    costs = np.asarray(log.cost_s)
    seconds = float(costs[:2].sum() + 0.5 * costs[2])
    result, log = logged(make(name, **kw), env, Budget(seconds=seconds))
    spent = float(np.sum(log.cost_s))
    assert spent >= seconds, f"{case}: stopped with {spent} of {seconds} s spent"
    assert spent - log.cost_s[-1] < seconds, f"{case}: went on after the query that spent {seconds} s"
    assert result.n_queries == len(log)
    if case == "lnas-retrain":  # the seconds left room for the retraining, and its query spent them
        assert "ticket" in result.meta and result.cost_s[-1] > result.meta["retrain_sim_s"]


@pytest.mark.parametrize("case", [c for c in CASES if one_shot(setting(c)[0])])
def test_a_budget_in_epochs_trains_exactly_its_weight_steps(case, one_torch_thread, monkeypatch):
    name, kw, env_id, env_kw = setting(case)
    env = gym.make(env_id, **env_kw)
    net = env.unwrapped.backend.network
    per_epoch = len(env.unwrapped.backend.train_data) // env.unwrapped.backend.recipe.batch_size
    first = next(net.parameters())
    steps = {"n": 0}
    real_step = torch.optim.SGD.step

    def counted(self, *args, **kwargs):
        if any(
            p is first for g in self.param_groups for p in g["params"]
        ):  # the supernet's weights, not a retrained child
            steps["n"] += 1
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", counted)
    epochs = 7.5 / per_epoch  # 7.5 steps' worth: the search must stop after the 8th step
    result, log = logged(make(name, **kw), env, Budget(epochs=epochs))
    assert steps["n"] == 8
    rounds = math.ceil(8 / STEPS_PER_QUERY)  # a query after every round, the last one cut short
    assert len(log) == rounds + (1 if case == "lnas-retrain" else 0)
    assert result.meta["epochs"] == pytest.approx(8 / per_epoch)
