import gymnasium as gym
import numpy as np
import pytest
import torch
from tiny_supernet import TINY

from nas_gym.agents import Budget, make
from nas_gym.agents.oneshot.loop import Supernet, search_mask


def test_lnas_prunes_alpha_to_target_and_pruned_ops_stop_running(one_torch_thread):
    env = gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=50)
    backend = env.unwrapped.backend
    agent = make("lnas", steps_per_query=10, sparsity=0.5, n_prunes=2)
    result = agent.search(env, Budget(queries=3), seed=0)
    sn = Supernet(backend, search_mask(backend, include_none=False), 32)
    # the target sparsity is reached and every edge keeps an op
    assert abs(agent.pruned_fraction() - 0.5) < 0.05
    assert agent.keep.any(dim=1).all()
    # the returned cells were queried through the env and use only surviving ops
    assert result.n_queries == 3 and result.best_index in set(result.arch_index.tolist())
    codes = backend.space.codes(int(result.arch_index[-1]))
    assert all(bool(agent.keep[e, c]) for e, c in enumerate(codes))
    # pruned ops no longer run: a weight step leaves no gradient on their parameters
    net = backend.network.train()
    net.zero_grad(set_to_none=True)
    x, y = backend.train_data.sample(np.random.default_rng(1), 32)
    sn.loss(agent.weight_path(sn, np.random.default_rng(0), 1.0), x, y).backward()
    pruned = [
        (e, o)
        for e in range(agent.keep.shape[0])
        for o in range(1, agent.keep.shape[1])
        if sn.mask[e, o] and not agent.keep[e, o]
    ]
    assert pruned
    grads = {n: p.grad for n, p in net.named_parameters()}
    touched = [n for n, g in grads.items() if g is not None and torch.count_nonzero(g) > 0]
    assert touched  # the surviving ops did train
    assert len(touched) < sum(1 for p in net.parameters() if p.requires_grad)


def tiny_env():
    return gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=50)


def test_variant_3_prunes_alpha_then_the_weights_and_queries_the_ticket_through_the_env(one_torch_thread):
    env = tiny_env()
    backend = env.unwrapped.backend
    agent = make("lnas", variant=3, steps_per_query=10, sparsity=0.5, n_prunes=2, retrain_epochs=3)
    result = agent.search(env, Budget(queries=3), seed=0)
    assert abs(agent.pruned_fraction() - 0.5) < 0.05  # alpha pruned during the search
    ticket = result.meta["ticket"]
    assert ticket["rounds"] == 2 and abs(ticket["sparsity"] - 0.5) < 1e-3  # then the child's weights
    assert len(ticket["val"]) == 3 and ticket["final_val"] == ticket["val"][-1]
    # the derived cell is the last query of the log, within the budget, and what the result recommends
    assert result.n_queries == 3 and int(result.arch_index[-1]) == result.recommended_index
    codes = backend.space.codes(result.recommended_index)
    assert all(bool(agent.keep[e, c]) for e, c in enumerate(codes))
    # its query paid the retraining: child MACs x (3 passes x trained + 1 pass x validated images)
    macs = float(backend.network.flops(codes))
    assert result.meta["retrain_sim_s"] == pytest.approx(
        macs * (3 * ticket["train_images"] + ticket["eval_images"]) / 1e12
    )
    assert result.cost_s[-1] > result.meta["retrain_sim_s"]
    assert result.sim_time_s == pytest.approx(result.meta["search_sim_s"] + result.cost_s[-1])


def test_variant_1_searches_as_darts_then_prunes_only_the_weights(one_torch_thread):
    darts = make("darts", steps_per_query=10).search(tiny_env(), Budget(queries=2), seed=0)
    agent = make("lnas", variant=1, steps_per_query=10, sparsity=0.75, retrain_epochs=2)
    result = agent.search(tiny_env(), Budget(queries=3), seed=0)
    # one query is kept for the retrained cell; the search before it is DARTS's, unpruned
    assert result.arch_index[:2].tolist() == darts.arch_index.tolist() and agent.pruned_fraction() == 0.0
    assert result.recommended_index == darts.recommended_index == int(result.arch_index[-1])
    ticket = result.meta["ticket"]
    assert ticket["rounds"] == 1 and ticket["prune_epochs"] == [1] and abs(ticket["sparsity"] - 0.75) < 1e-3


def test_default_is_variant_2_without_retraining(one_torch_thread):
    agent = make("lnas", steps_per_query=10, n_prunes=2)
    assert agent.variant == 2 and agent.epochs_retrained == 0
    result = agent.search(tiny_env(), Budget(queries=2), seed=0)
    assert "ticket" not in result.meta and result.meta["alpha_pruned"] == agent.pruned_fraction() > 0.4
    assert int(result.arch_index[-1]) == result.recommended_index


def test_second_order_runs_with_pruned_ops_and_costs_more(one_torch_thread):
    runs = {}
    for order in (1, 2):
        agent = make("lnas", order=order, steps_per_query=10, sparsity=0.5, n_prunes=2)
        runs[order] = (agent, agent.search(tiny_env(), Budget(queries=2), seed=0))
    a2, r2 = runs[2]
    assert abs(a2.pruned_fraction() - 0.5) < 0.05 and torch.isfinite(a2.alpha).all()
    assert not torch.equal(a2.alpha, runs[1][0].alpha)  # the unrolled gradient is another gradient
    assert r2.sim_time_s > runs[1][1].sim_time_s  # virtual step and Hessian probes are charged


def test_bad_settings_name_the_value(raises_naming):
    raises_naming(lambda: make("lnas", variant=4), "4", "[1, 2, 3]")
    raises_naming(lambda: make("lnas", variant="2"), "'2'", "[1, 2, 3]")
    raises_naming(lambda: make("lnas", sparsity=1.0), "1.0", "[0, 1)")
    raises_naming(lambda: make("lnas", sparsity=-0.5), "-0.5", "[0, 1)")
    raises_naming(lambda: make("lnas", n_prunes=0), "n_prunes", ">= 1")
    raises_naming(lambda: make("lnas", variant=1, weight_rounds=0), "weight_rounds", ">= 1")
    raises_naming(
        lambda: make("lnas", variant=1, weight_rounds=3, retrain_epochs=3), "retrain_epochs", ">= weight_rounds + 1 = 4"
    )
    raises_naming(lambda: make("lnas", order=3).search(tiny_env(), Budget(queries=2), seed=0), "3", "1 or 2")
    raises_naming(
        lambda: make("lnas", variant=1, retrain_epochs=2).search(tiny_env(), Budget(queries=1), seed=0),
        "at least 2 queries",
        "got 1",
    )


def test_pruning_removes_the_smallest_alphas_and_their_ops_stop_running(one_torch_thread):
    """A pruning round on known alphas removes the searched ops of smallest |alpha| (each edge
    keeping its largest), and a weight step then runs none of them: their parameters get no
    gradient at all, not a zero one."""
    backend = tiny_env().unwrapped.backend
    sn = Supernet(backend, search_mask(backend, include_none=False), 32)
    agent = make("lnas", sparsity=0.5, n_prunes=1)
    agent.setup(sn)
    with torch.no_grad():
        agent.alpha.copy_(torch.randn(agent.alpha.shape, generator=torch.Generator().manual_seed(0)))
    agent._prune_to(sn, 0.5)
    mag = agent.alpha.detach().abs()
    pruned = agent.searched & ~agent.keep
    kept = agent.keep.clone()
    kept[torch.arange(len(mag)), mag.masked_fill(~agent.searched, -1.0).argmax(1)] = False  # each edge's protected op
    assert int(pruned.sum()) == round(0.5 * int(agent.searched.sum())) and kept.any()
    assert float(mag[pruned].max()) <= float(mag[kept].min())
    net = backend.network.train()
    net.zero_grad(set_to_none=True)
    x, y = backend.train_data.sample(np.random.default_rng(1), 32)
    path = agent.weight_path(sn, np.random.default_rng(0), 0.0)
    assert not backend.network.live(path)[pruned.cpu().numpy()].any()
    sn.loss(path, x, y).backward()
    for e, o in pruned.nonzero().tolist():
        ops = [m for name, m in net.named_modules() if name.endswith(f"edges.{e}.{backend.space.options[e][o]}")]
        assert ops and all(p.grad is None for m in ops for p in m.parameters()), (e, o)
