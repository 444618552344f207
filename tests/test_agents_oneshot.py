"""One-shot agents on tiny supernets (digits, CPU): each trains and queries through the env, DARTS's
one-hot relaxation is the single path, GDAS's straight-through sample reaches every logit, a seed
fixes a search, budgets in epochs, and the recommended architecture is scored and tabulated."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from tiny_supernet import TINY

import nas_gym  # noqa: F401  (registers the env ids)
from nas_gym.agents import Budget, make
from nas_gym.agents.oneshot.loop import Supernet, gumbel_softmax, search_mask, straight_through
from nas_gym.experiments.evaluation import score
from nas_gym.experiments.runner import budget_text, parse_budget
from nas_gym.experiments.summary import markdown, summary_rows
from nas_gym.supernets.paths import gated, mixed, single_path

AGENTS = ("darts", "snas", "gdas", "enas", "rsps", "proxyless", "parsec", "advantagenas-supernet", "reinforce-supernet")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="module")
def env():
    return gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=50)


@pytest.mark.parametrize("name", AGENTS)
def test_agent_trains_and_queries_through_the_env(env, name):
    backend = env.unwrapped.backend
    before = [p.detach().clone() for p in backend.network.parameters()]
    result = make(name, steps_per_query=25).search(
        env, Budget(queries=4), seed=1
    )  # 100 weight and 100 architecture steps
    assert result.n_queries == 4 and result.best_index in set(result.arch_index.tolist())
    assert any(not torch.equal(a, b) for a, b in zip(before, backend.network.parameters())), "weights never trained"
    # every query's cost includes the weight training charged before it, beyond the query's own measurement
    own = sum(backend.query(int(i)).cost_s for i in result.arch_index)
    assert result.sim_time_s > own
    if result.reports == "argmax":
        assert result.recommended_index is not None and backend.space.is_valid(result.recommended_index)
    # the zero op (code 0) is left out of the search by default
    assert all(0 not in backend.space.codes(int(i)) for i in result.arch_index)


def test_darts_one_hot_mixture_is_the_single_path(env):
    net = env.unwrapped.backend.network.eval()
    codes = np.array([3, 1, 2, 4, 3, 1])
    one_hot = torch.zeros(6, 5)
    one_hot[torch.arange(6), torch.as_tensor(codes)] = 1.0
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(net(x, mixed(one_hot)), net(x, single_path(codes, 5)), atol=1e-6)


def test_gdas_straight_through_reaches_every_logit(env):
    backend = env.unwrapped.backend
    sn = Supernet(backend, search_mask(backend, include_none=False), 32)
    alpha = (1e-3 * torch.randn(sn.mask.shape)).requires_grad_()
    gates, codes = straight_through(gumbel_softmax(alpha, sn.mask, 1.0, np.random.default_rng(0)))
    assert torch.equal(gates.detach(), torch.nn.functional.one_hot(torch.as_tensor(codes), 5).float())
    x, y = backend.train_data.sample(np.random.default_rng(1), 32)
    sn.loss(gated(gates, gates.detach() > 0.5), x, y).backward()
    # only the sampled op runs, yet every searched option of every edge gets a gradient
    assert (alpha.grad[sn.mask] != 0).all() and (alpha.grad[~sn.mask] == 0).all()


def test_same_seed_same_search_in_deterministic_mode():
    def run():
        env = gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=50)  # same cached pretrained weights
        r = make("gdas", steps_per_query=10, deterministic=True).search(env, Budget(queries=4), seed=5)
        return r.arch_index.tolist(), r.val.tolist(), r.recommended_index

    first, second = run(), run()
    assert first == second


def test_epochs_budget_stops_the_training(env):
    per_epoch = len(env.unwrapped.backend.train_data) // 32
    result = make("rsps", steps_per_query=per_epoch // 2).search(env, Budget.parse("1.5ep"), seed=0)
    assert result.meta["epochs"] == pytest.approx(1.5, abs=1.0 / per_epoch) and result.n_queries == 3
    with pytest.raises(ValueError, match="epochs"):
        make("rs").search(env, Budget(epochs=1), seed=0)
    assert parse_budget(budget_text(Budget(5, None, 2.5))) == Budget(queries=5, epochs=2.5)


def test_recommended_architecture_is_scored_and_tabulated(env):
    result = make("darts", steps_per_query=5).search(env, Budget(queries=2), seed=0)
    backend = env.unwrapped.backend
    scored = score(result, backend)
    assert scored["reports"] == "argmax" and scored["recommended_index"] == result.recommended_index
    assert scored["recommended_val"] == pytest.approx(backend.query(result.recommended_index, noise="mean").val)
    rsps = score(make("rsps", steps_per_query=5).search(env, Budget(queries=2), seed=0), backend)
    assert rsps["recommended_val"] is None
    runs = [
        {"env": "e", "spec": {"agent": a, "seed": 0, "env_id": "e"}, "status": "ok", "result": r}
        for a, r in (("darts", scored), ("rsps", rsps))
    ]
    rows = summary_rows(runs)
    assert rows[0]["rec_val_mean"] == pytest.approx(scored["recommended_val"]) and rows[1]["rec_val_mean"] is None
    table = markdown(rows)
    assert "argmax val" in table and "| argmax |" in table and "| process |" in table


def test_one_shot_agents_need_a_supernet(raises_naming, nb201_c10):
    env = gym.make("NasGym/NB201-Cont-v0", dataset="cifar10", budget=5)
    raises_naming(lambda: make("gdas").search(env, Budget(5), seed=0), "supernet", "NB201Supernet-Cont-v0")
