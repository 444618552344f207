"""Tables that lack some architectures (NAS-Bench-Graph's all-skip cells): masks avoid them and
no action, masked or not, makes an env crash."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from toy_tables import ABSENT, toy_benchmark

import nas_gym
from nas_gym.envs import ContEnv, ContVectorEnv, EditEnv, SeqEnv, SeqVectorEnv
from nas_gym.envs.registration import FAMILIES


@pytest.fixture(scope="module")
def gappy():
    return toy_benchmark(gappy=True)


def test_seq_masks_leave_out_prefixes_without_an_answerable_completion(gappy):
    env = SeqEnv(benchmark=gappy)
    env.reset(seed=0)
    assert env.action_masks().tolist() == [True, True, False]
    env.step(0)  # a=x: b=q has no answerable completion
    assert env.action_masks().tolist() == [True, False, True]
    env.reset()
    env.step(1)
    env.step(0)  # a=y, b=p: c=u is absent
    assert env.action_masks().tolist() == [False, True, True]


def test_seq_ignoring_masks_ends_without_a_query(gappy):
    env = gym.make("NasGym/NB201-Seq-v0", benchmark=gappy, reward="cadam")
    env.reset(seed=0)
    for a in (0, 1, 2):  # a=x, b=q, c=w: absent
        _, reward, terminated, _, info = env.step(a)
    assert terminated and reward == 1.0  # 100 ** 0: the reward of 0% validation
    assert (info["arch"], info["no_result"], info["arch_index"]) == ("a=x,b=q,c=w", True, -1)
    assert len(env.get_wrapper_attr("log")) == 0


def test_masked_seq_episodes_always_get_a_result(gappy):
    env = SeqEnv(benchmark=gappy)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        _, _, terminated, _, info = env.step(rng.choice(np.flatnonzero(env.action_masks())))
        if terminated:
            assert "val" in info
            env.reset()


def test_edit_never_enters_an_absent_architecture(gappy):
    env = EditEnv(benchmark=gappy, budget=200)
    env.reset(seed=0, options={"arch": "a=x,b=p,c=u"})
    mask = env.action_masks().reshape(3, 3)
    # a=y (a=y,b=p,c=u) and b=q (a=x,b=q,c=u) are absent
    assert mask.tolist() == [[False, False, False], [False, False, True], [False, True, True]]
    _, reward, _, _, info = env.step(1 * 3 + 1)  # b=q anyway: a no-op
    assert reward == 0.0 and set(info) == {"action_mask"} and env.codes.tolist() == [0, 0, 0]
    rng = np.random.default_rng(0)
    for _ in range(199):
        env.step(rng.integers(9))
        assert env.space.to_string(env.codes) not in ABSENT
    with pytest.raises(ValueError, match="no result"):
        env.reset(options={"arch": ABSENT[0]})
    for seed in range(50):  # random starts are answerable
        assert env.reset(seed=seed)[1]["arch"] not in ABSENT


def test_cont_and_vector_envs_on_absent_architectures(gappy):
    env = ContEnv(benchmark=gappy, budget=5)
    env.reset(seed=0)
    absent = env.encode(np.array([0, 1, 0]))
    obs, reward, _, _, info = env.step(absent)
    assert info["no_result"] and reward == 0.0 and not obs.any()  # nothing entered the top-K
    vec = ContVectorEnv(num_envs=2, benchmark=gappy, budget=5)
    vec.reset(seed=0)
    _, reward, _, _, info = vec.step(np.stack([absent, env.encode(np.array([1, 1, 1]))]))
    assert info["no_result"].tolist() == [True, False] and reward[0] == 0.0 and reward[1] > 0
    assert info["arch_index"][0] == -1 and info["arch_index"][1] >= 0 and info["n_queries"].tolist() == [0, 1]
    seq = SeqVectorEnv(num_envs=2, benchmark=gappy)
    seq.reset(seed=0)
    seq.step(np.array([0, 1]))
    assert seq.action_masks().tolist() == [[True, False, True], [True, True, True]]


@pytest.mark.skipif("nas-bench-graph" not in nas_gym.benchmarks.benchmark_names(), reason="no NAS-Bench-Graph")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_graph_envs_never_crash(family):
    env = gym.make(f"NasGym/Graph-{family}-v0", **({"budget": 50} if family != "Seq" else {}))
    env.reset(seed=0)
    env.action_space.seed(0)
    masked = family != "Cont"
    for step in range(3000):
        # half the time follow the masks, half the time ignore them
        if masked and step % 2:
            action = np.random.default_rng(step).choice(np.flatnonzero(env.get_wrapper_attr("action_masks")()))
        else:
            action = env.action_space.sample()
        _, reward, terminated, truncated, info = env.step(action)
        assert np.isfinite(reward)
        if terminated or truncated:
            env.reset()
    if family == "Seq":  # all four ops skip: no result
        env.reset()
        skip = env.unwrapped.space.options[0].index("skip")
        for d in range(7):
            if d == 6:
                assert not env.unwrapped.action_masks()[skip]
            *_, info = env.step(skip if d % 2 == 0 else 0)
        assert info["no_result"]
