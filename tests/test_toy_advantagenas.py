"""AdvantageNAS's toy regression task: eq. 7's advantage is the reward's derivative by the chosen
op's gate (checked against finite differences). Every agent's learning on the task is in
test_oneshot_behaviour.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_gym.agents.oneshot.advantagenas import edge_advantages
from nas_gym.agents.oneshot.loop import one_hot
from nas_gym.supernets.paths import gated
from nas_gym.supernets.toy import EDGES, WIDTH, ToyTask


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def test_eq7_advantage_matches_finite_differences():
    task = ToyTask(seed=3, dtype=torch.float64)
    rng = np.random.default_rng(0)
    x, y = task.batch(rng)
    codes = rng.integers(1, WIDTH, EDGES)
    active = one_hot(codes, (EDGES, WIDTH)) > 0

    def reward(gates: torch.Tensor) -> torch.Tensor:
        return -task.loss(gated(gates, active), x, y)

    gates = one_hot(codes, (EDGES, WIDTH)).double().requires_grad_()
    (d_gate,) = torch.autograd.grad(reward(gates), gates)
    adv = edge_advantages(d_gate, codes)
    h = 1e-5
    for i in range(EDGES):
        up, down = gates.detach().clone(), gates.detach().clone()
        up[i, codes[i]] += h
        down[i, codes[i]] -= h
        fd = float(reward(up) - reward(down)) / (2 * h)
        assert float(adv[i]) == pytest.approx(fd, rel=1e-5, abs=1e-10)
    assert (adv != 0).all()  # every edge's op changes the output: the advantage is informative


def test_eq7_equals_eq6_for_a_reward_linear_in_the_edges():
    # section 4.3: when the reward is linear in the edge outputs, the first-order advantage is exact
    task = ToyTask(seed=1, dtype=torch.float64)
    x, _ = task.batch(np.random.default_rng(2))
    codes = np.random.default_rng(3).integers(1, WIDTH, EDGES)
    active = one_hot(codes, (EDGES, WIDTH)) > 0
    reward = lambda g: task.net(x, gated(g, active)).mean()  # noqa: E731  (the output is linear in the gates)
    gates = one_hot(codes, (EDGES, WIDTH)).double().requires_grad_()
    (d_gate,) = torch.autograd.grad(reward(gates), gates)
    adv = edge_advantages(d_gate, codes)
    for i in range(EDGES):
        cut = gates.detach().clone()
        cut[i, codes[i]] = 0.0  # eq. 6's counterfactual: edge i outputs zero
        assert float(adv[i]) == pytest.approx(float(reward(gates.detach()) - reward(cut)), rel=1e-9, abs=1e-12)
