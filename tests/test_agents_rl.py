"""Mechanics of the RL agents that can break silently: losses, schedules, noise, masks, updates."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from toy_tables import toy_benchmark

from nas_gym.agents import Budget, make
from nas_gym.agents.advantage import edge_advantages, worst_other, zero_options
from nas_gym.agents.cadam import check_loss
from nas_gym.agents.common import MovingAverage, ReplayBuffer, alpha_to_action, masked_log_softmax, sample_index
from nas_gym.agents.ddpg import StagnationDetector
from nas_gym.agents.exploration import OrnsteinUhlenbeck, cosine_epsilon
from nas_gym.agents.ppo import clipped_surrogate, gae
from nas_gym.agents.qlearning import METAQNN_SCHEDULE, QTable, epsilon_at, scaled_schedule
from nas_gym.envs import ContEnv, EditEnv, SearchLog, SeqEnv
from nas_gym.spaces import NB201Space


# ----------------------------------------------------------------------------- CADAM check loss
def test_check_loss_hand_values():
    # u = r - Q: under-prediction 2 costs tau * 2 = 1.8, over-prediction -1 costs (1 - tau) * 1 = 0.1
    assert float(check_loss(torch.tensor([2.0, -1.0]), 0.9)) == pytest.approx(0.95)
    assert float(check_loss(torch.tensor([0.0]), 0.9)) == 0.0
    # tau = 0.5 is half the absolute error
    assert float(check_loss(torch.tensor([3.0, -1.0]), 0.5)) == pytest.approx(1.0)


def test_check_loss_minimiser_is_the_quantile():
    r = torch.arange(1.0, 101.0)  # 1..100: its 0.9-quantile is about 90
    grid = torch.linspace(0.0, 100.0, 1001)
    losses = torch.stack([check_loss(r - q, 0.9) for q in grid])
    assert 89.0 <= float(grid[losses.argmin()]) <= 91.0


# --------------------------------------------------------------------------- epsilon schedules
def test_cadam_epsilon_schedule():
    assert cosine_epsilon(0) == 1.0
    assert cosine_epsilon(175) == 0.05 and cosine_epsilon(500) == 0.05
    assert cosine_epsilon(87.5) == pytest.approx(0.525)
    assert cosine_epsilon(50) == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 50 / 175)))
    values = [cosine_epsilon(t) for t in range(200)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_metaqnn_schedule_and_scaling():
    assert scaled_schedule(2700) == list(METAQNN_SCHEDULE)
    plan = scaled_schedule(500)
    assert sum(n for _, n in plan) == 500 and [e for e, _ in plan] == [e for e, _ in METAQNN_SCHEDULE]
    assert plan[0] == (1.0, 278)  # 1500 / 2700 of 500
    full = list(METAQNN_SCHEDULE)
    assert epsilon_at(0, full) == 1.0 and epsilon_at(1499, full) == 1.0
    assert epsilon_at(1500, full) == 0.9 and epsilon_at(1599, full) == 0.9 and epsilon_at(1600, full) == 0.8
    assert epsilon_at(2699, full) == 0.1 and epsilon_at(10_000, full) == 0.1


# ----------------------------------------------------------------------------------- Q-learning
def test_q_update_backwards_on_a_hand_case():
    q = QTable(n_options=3, init=0.5)
    masks = np.array([[True, True, True], [True, True, False]])
    q.update_trajectory((2, 1), masks, reward=1.0, lr=0.01, gamma=1.0)
    # last transition first: Q((2,), 1) = 0.99 * 0.5 + 0.01 * 1 = 0.505
    assert q[(2,)][1] == pytest.approx(0.505)
    # then Q((), 2) = 0.99 * 0.5 + 0.01 * max(Q((2,), allowed)) = 0.99 * 0.5 + 0.01 * 0.505
    assert q[()][2] == pytest.approx(0.50005)
    assert q[()][0] == 0.5 and q[(2,)][0] == 0.5
    # a masked successor option never enters the max
    q[(0,)][2] = 100.0
    q.update_trajectory((0, 0), masks, reward=0.0, lr=0.5, gamma=1.0)
    # Q((0,), 0) = 0.25, then Q((), 0) = 0.5 * 0.5 + 0.5 * max(0.25, 0.5): the masked 100 is ignored
    assert q[(0,)][0] == pytest.approx(0.25) and q[()][0] == pytest.approx(0.5)


def test_q_state_is_the_layer_not_the_path():
    """MetaQNN's state is (depth, last choice): a reward reaches every prefix ending that way."""
    masks = np.ones((3, 3), dtype=bool)
    layer, prefix = QTable(3, 0.5, state="layer"), QTable(3, 0.5, state="prefix")
    for q in (layer, prefix):
        q.update_trajectory((0, 2, 1), masks, reward=1.0, lr=0.5, gamma=1.0)
    assert layer[(1, 2)][1] == pytest.approx(0.75)  # another path to (depth 2, last choice 2)
    assert prefix[(1, 2)][1] == 0.5 and prefix[(0, 2)][1] == pytest.approx(0.75)
    assert layer[(0, 2)] is layer[(2, 2)] and len(layer) == 3
    with pytest.raises(ValueError, match="'path'.*layer.*prefix"):
        make("qlearning", state="path")


def test_q_learning_search_is_the_one_numpy_rows_gave(nb201_c10):
    # 300 queries on CIFAR-10, seed 1 (the last 30 mostly greedy), recorded when
    # the Q rows were numpy arrays: list rows do the same double arithmetic
    res = make("qlearning").search(gym.make("NasGym/NB201-Seq-v0", dataset="cifar10"), Budget(300), 1)
    assert res.arch_index.tolist()[-30:] == [
        7333, 15588, 15221, 15458, 15581, 15583, 12833, 15033, 15583, 14316, 15583, 15580, 15208, 15333, 1838,
        15263, 13463, 13408, 13032, 11158, 10283, 10413, 10413, 10413, 4161, 10288, 12238, 13413, 13413, 13413,
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ PPO
def test_ppo_clipped_loss_hand_values():
    old = torch.zeros(4)
    new = torch.log(torch.tensor([1.5, 1.5, 0.5, 0.5]))
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    # per sample: min(1.5, 1.2) = 1.2; min(-1.5, -1.2) = -1.5; min(0.5, 0.8) = 0.5; min(-0.5, -0.8) = -0.8
    expected = -(1.2 - 1.5 + 0.5 - 0.8) / 4
    assert float(clipped_surrogate(new, old, adv, 0.2)) == pytest.approx(expected)
    assert float(clipped_surrogate(old, old, adv, 0.2)) == pytest.approx(0.0)


def test_gae_hand_values():
    rewards, values, dones = np.array([0.0, 1.0, 0.5]), np.array([0.2, 0.4, 0.3]), np.array([False, True, False])
    adv, ret = gae(rewards, values, dones, last_value=1.0, gamma=0.9, lam=0.5)
    d2 = 0.5 + 0.9 * 1.0 - 0.3  # bootstraps on last_value
    d1 = 1.0 - 0.4  # episode ended: no bootstrap
    d0 = 0.0 + 0.9 * 0.4 - 0.2
    assert adv == pytest.approx([d0 + 0.45 * d1, d1, d2])
    assert ret == pytest.approx(adv + values)


# ----------------------------------------------------------------------------------- DDAS noise
def test_ou_mean_reversion_and_stationary_variance():
    rng = np.random.default_rng(0)
    ou = OrnsteinUhlenbeck(4000, rng, theta=0.15, sigma=0.2)
    ou.x[:] = 2.0
    for _ in range(10):
        ou.sample()
    # E[x_t] = mu + (x_0 - mu) e^{-theta t}
    assert ou.x.mean() == pytest.approx(2.0 * math.exp(-1.5), abs=0.02)
    for _ in range(200):  # many relaxation times later
        ou.sample()
    var = float(np.mean([ou.sample().var() for _ in range(20)]))
    assert var == pytest.approx(0.2**2 / (2 * 0.15), rel=0.05)
    assert ou.stationary_std == pytest.approx(math.sqrt(0.2**2 / 0.3))
    ou.reset()
    assert np.all(ou.x == 0.0)


def test_stagnation_bursts():
    det = StagnationDetector(t_stag=3, max_differ=6 / 16 * 6)  # similar: fewer than 2.25 of 6 edges differ
    assert [det.observe(d) for d in (1, 2, 5, 0, 1)] == [False, False, False, False, False]
    assert det.observe(2) is True  # third similar step in a row after the reset by 5
    for _ in range(3):  # the burst lasts t_stag steps, and similarity is not counted meanwhile
        assert det.bursting
        assert det.observe(0) is False
    assert not det.bursting
    assert [det.observe(0) for _ in range(3)] == [False, False, True]


def test_ddpg_control_never_trains_and_explores_the_same(nb201_c10, monkeypatch):
    from nas_gym.agents.ddpg import DDPG

    calls = []
    train = DDPG._train
    monkeypatch.setattr(DDPG, "_train", lambda self, *a: (calls.append(1), train(self, *a))[1])
    runs = {}
    for learn in (True, False):
        calls.clear()
        env = gym.make("NasGym/NB201-Cont-v0", obs="previous", budget=60, noise="mean")
        runs[learn] = make("ddpg", learn=learn, noise="g", gauss_std=0.0).search(env, Budget(60), 3).arch_index.tolist()
        # one update per step after the random warm-up (the first third) when learning, none otherwise
        assert len(calls) == (60 - 20 if learn else 0)
    assert runs[True][:21] == runs[False][:21]  # the same warm-up, then the actor's own choices
    # a fixed actor without noise is a fixed map from the previous architecture to the next
    fixed = runs[False][20:]
    nxt = {}
    for prev, arch in zip(fixed, fixed[1:]):
        assert nxt.setdefault(prev, arch) == arch


# ---------------------------------------------------------------------------------- AdvantageNAS
def test_advantage_sign_on_a_hand_case():
    # edge 0's op matters (removing it drops the reward), edge 1's op hurts (removing it helps)
    adv = edge_advantages(0.9, np.array([0.5, 0.95, 0.9]), np.array([False, False, True]), np.array([0.0, 0.0, -0.2]))
    assert adv[0] > 0 and adv[1] < 0
    assert adv == pytest.approx([0.4, -0.05, -0.2])  # edge 2 holds `none`: the worst average of the others


def test_worst_other_skips_the_zero_op_and_unseen():
    avg = np.array([[np.nan, 0.3, -0.1, np.nan], [5.0, np.nan, np.nan, np.nan]])
    assert worst_other(avg, np.array([0, 0])) == pytest.approx([-0.1, 0.0])


def test_advantage_needs_a_none_option():
    assert zero_options(NB201Space()).tolist() == [0] * 6
    with pytest.raises(ValueError, match="none"):
        zero_options(toy_benchmark().space)
    env = SearchLog(ContEnv(benchmark=toy_benchmark()))
    with pytest.raises(ValueError, match="advantagenas-reinforce"):
        make("advantagenas").search(env, Budget(10), 0)
    assert make("advantagenas-reinforce").search(env, Budget(10), 0).n_queries == 10


def test_compare_refuses_advantagenas_on_nas_bench_graph_before_any_run(tmp_path, capsys):
    from nas_gym.cli import main

    args = [
        "compare",
        "--env",
        "Graph-Cont-v0",
        "--dataset",
        "cora",
        "--agents",
        "rs,advantagenas",
        "--seeds",
        "1",
        "--budget",
        "10",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    for words in ("advantagenas", "'none' option on every decision", "nas-bench-graph", "advantagenas-reinforce"):
        assert words in err, (words, err)
    assert "Traceback" not in err and not (tmp_path / "out" / "runs").exists()  # nothing ran, rs included
    # the REINFORCE ablation needs no counterfactual and runs there
    args[args.index("rs,advantagenas")] = "advantagenas-reinforce"
    assert main(args) == 0


def test_advantage_counterfactuals_are_charged(nb201_c10):
    env = gym.make("NasGym/NB201-Cont-v0", noise="mean")
    res = make("advantagenas").search(env, Budget(40), 0)
    assert res.n_queries == 40
    space = env.unwrapped.space
    codes = space.codes_batch(res.arch_index)
    # every counterfactual differs from the architecture before it only by one edge set to `none`
    first = codes[0]
    cf = codes[1 : 1 + int((first != 0).sum())]
    assert all(((c != first).sum() == 1) and (c[c != first] == 0).all() for c in cf)


# ------------------------------------------------------------------------------------- helpers
def test_masked_sampling_never_picks_a_masked_option():
    rng = np.random.default_rng(0)
    logp = masked_log_softmax(torch.zeros(5), np.array([False, True, False, True, False]))
    draws = {sample_index(logp.exp().numpy(), rng) for _ in range(500)}
    assert draws == {1, 3}
    assert sample_index(np.array([0.5, 0.5, 0.0]), np.random.default_rng(1)) in (0, 1)


def test_alpha_to_action_keeps_each_argmax():
    rng = np.random.default_rng(0)
    alpha = rng.normal(0.5, 0.8, 30)  # far outside [0, 1]
    a = alpha_to_action(alpha)
    assert a.min() >= -1.0 and a.max() <= 1.0
    assert (a.reshape(6, 5).argmax(1) == alpha.reshape(6, 5).argmax(1)).all()
    inside = np.linspace(0, 1, 30)
    assert alpha_to_action(inside) == pytest.approx(2 * inside - 1)


def test_replay_buffer_fifo_and_truncate():
    buf = ReplayBuffer(4, x=())
    for i in range(6):
        buf.add(x=i)
    assert len(buf) == 4 and set(buf.sample(200, np.random.default_rng(0))["x"].tolist()) == {2.0, 3.0, 4.0, 5.0}
    buf.truncate(2)
    assert set(buf.sample(100, np.random.default_rng(0))["x"].tolist()) == {4.0, 5.0}
    buf.add(x=6)
    assert set(buf.sample(100, np.random.default_rng(0))["x"].tolist()) == {5.0, 6.0}


def test_moving_average_bias_corrected_and_masked():
    avg = MovingAverage(0.9)
    assert math.isnan(avg.value)
    avg.update(2.0)
    assert avg.value == pytest.approx(2.0)
    avg.update(4.0)
    assert avg.value == pytest.approx((0.9 * 0.1 * 2 + 0.1 * 4) / (0.9 * 0.1 + 0.1))
    grid = MovingAverage(0.5, (2,))
    grid.update(np.array([1.0, 9.0]), where=np.array([True, False]))
    assert grid.value[0] == 1.0 and math.isnan(grid.value[1])


# ---------------------------------------------------------------------------------------- masks
class MaskGuard(gym.Wrapper):
    """Fails the test when an agent submits an action its env's ``action_masks()`` forbids."""

    def step(self, action):
        assert self.env.unwrapped.action_masks()[int(action)], f"masked action {action} chosen"
        return self.env.step(action)


@pytest.mark.parametrize(
    "agent, family",
    [("reinforce", SeqEnv), ("reinforce-cat", SeqEnv), ("qlearning", SeqEnv), ("ppo", SeqEnv), ("ppo", EditEnv)],
)
def test_masks_are_respected(agent, family):
    # the toy space's first decision has 2 options and a padded third column
    env = SearchLog(MaskGuard(family(benchmark=toy_benchmark())))
    kwargs = {"n_steps": 16, "minibatch": 8} if agent == "ppo" else {}
    res = make(agent, **kwargs).search(env, Budget(60), 0)
    assert res.n_queries == 60
