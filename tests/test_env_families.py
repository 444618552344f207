"""Seq, Cont and Edit: episodes, observations, masks, and what invalid actions do."""

from __future__ import annotations

import heapq

import gymnasium as gym
import numpy as np
import pytest
from toy_tables import toy_benchmark

from nas_gym.envs import ContEnv, EditEnv, SeqEnv
from nas_gym.envs.topk import SingleTopK, TopK


@pytest.fixture(scope="module")
def toy():
    return toy_benchmark()


# ------------------------------------------------------------------------------------------ Seq
def test_seq_episode_builds_one_architecture(nb201_c10):
    env = gym.make("NasGym/NB201-Seq-v0", noise="mean")
    obs, info = env.reset(seed=0)
    assert (
        info["n_queries"] == 0 and info["arch_index"] == -1 and obs[30] == 1.0 and obs[:30].sum() == 0
    )  # position 0, nothing chosen
    codes = [3, 1, 3, 0, 2, 4]
    for t, a in enumerate(codes):
        obs, reward, terminated, truncated, info = env.step(a)
        assert obs[:30].reshape(6, 5)[: t + 1].argmax(1).tolist() == codes[: t + 1]
        assert obs[30 + t + 1] == 1.0
        assert terminated == (t == 5) and truncated == (t == 5)  # truncated too: the spec's max_episode_steps
        assert reward == 0.0 or t == 5
    index = nb201_c10.space.index(codes)
    assert info["arch_index"] == index and info["arch"] == nb201_c10.space.to_string(index)
    assert reward == pytest.approx(nb201_c10.val_mean[index] / 100)
    assert isinstance(reward, float) and isinstance(terminated, bool)


def test_seq_masks_and_out_of_range_options(toy):
    env = SeqEnv(benchmark=toy)
    env.reset(seed=0)
    assert env.action_masks().tolist() == [True, True, False]  # decision a has two options
    env.step(2)  # masked: taken modulo 2
    assert env.codes[0] == 0
    env.step(-1)  # any integer is taken modulo the option count
    assert env.codes[1] == 2
    _, _, terminated, _, info = env.step(10**6 + 1)
    assert terminated and env.codes[2] == (10**6 + 1) % 3 and "val" in info
    assert env.action_masks().all() and info["action_mask"].all()  # over: any action, none is taken
    with pytest.raises(RuntimeError):
        env.step(0)


# ----------------------------------------------------------------------------------------- Cont
def test_cont_encode_decode_round_trip(toy, nb201_c10):
    for backend in (toy, nb201_c10):
        env = ContEnv(benchmark=backend)
        rng = np.random.default_rng(0)
        for codes in backend.space.sample(rng, 50):
            assert env.decode(env.encode(codes)).tolist() == codes.tolist()
        assert env.action_space.contains(env.encode(codes))


def test_cont_any_action_selects_a_real_architecture(toy):
    env = ContEnv(benchmark=toy, budget=10)
    env.reset(seed=0)
    bad = [
        np.full(9, np.nan, dtype=np.float32),  # NaN counts as -1: all tie, the first option wins
        np.full(9, 1e9, dtype=np.float32),  # clipped to 1
        np.array([-5, -5, 9, 0, 0, 0, 0, 0, 0], dtype=np.float32),  # the padded option never wins
        np.array([np.inf, -np.inf, np.nan] * 3, dtype=np.float32),
    ]
    for a in bad:
        _, reward, *_, info = env.step(a)
        assert np.isfinite(reward) and "val" in info
    assert env.decode(bad[0]).tolist() == [0, 0, 0]
    assert env.decode(bad[2])[0] in (0, 1)
    assert env.decode(bad[3]).tolist() == [0, 0, 0]


@pytest.mark.parametrize("obs", ["topk", "previous"])
def test_cont_budget_in_obs_appends_the_share_of_the_budget_left(obs):
    plain = gym.make("NasGym/NB201-Cont-v0", budget=4, obs=obs, noise="mean")
    timed = gym.make("NasGym/NB201-Cont-v0", budget=4, obs=obs, noise="mean", budget_in_obs=True)
    assert timed.observation_space.shape == (31,) and plain.observation_space.shape == (30,)
    (p, _), (o, _) = plain.reset(seed=0), timed.reset(seed=0)
    plain.action_space.seed(0)
    for t in range(4):
        np.testing.assert_array_equal(o[:30], p)  # the state itself is unchanged
        assert o[30] == pytest.approx(1 - t / 4) and o in timed.observation_space
        a = plain.action_space.sample()
        (p, *_), (o, _, terminated, *_) = plain.step(a), timed.step(a)
    assert terminated and o[30] == 0.0
    assert gym.make("NasGym/NB201-Cont-v0").observation_space.shape == (30,)  # off by default (CADAM's state)


def test_cont_episode_is_one_search_of_budget_queries(nb201_c10):
    env = gym.make("NasGym/NB201-Cont-v0", budget=7)
    obs, _ = env.reset(seed=0)
    assert not obs.any()
    for t in range(7):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert terminated == (t == 6) and not truncated


@pytest.mark.parametrize("top_k", [1, 4])
def test_cont_topk_observation_is_the_mean_one_hot_of_the_k_best(nb201_c10, top_k):
    env = ContEnv(budget=60, top_k=top_k)
    env.reset(seed=1)
    env.action_space.seed(1)
    heap: list[tuple[float, int, int]] = []  # reference: a min-heap of (val, t, index)
    for t in range(60):
        obs, _, _, _, info = env.step(env.action_space.sample())
        item = (info["val"], t, info["arch_index"])
        if len(heap) < top_k:
            heapq.heappush(heap, item)
        elif item[0] > heap[0][0]:
            heapq.heapreplace(heap, item)
        expected = np.mean([nb201_c10.space.one_hot(i).ravel() for _, _, i in heap], axis=0)
        np.testing.assert_allclose(obs, expected, atol=1e-6)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_single_search_top_k_keeps_the_entries_of_the_batched_one(k):
    # few distinct values, so ties decide which entry leaves; NaN and -inf never enter
    rng = np.random.default_rng(k)
    batched, single = TopK(1, k, 4, 3), SingleTopK(k, 4, 3)
    for _ in range(300):
        val = float(rng.choice([50.0, 60.0, 60.0, 70.0, np.nan, -np.inf]))
        codes = rng.integers(0, 3, 4)
        batched.add(np.array([val]), codes[None])
        single.add(val, codes)
        assert single.worst == batched.worst[0] and single.size == batched.size[0]
        np.testing.assert_array_equal(single.mean_one_hot(), batched.mean_one_hot()[0])


def test_cont_previous_observation(nb201_c10):
    env = ContEnv(budget=5, obs="previous")
    obs, _ = env.reset(seed=0)
    assert not obs.any()
    a = env.encode(np.array([1, 2, 3, 4, 0, 1]))
    obs, *_ = env.step(a)
    np.testing.assert_array_equal(obs, (a + 1) / 2)


# ----------------------------------------------------------------------------------------- Edit
def test_edit_masks_exclude_current_options_and_padding(toy):
    env = EditEnv(benchmark=toy, budget=5)
    _, info = env.reset(seed=0, options={"arch": "a=y,b=q,c=w"})
    assert env.codes.tolist() == [1, 1, 2] and info["arch"] == "a=y,b=q,c=w"
    mask = env.action_masks().reshape(3, 3)
    assert mask.tolist() == [[True, False, False], [True, False, True], [True, True, False]]


def test_edit_masked_actions_are_free_no_ops(toy):
    env = EditEnv(benchmark=toy, budget=4)
    obs0, _ = env.reset(seed=0, options={"arch": [0, 0, 0]})
    for t, a in enumerate([0, 2, -3, 10**6]):  # current option, padding, out of range, out of range
        obs, reward, terminated, _, info = env.step(a)
        assert reward == 0.0 and set(info) == {"action_mask"} and env.codes.tolist() == [0, 0, 0]
        np.testing.assert_array_equal(info["action_mask"], env.action_masks())
        assert obs[-1] == pytest.approx(1 - (t + 1) / 4) and terminated == (t == 3)
        np.testing.assert_array_equal(obs[:-1], obs0[:-1])


def test_edit_rewards_telescope_to_the_final_minus_start_reward(nb201_c10):
    env = gym.make("NasGym/NB201-Edit-v0", budget=30, reward="cadam")
    _, info = env.reset(seed=3)
    start = 100 ** (info["val"] / 100)
    total, last = 0.0, start
    mask_fn = env.unwrapped.action_masks
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = rng.choice(np.flatnonzero(mask_fn()))
        obs, reward, terminated, _, info = env.step(a)
        total += reward
        last = 100 ** (info["val"] / 100)
        assert obs[-2] == pytest.approx(info["val"] / 100)
    assert terminated and total == pytest.approx(last - start)


def test_seeded_resets_reproduce_episodes():
    def run(family: str, seed: int) -> list:
        env = gym.make(f"NasGym/NB201-{family}-v0")
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return [env.step(env.action_space.sample())[1] for _ in range(6)]

    for family in ("Seq", "Cont", "Edit"):
        assert run(family, 5) == run(family, 5)
