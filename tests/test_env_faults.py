"""Env faults and bad input: FewShot actions of the wrong shape or type and its NaN rule (the
Cont envs'), complex Cont actions, FewShot keywords, and a top-K state whose memory follows the
architectures it holds, not K or the budget."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest
import torch

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.envs.topk import SingleTopK, TopK

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fewshot():
    return gym.make("NasGym/FewShot-v0", data="digits", ways=2, shots=2, queries=2, adapt_steps=1)


@pytest.mark.parametrize("shape", [(1, 196), (14, 14), (196, 1), (195,), ()])
def test_fewshot_refuses_actions_of_another_shape_naming_both_shapes(fewshot, shape, raises_naming):
    fewshot.reset(seed=0)
    raises_naming(lambda: fewshot.step(np.zeros(shape, dtype=np.float32)), "action", "(196,)", str(shape))


@pytest.mark.parametrize("action", ["abc", None, np.full(196, 1 + 2j)], ids=["str", "None", "complex"])
def test_fewshot_refuses_actions_that_are_not_real_arrays(fewshot, action, raises_naming):
    fewshot.reset(seed=0)
    raises_naming(lambda: fewshot.step(action), "action", "real float array", "(196,)")


def test_fewshot_reads_nan_as_minus_one_like_the_cont_envs(fewshot):
    def accuracy(action):
        fewshot.reset(seed=4)
        return fewshot.step(action)[4]["accuracy"]

    rng = np.random.default_rng(0)
    accs = {}
    for trial in range(6):  # NaN must act as -1 wherever it sits; 0 would pick another architecture
        a = rng.uniform(-1, 1, 196).astype(np.float32)
        holes = rng.random(196) < 0.5
        accs[trial] = (
            accuracy(np.where(holes, np.nan, a)),
            accuracy(np.where(holes, -1.0, a)),
            accuracy(np.where(holes, 0.0, a)),
        )
    assert all(nan == minus_one for nan, minus_one, _ in accs.values()), accs
    assert any(nan != zero for nan, _, zero in accs.values()), accs  # the rule matters for the reward


def test_cont_nan_rule_is_the_same(nb201_c10):
    env = gym.make("NasGym/NB201-Cont-v0").unwrapped
    a = np.random.default_rng(1).uniform(-1, 1, 30).astype(np.float32)
    holes = np.arange(30) % 3 == 0
    assert np.array_equal(env.decode(np.where(holes, np.nan, a)), env.decode(np.where(holes, -1.0, a)))


@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
def test_complex_cont_actions_are_refused_before_the_env_changes(vector, raises_naming, nb201_c10):
    if vector:
        env = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, vectorization_mode="vector_entry_point")
        action = np.zeros((2, 30), dtype=np.complex64)
    else:
        env = gym.make("NasGym/NB201-Cont-v0")
        action = np.zeros(30) + 0.5j
    env.reset(seed=0)
    raises_naming(lambda: env.step(action), "action", "real float array")
    assert int(np.max(env.unwrapped.t if not vector else env.t)) == 0


@pytest.mark.parametrize("meta_epochs", [-1, 2.5, "1", None])
def test_fewshot_meta_epochs_must_be_a_whole_number(meta_epochs, raises_naming):
    raises_naming(
        lambda: gym.make("NasGym/FewShot-v0", data="digits", meta_epochs=meta_epochs),
        "meta_epochs",
        repr(meta_epochs),
        ">= 0",
    )


@pytest.mark.parametrize("k", [65, 200])
def test_growing_top_k_keeps_the_entries_a_full_allocation_keeps(k):
    # ties and NaN decide which entries stay; the batched state grows its slots past 64 on the way
    rng = np.random.default_rng(k)
    batched, single = TopK(2, k, 4, 3), SingleTopK(k, 4, 3)
    ref: list[tuple[float, int, np.ndarray]] = []  # (val, slot, codes): the reference, K slots up front
    for _ in range(4 * k):
        val = float(rng.choice([50.0, 60.0, 60.0, 70.0, np.nan, -np.inf]))
        codes = rng.integers(0, 3, 4)
        batched.add(np.array([val, -np.inf]), np.stack([codes, codes]))
        single.add(val, codes)
        if val > -np.inf:
            if len(ref) < k:
                ref.append((val, len(ref), codes))
            elif val > min(ref, key=lambda e: (e[0], e[1]))[0]:
                worst = min(ref, key=lambda e: (e[0], e[1]))
                ref[worst[1]] = (val, worst[1], codes)
        assert single.size == batched.size[0] == len(ref) and batched.size[1] == 0
        expected = np.mean([np.eye(3)[c].ravel() for _, _, c in ref], axis=0) if ref else np.zeros(12)
        np.testing.assert_allclose(batched.mean_one_hot()[0], expected, atol=1e-6)
        np.testing.assert_array_equal(single.mean_one_hot(), batched.mean_one_hot()[0])
    assert batched.vals.shape[1] <= k


def test_top_k_memory_does_not_depend_on_k_or_the_budget(nb201_c10):
    start = time.perf_counter()
    env = gym.make("NasGym/NB201-Cont-v0", budget=10**9, top_k=10**9)
    vec = gym.make_vec(
        "NasGym/NB201-Cont-v0", num_envs=4, vectorization_mode="vector_entry_point", budget=10**9, top_k=10**9
    )
    env.reset(seed=0), vec.reset(seed=0)
    for _ in range(100):
        env.step(env.action_space.sample())
        vec.step(vec.action_space.sample())
    assert time.perf_counter() - start < 30  # a K-sized allocation would take minutes or fail
    assert len(env.unwrapped._top._flat) == env.unwrapped._top.size <= 100
    assert vec._top.vals.shape == (4, 128)  # 64 slots, doubled once when 64 were held
