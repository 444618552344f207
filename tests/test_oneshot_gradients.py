"""Each one-shot gradient estimator against the exact gradient on a hand case.

Relaxed methods (DARTS first and second order, SNAS, GDAS's straight-through form) on a real tiny
supernet in float64: finite differences, or autograd through DARTS's virtual step. Sampled
methods (REINFORCE, ENAS, ProxylessNAS's binary gates, PARSEC, AdvantageNAS's eq. 7) on a small
space whose reward is linear in the gates: the mean of many estimates against the exact
expectation over every child. Each agent's own ``arch_step`` computes its estimate; a stand-in
for its architecture optimiser records the gradient and moves nothing. Schedules are pinned at
their start and end. Tolerances are several times the errors measured over seeds and far below
the error of a flipped sign, a wrong edge or a missing term.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from planted import LinearTask
from torch.func import functional_call

from nas_gym.agents import Budget, make
from nas_gym.agents.oneshot.loop import Supernet, search_mask
from nas_gym.supernets.paths import Path, gated, mixed


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


class GradRecorder:
    """Stands in for an agent's architecture optimiser: keeps each step's gradient, moves nothing."""

    def __init__(self, params) -> None:
        self.params, self.grads = list(params), []

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.grads.append(
            torch.cat(
                [(torch.zeros_like(p) if p.grad is None else p.grad).detach().flatten() for p in self.params]
            ).double()
        )

    def mean(self) -> torch.Tensor:
        return torch.stack(self.grads).mean(0)


def rel_err(estimate: torch.Tensor, exact: torch.Tensor) -> float:
    return float((estimate - exact).norm() / exact.norm())


# ------------------------------------------------------------------ relaxed methods, real supernet
@pytest.fixture(scope="module")
def sn(tiny_supernet_env):
    """A tiny NB201 supernet view in float64 (finite differences need the precision)."""
    backend = tiny_supernet_env().unwrapped.backend
    backend.weights_changed()  # no later env is handed this network
    backend.network.double()
    yield Supernet(backend, search_mask(backend, include_none=False), 32)
    backend.network.float()


def batch(sn: Supernet, seed: int, val: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    data = sn.backend.val_data if val else sn.backend.train_data
    x, y = data.sample(np.random.default_rng(seed), 32)
    return x.double(), y


def agent_with(name: str, sn: Supernet, seed: int, **kw):
    """The agent set up on ``sn`` with float64 logits ~ N(0, 1) (a distribution far from uniform)
    and a gradient recorder in place of its optimiser."""
    agent = make(name, **kw)
    agent.setup(sn)
    logits = torch.as_tensor(np.random.default_rng(seed).normal(size=tuple(sn.mask.shape))).requires_grad_()
    agent.alpha = logits
    agent.a_opt = GradRecorder([logits])
    return agent


def masked(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask, logits, torch.tensor(-math.inf, dtype=logits.dtype))


def loss_of(sn: Supernet, path: Path, x: torch.Tensor, y: torch.Tensor, params=None) -> torch.Tensor:
    """Cross-entropy of the network on ``path`` in train mode, written here (not the agents' code)."""
    sn.net.train()
    out = sn.net(x, path) if params is None else functional_call(sn.net, params, (x, path))
    return F.cross_entropy(out, y)


def finite_differences(f, alpha: torch.Tensor, mask: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    grad = torch.zeros_like(alpha)
    for e, o in zip(*np.nonzero(mask.numpy())):
        up, down = alpha.detach().clone(), alpha.detach().clone()
        up[e, o] += h
        down[e, o] -= h
        grad[e, o] = (f(up) - f(down)) / (2 * h)
    return grad


def test_darts_first_order_is_the_validation_loss_gradient(sn):
    agent = agent_with("darts", sn, seed=0)
    x, y = batch(sn, 1)
    agent.arch_step(sn, x, y, np.random.default_rng(0), 0.5)
    (grad,) = agent.a_opt.grads
    with torch.no_grad():
        fd = finite_differences(
            lambda a: loss_of(sn, mixed(torch.softmax(masked(a, sn.mask), -1)), x, y), agent.alpha, sn.mask
        )
    assert rel_err(grad.view_as(fd), fd) < 1e-6  # float64 central differences: ~1e-9


def momentum_optimizer(sn: Supernet, lr: float, decay: float) -> torch.optim.SGD:
    """The weights' SGD after one real step, so its momentum buffers are not zero."""
    opt = torch.optim.SGD(sn.net.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
    x, y = batch(sn, 9, val=False)
    opt.zero_grad()
    loss_of(sn, mixed(torch.full(tuple(sn.mask.shape), 0.25, dtype=torch.float64)), x, y).backward()
    opt.step()
    return opt


def unrolled_exact(sn: Supernet, alpha: torch.Tensor, val, train, opt: torch.optim.SGD):
    """d L_val(w'(alpha), alpha) / d alpha by autograd through w'(alpha) = w - xi (mu m + dL_train/dw + lambda w),
    and its direct part (w' held fixed)."""
    group = opt.param_groups[0]
    xi, mu, decay = group["lr"], group["momentum"], group["weight_decay"]
    alpha = alpha.detach().clone().requires_grad_()
    names = [n for n, p in sn.net.named_parameters()]
    w = [p.detach() for p in sn.net.parameters()]
    path = lambda: mixed(torch.softmax(masked(alpha, sn.mask), -1))  # noqa: E731
    g = torch.autograd.grad(
        loss_of(sn, path(), *train), list(sn.net.parameters()), create_graph=True, allow_unused=True
    )
    w_virtual = {
        n: wi - xi * (gi + decay * wi + mu * opt.state[p]["momentum_buffer"])
        for n, wi, gi, p in zip(names, w, g, sn.net.parameters())
    }
    (total,) = torch.autograd.grad(loss_of(sn, path(), *val, params=w_virtual), alpha)
    fixed = {n: t.detach() for n, t in w_virtual.items()}
    (direct,) = torch.autograd.grad(loss_of(sn, path(), *val, params=fixed), alpha)
    return total, direct


@contextmanager
def smooth_activations(net: torch.nn.Module) -> Iterator[None]:
    """The network with SiLU for ReLU. DARTS's finite-difference Hessian-vector product (weights
    moved by 0.01) assumes dL/dalpha smooth in the weights; every ReLU kink it crosses adds a jump
    (on the tiny ReLU supernet the difference quotient misses the exact product by 6-7 times its size)."""
    swapped = [
        (m, name, child)
        for m in net.modules()
        for name, child in m.named_children()
        if isinstance(child, torch.nn.ReLU)
    ]
    for m, name, _ in swapped:
        setattr(m, name, torch.nn.SiLU())
    try:
        yield
    finally:
        for m, name, child in swapped:
            setattr(m, name, child)


def darts_second_order_errors(sn: Supernet, seed: int) -> tuple[float, float]:
    """Relative errors of second-order DARTS's alpha gradient against autograd through the virtual
    step: of the whole gradient, and of its implicit (Hessian) term alone."""
    agent = agent_with("darts", sn, seed=seed, order=2)
    opt = momentum_optimizer(sn, lr=0.5, decay=0.05)  # a large step: the implicit term is not negligible
    val, train = batch(sn, 2 + seed), batch(sn, 3 + seed, val=False)
    before = [p.detach().clone() for p in sn.net.parameters()]
    agent.arch_step(sn, *val, np.random.default_rng(0), 0.5, train=train, w_opt=opt)
    (grad,) = agent.a_opt.grads
    assert all(torch.equal(a, b) for a, b in zip(before, sn.net.parameters()))  # the virtual step is undone
    total, direct = unrolled_exact(sn, agent.alpha, val, train, opt)
    grad = grad.view_as(total)
    return rel_err(grad, total), rel_err(grad - direct, total - direct)


def test_darts_second_order_matches_autograd_through_the_virtual_step(sn):
    with smooth_activations(sn.net):
        total, implicit = darts_second_order_errors(sn, seed=1)
    # over 12 seeds at most 2.4e-3 and 2.8e-3 (median 7.5e-4): the finite difference's O(eps^2)
    assert total < 1e-2
    # the implicit term alone: a flipped sign, or a virtual step without momentum, misses it
    assert implicit < 1e-2


def test_snas_gradient_is_the_relaxed_samples_gradient(sn):
    for t, tau in ((0.0, 1.0), (1.0, 0.33)):  # the temperature schedule's start and end
        agent = agent_with("snas", sn, seed=2)
        x, y = batch(sn, 4, val=False)
        agent.arch_step(sn, x, y, np.random.default_rng(5), t)
        (grad,) = agent.a_opt.grads
        g = torch.as_tensor(
            -np.log(-np.log(np.random.default_rng(5).random(tuple(sn.mask.shape)).clip(1e-10, 1 - 1e-10)))
        )

        def f(a: torch.Tensor) -> torch.Tensor:
            logp = torch.log_softmax(masked(a, sn.mask), -1)
            return loss_of(sn, mixed(torch.softmax(masked((logp + g) / tau, sn.mask), -1)), x, y)

        with torch.no_grad():
            fd = finite_differences(f, agent.alpha, sn.mask)
        assert rel_err(grad.view_as(fd), fd) < 1e-6, t


def test_gdas_straight_through_gradient_as_the_paper_defines_it(sn):
    """Forward: the one-hot argmax of log p + g (only that op runs); backward: the gradient of the
    gate of the op that ran, through softmax((log p + g) / tau) of the same g, at tau(t)."""
    for t, tau in ((0.0, 10.0), (1.0, 0.1)):
        agent = agent_with("gdas", sn, seed=3)
        x, y = batch(sn, 6)
        sampled = agent.arch_step(sn, x, y, np.random.default_rng(7), t)
        (grad,) = agent.a_opt.grads
        g = torch.as_tensor(
            -np.log(-np.log(np.random.default_rng(7).random(tuple(sn.mask.shape)).clip(1e-10, 1 - 1e-10)))
        )
        z = masked((torch.log_softmax(masked(agent.alpha.detach(), sn.mask), -1) + g), sn.mask)
        codes = z.argmax(1)
        assert np.array_equal(sampled, codes.numpy())  # the child that ran is the one queried
        hard = F.one_hot(codes, sn.mask.shape[1]).double().requires_grad_()
        (v,) = torch.autograd.grad(loss_of(sn, gated(hard, hard.detach() > 0), x, y), hard)
        s = torch.softmax(z / tau, -1)
        exact = s * (v - (s * v).sum(1, keepdim=True)) / tau  # the softmax Jacobian's transpose times v
        assert rel_err(grad.view_as(exact), exact) < 1e-9, t


# -------------------------------------------------------- sampled methods, a reward linear in the gates
def mc_gradient(agent, task: LinearTask, steps: int, seed: int, before=None) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        if before is not None:
            before()
        agent.arch_step(task, task.x, task.y, rng, 1.0)
    return agent.a_opt.mean()


def policy_agent(name: str, task: LinearTask, seed: int, **kw):
    agent = make(name, **kw)
    agent.setup(task)
    attr = {"advantagenas-supernet": "theta", "reinforce-supernet": "theta", "parsec": "pi"}.get(name, "alpha")
    logits = torch.as_tensor(np.random.default_rng(seed).normal(size=tuple(task.mask.shape))).requires_grad_()
    setattr(agent, attr, logits)
    agent.a_opt = GradRecorder([logits])
    return agent, torch.softmax(masked(logits.detach(), task.mask), -1)


POLICY_STEPS = {"advantagenas-supernet": 600, "reinforce-supernet": 1500}


def policy_gradient_error(name: str, seed: int) -> float:
    task = LinearTask(4, 4, seed=seed)
    agent, p = policy_agent(name, task, seed=seed + 1)
    # d E[r] / d theta = p (C - p.C) per edge; the agents descend -E[r]
    exact = -(p * (task.C - (p * task.C).sum(1, keepdim=True))).flatten()
    return rel_err(mc_gradient(agent, task, POLICY_STEPS[name], seed=seed + 2), exact)


# relative errors over 12 seeds: AdvantageNAS median 0.063, max 0.12; REINFORCE median 0.059, max
# 0.21. A flipped sign errs by 2, a zero advantage by 1, the advantage of another edge by ~1.4.
@pytest.mark.parametrize("name,tol", [("advantagenas-supernet", 0.3), ("reinforce-supernet", 0.45)])
def test_policy_gradients_match_the_exact_expected_reward_gradient(name, tol):
    assert policy_gradient_error(name, seed=0) < tol


def parsec_error(seed: int) -> float:
    task = LinearTask(4, 4, seed=seed)
    agent, p = policy_agent("parsec", task, seed=seed + 1, samples=400)
    # log E_p[e^r] factorises over edges: its gradient is the posterior q ~ p e^C minus the prior p
    q = p * task.C.exp()
    q = q / q.sum(1, keepdim=True)
    return rel_err(mc_gradient(agent, task, 20, seed=seed + 2), -(q - p).flatten())


def test_parsec_gradient_is_the_log_marginal_likelihoods():
    assert parsec_error(seed=3) < 0.25  # over 12 seeds: median 0.038, max 0.082


def proxyless_error(O: int, seed: int) -> float:
    """Two searched ops per edge: the pair is the whole edge and one estimate is exactly
    d E[L] / d alpha. Three: the mean of many is the expectation over pairs drawn without replacement."""
    task = LinearTask(3, O, seed=seed)
    agent, p = policy_agent("proxyless", task, seed=seed + 1)
    dL = -task.C  # d loss / d gate
    expected = torch.zeros_like(p)
    for e in range(p.shape[0]):
        for i, j in itertools.permutations(range(1, O), 2):
            prob = p[e, i] * p[e, j] / (1 - p[e, i])  # first i, then j from the rest
            pp = p[e, [i, j]] / p[e, [i, j]].sum()
            expected[e, [i, j]] += prob * pp * (dL[e, [i, j]] - (dL[e, [i, j]] * pp).sum())
    if O == 3:
        agent.arch_step(task, task.x, task.y, np.random.default_rng(seed + 2), 1.0)
        exact = (p * (dL - (p * dL).sum(1, keepdim=True))).flatten()
        assert torch.allclose(expected.flatten(), exact)
        return rel_err(agent.a_opt.grads[0], exact)
    return rel_err(mc_gradient(agent, task, 800, seed=seed + 2), expected.flatten())


@pytest.mark.parametrize("O,tol", [(3, 1e-6), (4, 0.15)])  # O = 4, over 12 seeds: median 0.021, max 0.045
def test_proxyless_binary_gate_gradient(O, tol):
    assert proxyless_error(O, seed=6) < tol


def controller_log_prob(controller, codes) -> tuple[torch.Tensor, float]:
    """log p(codes) and the summed entropy of the decisions, recomputed here from the controller's parts."""
    inp, state, logp, ent = controller.start, None, torch.zeros((), dtype=torch.float64), 0.0
    for e, k in enumerate(codes):
        out, state = controller.lstm(inp, state)
        z = torch.where(
            controller.mask[e], controller.tanh_c * torch.tanh(controller.heads[e](out[0, 0])), torch.tensor(-math.inf)
        )
        lp = torch.log_softmax(z, -1)
        logp = logp + lp[k]
        ent += float(-(lp.exp() * torch.where(controller.mask[e], lp, torch.zeros_like(lp))).sum().detach())
        inp = controller.embed(torch.tensor([[int(k)]]))
    return logp, ent


def enas_error(seed: int, steps: int = 500) -> float:
    task = LinearTask(2, 4, seed=seed)
    torch.manual_seed(seed)
    agent = make("enas", hidden=8, layers=1, entropy_weight=0.1, tanh_c=2.5)
    agent.setup(task)
    agent.a_opt = GradRecorder(agent.controller.parameters())
    children = []
    for codes in task.children():
        logp, ent = controller_log_prob(agent.controller, codes)
        children.append(
            (logp, task.reward(gated(F.one_hot(torch.as_tensor(codes), 4).double()), None, None) + 0.1 * ent)
        )
    b0 = sum(
        float(logp.detach().exp()) * r for logp, r in children
    )  # the mean reward: the estimate's variance is least

    def reset_baseline():
        agent.baseline = b0

    est = mc_gradient(agent, task, steps, seed=seed + 1, before=reset_baseline)
    # the baseline moves toward R first: R - b = decay (R - b0); the entropy is a bonus without gradient
    total = -sum(agent.baseline_decay * (r - b0) * logp.detach().exp() * logp for logp, r in children)
    exact = torch.cat([g.flatten() for g in torch.autograd.grad(total, list(agent.controller.parameters()))])
    return rel_err(est, exact)


def test_enas_gradient_is_reinforce_with_its_entropy_bonus_and_baseline():
    assert enas_error(seed=9) < 0.35  # over 12 seeds: median 0.066, max 0.14


# ---------------------------------------------------------------------------------- schedules
def test_schedules_start_and_end_at_their_values(tiny_supernet_env):
    assert make("gdas").temperature(0.0) == 10.0 and make("gdas").temperature(1.0) == pytest.approx(0.1)
    assert make("snas").temperature(0.0) == 1.0 and make("snas").temperature(1.0) == pytest.approx(0.33)
    env = tiny_supernet_env()
    agent = make("gdas", steps_per_query=4)
    seen = []
    arch_step, train_step = agent.arch_step, agent.train_step
    agent.arch_step = lambda sn, x, y, rng, t, **kw: seen.append(("t", t)) or arch_step(sn, x, y, rng, t, **kw)
    agent.train_step = lambda sn, opt, *a: seen.append(("lr", opt.param_groups[0]["lr"])) or train_step(sn, opt, *a)
    agent.search(env, Budget(queries=3), seed=0)
    ts = [v for k, v in seen if k == "t"]
    lrs = [v for k, v in seen if k == "lr"]
    assert len(ts) == len(lrs) == 12 and ts[0] == 0.0 and ts[-1] == 1.0 and np.all(np.diff(ts) > 0)
    assert lrs[0] == pytest.approx(0.025) and lrs[-1] == pytest.approx(0.001)
