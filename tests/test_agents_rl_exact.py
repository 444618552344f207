"""The RL agents' fast paths compute the same floats as the plain torch code they replace.

CADAM and DDPG train their MLPs with a hand-written backward (:class:`ManualMLP`), REINFORCE samples
from its policy in numpy and computes its log-probabilities in one pass over the sampled sequence,
PPO acts through the networks' plain forward; each must leave a seeded search unchanged. The pinned
trajectories were recorded with the autograd / per-decision torch / module-call code.
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from nas_gym.agents import Budget, make, ppo, reinforce
from nas_gym.agents.adam import Adam, fused_adam_available
from nas_gym.agents.cadam import check_loss, check_loss_grad
from nas_gym.agents.common import adam, index_at, masked_log_softmax, mlp, plain_forward
from nas_gym.agents.manual_mlp import ManualMLP
from nas_gym.agents.reinforce import SAFE_MARGIN, CategoricalPolicy, LSTMController, draw, log_prob_entropy, torch_probs

# CADAM, NB201 CIFAR-10 Cont (reward="cadam"), eps_steps=30 (the actor acts from step ~30 on), seed 2
CADAM_120 = [
    5271, 5090, 8622, 8273, 3320, 15340, 7635, 7635, 15488, 13192, 10157, 8807, 7635, 7635, 7635, 7635, 3294,
    7635, 7911, 7710, 13893, 7720, 12205, 7720, 7720, 7720, 7745, 7745, 7745, 7745, 7745, 7745, 8995, 8995, 8970,
    8970, 8970, 3596, 2720, 12095, 12095, 12095, 12095, 12095, 12095, 12095, 12095, 12095, 12096, 12096, 12096,
    1272, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 12096, 11470,
    11471, 12096, 9595, 12097, 9624, 224, 9596, 11469, 9547, 9587, 3615, 9546, 4496, 11952, 7534, 1477, 15076,
    6576, 1600, 9672, 6456, 11966, 9642, 9009, 13173, 14459, 8345, 10200, 12541, 11553, 6288, 360, 4900, 7629,
    12810, 13676, 10055, 7055, 14114, 9378, 9552, 10157, 1765, 6884, 3273, 3031, 4116, 523, 13862, 813, 15414,
    7008, 2654,
]  # fmt: skip
# DDPG (DDAS-4S), NB201 CIFAR-10 Cont (obs="previous"), seed 1: queries 30..62 of 90 (the actor acts from 30 on)
DDPG_90 = [
    7083, 9908, 11699, 483, 2757, 10199, 10122, 11733, 4148, 5580, 13362, 3690, 11268, 3160, 3203, 5490, 7789, 12858,
    8784, 5643, 1284, 14748, 8616, 7530, 13713, 10684, 10408, 13580, 3166, 731, 10080, 10090, 11330,
]  # fmt: skip
# REINFORCE (LSTM controller), NB201 CIFAR-10 Seq, seed 1: queries 150..199 of a 200-query search
REINFORCE_TAIL = [
    5306, 10396, 8924, 6534, 10671, 4566, 7652, 13114, 10941, 11107, 3597, 8790, 5795, 13314, 10922, 14911, 15573,
    7077, 14650, 926, 8511, 15343, 4232, 7257, 14857, 467, 12463, 5856, 4549, 1592, 10839, 9812, 9730, 7693, 898,
    7519, 9437, 15539, 9957, 8464, 12594,
]  # fmt: skip
# REINFORCE (NAS-Bench-201's categorical policy), NB201 CIFAR-10 Seq, seed 1: queries 160..199 of 200
REINFORCE_CAT_TAIL = [
    10414, 8173, 7966, 5306, 10396, 8924, 6534, 10696, 8316, 7652, 13114, 10941, 11107, 3473, 8791, 8920, 13314,
    10922, 14937, 12318, 7082, 11525, 931, 8511, 15343, 4232, 7282, 14858, 1092, 12463, 5856, 7674, 4717, 11464,
    10437, 9730, 7693, 1523, 7519, 9438, 15539, 9957, 11589, 10089,
]  # fmt: skip
# PPO, NB201 CIFAR-10 Seq, seed 1: queries 160..199 of 200 (nine updates of 128 steps before them)
PPO_TAIL = [
    518, 9922, 3775, 12245, 7710, 12588, 161, 5683, 11572, 9713, 9638, 5963, 11434, 722, 1011, 2042, 3713, 8671,
    12269, 945, 1967, 7686, 1688, 12801, 6511, 260, 11315, 11827, 10790, 10364, 1643, 8228, 13034, 8716, 4668,
    14688, 9872, 12354, 14191, 9973,
]  # fmt: skip


def test_cadam_search_is_the_one_autograd_gave(nb201_c10, one_torch_thread):
    env = gym.make("NasGym/NB201-Cont-v0", dataset="cifar10", reward="cadam", budget=120)
    assert make("cadam", eps_steps=30).search(env, Budget(120), 2).arch_index.tolist() == CADAM_120


def test_ddpg_search_is_the_one_autograd_gave(nb201_c10, one_torch_thread):
    env = gym.make("NasGym/NB201-Cont-v0", dataset="cifar10", obs="previous", budget=90)
    assert make("ddpg").search(env, Budget(90), 1).arch_index.tolist()[30:63] == DDPG_90


@pytest.mark.parametrize("agent, tail", [("reinforce", REINFORCE_TAIL), ("reinforce-cat", REINFORCE_CAT_TAIL)])
def test_reinforce_search_is_the_one_torch_sampling_gave(agent, tail, nb201_c10, one_torch_thread, monkeypatch):
    env = gym.make("NasGym/NB201-Seq-v0", dataset="cifar10")
    res = make(agent).search(env, Budget(200), 1)
    assert res.arch_index.tolist()[-len(tail) :] == tail
    # a margin of the whole total sends every draw to the torch forward: the same search
    monkeypatch.setattr(reinforce, "draw", partial(draw, margin=1.0))
    env = gym.make("NasGym/NB201-Seq-v0", dataset="cifar10")
    assert make(agent).search(env, Budget(200), 1).arch_index.tolist() == res.arch_index.tolist()


def test_ppo_search_is_the_one_module_calls_gave(nb201_c10, one_torch_thread):
    env = gym.make("NasGym/NB201-Seq-v0", dataset="cifar10")
    assert make("ppo").search(env, Budget(200), 1).arch_index.tolist()[-len(PPO_TAIL) :] == PPO_TAIL


@pytest.mark.parametrize("family", ["Seq", "Edit"])
def test_ppo_rollout_stores_what_module_calls_give(family, nb201_c10, one_torch_thread, monkeypatch):
    def rollout():
        torch.manual_seed(7)
        env = gym.make(f"NasGym/NB201-{family}-v0", dataset="cifar10")
        agent = make("ppo", n_steps=60)
        n_obs, n_act = env.observation_space.shape[0], int(env.action_space.n)
        actor, critic = mlp(n_obs, agent.hidden, n_act, act=nn.Tanh), mlp(n_obs, agent.hidden, 1, act=nn.Tanh)
        batch, _ = agent._rollout(env, env.reset(seed=3)[0], actor, critic, np.random.default_rng(3), Budget(1000))
        return batch

    fast = rollout()
    monkeypatch.setattr(ppo, "plain_forward", lambda net: net)  # the networks' module calls
    slow = rollout()
    assert fast.keys() == slow.keys() and all(torch.equal(fast[k], slow[k]) for k in fast)


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_plain_forward_is_the_module_forward(act, one_torch_thread):
    torch.manual_seed(6)
    net = mlp(7, (16, 16), 3, act=act, out_act=nn.Sigmoid())
    forward = plain_forward(net)
    for x in (torch.rand(7), torch.rand(5, 7)):
        assert torch.equal(forward(x), net(x))
    with torch.no_grad():
        net[0].weight.mul_(2.0)  # it reads the parameters, not a copy
    assert torch.equal(forward(x), net(x))
    with pytest.raises(ValueError, match="GELU"):
        plain_forward(nn.Sequential(nn.Linear(2, 2), nn.GELU()))


def _numpy_and_torch_probs(net, masks, choices):
    """Each decision's probabilities from the numpy mirror (float64, unnormalised) and from torch."""
    logits_of = net.numpy_policy().episode()
    out = []
    for t, mask in enumerate(masks):
        z = np.where(mask, logits_of(t, choices[t - 1] if t else None), -np.inf)
        out.append((np.exp(z - z.max()), torch_probs(net, choices[:t], mask)))
    return out


@pytest.mark.parametrize("policy", ["lstm", "categorical"])
def test_numpy_policy_is_torch_up_to_float32_rounding(policy, one_torch_thread):
    torch.manual_seed(4)
    # wide weights, so that the LSTM's gates saturate and the softmaxes are far from uniform
    net = LSTMController(6, 5, init_range=0.6) if policy == "lstm" else CategoricalPolicy(6, 5, init_std=3.0)
    rng = np.random.default_rng(1)
    masks = rng.random((6, 5)) < 0.7
    masks[:, 2] = True
    choices = [int(rng.choice(np.flatnonzero(m))) for m in masks]
    for mask, (mine, theirs) in zip(masks, _numpy_and_torch_probs(net, masks, choices)):
        assert (mine[~mask] == 0).all() and (theirs[~mask] == 0).all() and (mine[mask] > 0).all()
        assert np.abs(np.cumsum(mine) / mine.sum() - np.cumsum(theirs) / theirs.sum()).max() < SAFE_MARGIN / 100


def test_a_draw_near_a_boundary_is_the_torch_draw(one_torch_thread):
    torch.manual_seed(5)
    net = LSTMController(6, 5, init_range=0.6)
    masks = np.ones((6, 5), dtype=bool)
    choices = [1, 4, 0, 2, 3, 1]
    placed = 0
    for mine, theirs in _numpy_and_torch_probs(net, masks, choices):
        a, b = np.cumsum(mine) / mine.sum(), np.cumsum(theirs.astype(np.float64)) / theirs.sum(dtype=np.float64)
        k = int(np.argmax(np.abs(a - b)[:-1]))
        u = (a[k] + b[k]) / 2  # between the two boundaries: numpy's and torch's probabilities disagree there
        if index_at(mine, u) == index_at(theirs, u):
            continue
        placed += 1
        assert draw(mine, u, lambda: theirs) == index_at(theirs, u)
        assert draw(mine, u, lambda: theirs, margin=0.0) == index_at(mine, u)  # what numpy alone would draw
    assert placed >= 3


@pytest.mark.parametrize("sigmoid, batch", [(True, 8), (False, 8), (True, 10), (False, 64)])
def test_manual_mlp_trains_exactly_as_autograd_and_adam(sigmoid, batch, one_torch_thread):
    torch.manual_seed(0)
    net = mlp(6, (16, 32), 5, out_act=nn.Sigmoid() if sigmoid else None)
    manual = ManualMLP(net, lr=1e-2, betas=(0.9, 0.99))
    frozen = mlp(5, (16,), 1)  # a network in front of the loss that is not trained
    frozen_manual = ManualMLP(frozen, lr=0.0, betas=(0.9, 0.99))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.99), fused=fused_adam_available())
    frozen.requires_grad_(False)
    for _ in range(20):
        x, target = torch.rand(batch, 6), torch.rand(batch, 1)
        loss = ((frozen(net(x)) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        out, acts = manual.forward(x)
        q, q_acts = frozen_manual.forward(out)
        assert torch.equal(((q - target) ** 2).mean(), loss)
        dq = (torch.ones(()) / batch) * (2.0 * (q - target))  # autograd's d mean((q - t)^2) / dq
        manual.backward(acts, frozen_manual.backward(q_acts, dq, weights=False))
        for g, p in zip(manual.grads, net.parameters()):
            assert torch.equal(g, p.grad)
        manual.step()
    for mine, theirs in zip(manual.params, net.parameters()):
        assert torch.equal(mine, theirs.detach())


def test_manual_mlp_without_the_fused_kernel_steps_as_torch_adam(one_torch_thread):
    torch.manual_seed(1)
    net = mlp(4, (8,), 3)
    manual = ManualMLP(net, lr=1e-2, betas=(0.9, 0.99))
    manual.adam = without_fused_kernel(manual.adam)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.99), foreach=False)
    for _ in range(5):
        x = torch.rand(7, 4)
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
        out, acts = manual.forward(x)
        manual.backward(acts, torch.ones_like(out))
        manual.step()
    for mine, theirs in zip(manual.params, net.parameters()):
        assert torch.equal(mine, theirs.detach())


def without_fused_kernel(opt: Adam) -> Adam:
    """``opt`` switched to the path torch < 2.4 takes (no fused CPU kernel), before its first step."""
    opt._fused = False
    opt._steps = [torch.zeros(()) for _ in opt.params]
    return opt


@pytest.mark.parametrize("fused", [True, False])
def test_adam_steps_as_torch_optim_adam(fused, one_torch_thread):
    torch.manual_seed(3)
    mine, theirs = mlp(5, (16,), 3, act=nn.Tanh), mlp(5, (16,), 3, act=nn.Tanh)
    theirs.load_state_dict(mine.state_dict())
    opt = adam(mine.parameters(), 1e-2, (0.9, 0.99))
    if not fused:
        opt = without_fused_kernel(opt)
    ref = torch.optim.Adam(theirs.parameters(), lr=1e-2, betas=(0.9, 0.99), **({"fused": True} if fused else {}))
    for _ in range(6):
        x = torch.rand(4, 5)
        for net, o in ((mine, opt), (theirs, ref)):
            o.zero_grad()
            (net(x) ** 2).mean().backward()
            o.step()
        assert all(p.grad is not None for p in mine.parameters())
    assert all(torch.equal(a, b) for a, b in zip(mine.parameters(), theirs.parameters()))
    opt.zero_grad()
    assert all(p.grad is None for p in mine.parameters())
    with pytest.raises(RuntimeError, match="no gradient"):
        opt.step()


def test_target_network_tracking_is_polyak_averaging(one_torch_thread):
    torch.manual_seed(2)
    source, target = ManualMLP(mlp(3, (4,), 2), 0.0, (0.9, 0.99)), ManualMLP(mlp(3, (4,), 2), 0.0, (0.9, 0.99))
    expected = [t.mul(0.9).add_(s, alpha=0.1) for t, s in zip(target.params, source.params)]
    target.track(source, 0.1)
    assert all(torch.equal(t, e) for t, e in zip(target.params, expected))


def test_manual_mlp_refuses_other_layers():
    with pytest.raises(ValueError, match="Tanh"):
        ManualMLP(mlp(3, (4,), 2, act=nn.Tanh), lr=1e-3, betas=(0.9, 0.99))


@pytest.mark.parametrize("n, tau", [(8, 0.9), (10, 0.9), (10, 0.3), (7, 0.75)])
def test_check_loss_grad_is_autograds(n, tau):
    u = torch.randn(n, generator=torch.Generator().manual_seed(n), requires_grad=True)
    check_loss(u, tau).backward()
    assert torch.equal(check_loss_grad(u.detach(), tau), u.grad)


@pytest.mark.parametrize("policy", ["lstm", "categorical"])
def test_one_pass_log_probs_equal_the_per_decision_ones(policy, one_torch_thread):
    torch.manual_seed(3)
    n_dec, n_opt = 6, 5
    net = LSTMController(n_dec, n_opt) if policy == "lstm" else CategoricalPolicy(n_dec, n_opt, init_std=0.5)
    rng = np.random.default_rng(0)
    masks = rng.random((n_dec, n_opt)) < 0.8
    masks[:, 0] = True
    choices = [int(rng.choice(np.flatnonzero(m))) for m in masks]
    state, prev, per_decision = None, None, []
    for t in range(n_dec):
        logits, state = net(t, prev, state)
        per_decision.append(masked_log_softmax(logits, masks[t]))
        prev = choices[t]
    step_logp = torch.stack([lp[c] for lp, c in zip(per_decision, choices)]).sum()
    step_ent = torch.stack([-(lp.exp() * lp).sum() for lp in per_decision]).sum()
    logp, ent = log_prob_entropy(net, choices, masks)
    assert torch.equal(logp, step_logp) and torch.equal(ent, step_ent)
    step_grads = torch.autograd.grad(step_logp + step_ent, list(net.parameters()))
    grads = torch.autograd.grad(logp + ent, list(net.parameters()))
    for a, b in zip(grads, step_grads):  # summation order over decisions may differ in the last bit
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
