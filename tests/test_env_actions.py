"""One rule for bad actions in single and vector envs: integers are actions, anything else raises
ValueError before the env changes; Cont actions must have the action space's shape."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from nas_gym.agents import Budget
from nas_gym.agents.base import search_log

NOT_INTEGERS = [np.nan, np.inf, -np.inf, None, 2.5, "3", np.array([1, 2])]


def _state(env):
    base = env.unwrapped
    return base.t, base.codes.copy()


@pytest.mark.parametrize("family", ["Seq", "Edit"])
@pytest.mark.parametrize("action", NOT_INTEGERS, ids=repr)
def test_single_env_rejects_non_integers_without_changing_state(family, action):
    env = gym.make(f"NasGym/NB201-{family}-v0", disable_env_checker=True)
    env.reset(seed=0)
    t, codes = _state(env)
    n_queries = len(search_log(env))
    with pytest.raises(ValueError, match="integer") as err:
        env.step(action)
    assert "valid actions: 0.." in str(err.value)
    assert _state(env)[0] == t and np.array_equal(_state(env)[1], codes) and len(search_log(env)) == n_queries


@pytest.mark.parametrize("family", ["Seq", "Edit"])
def test_integers_in_every_form_are_actions(family):
    env = gym.make(f"NasGym/NB201-{family}-v0", disable_env_checker=True)
    env.reset(seed=0)
    for action in (2, np.int64(2), 2.0, np.array([2]), np.array(2), -1):
        env.step(action)
    assert env.unwrapped.t == 6
    if family == "Seq":  # -1 is taken modulo the last decision's 5 options
        assert env.unwrapped.codes.tolist() == [2, 2, 2, 2, 2, 4]


def test_seq_one_element_array_is_its_element():
    a, b = gym.make("NasGym/NB201-Seq-v0"), gym.make("NasGym/NB201-Seq-v0")
    a.reset(seed=0), b.reset(seed=0)
    for k in (3, 1, 7, 0, 2, 4):
        ra, rb = a.step(k)[1], b.step(np.array([k]))[1]
    assert np.array_equal(a.unwrapped.codes, b.unwrapped.codes) and ra == rb


@pytest.mark.parametrize("actions", [[np.nan, 1, 2], [None, 1, 2], [0.5, 1, 2], [1, 2]], ids=repr)
def test_vector_seq_rejects_what_the_single_env_rejects(actions):
    env = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3)
    env.reset(seed=0)
    env.step(np.array([1, 1, 1]))
    t, codes = env.t.copy(), env.codes.copy()
    with pytest.raises(ValueError, match="integer"):
        env.step(np.array(actions, dtype=object if None in actions else None))
    assert np.array_equal(env.t, t) and np.array_equal(env.codes, codes)
    env.step(np.array([1.0, 7.0, -1.0]))  # integral floats and out-of-range integers are actions
    assert np.array_equal(env.codes[:, 1], [1, 2, 4])


@pytest.mark.parametrize("shape", [(15,), (1, 30), (60,), ()])
def test_cont_rejects_actions_of_the_wrong_shape(shape):
    env = gym.make("NasGym/NB201-Cont-v0", disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(30,\)"):
        env.step(np.zeros(shape, dtype=np.float32))
    assert env.unwrapped.t == 0 and len(search_log(env)) == 0


@pytest.mark.parametrize("shape", [(2, 15), (60,), (3, 30)])
def test_cont_vector_rejects_actions_of_the_wrong_shape_before_any_change(shape):
    env = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2)
    env.reset(seed=0)
    env.step(np.ones((2, 30), dtype=np.float32))
    codes, t = env.codes.copy(), env.t.copy()
    with pytest.raises(ValueError, match=r"shape \(2, 30\)"):
        env.step(np.zeros(shape, dtype=np.float32))
    assert np.array_equal(env.codes, codes) and np.array_equal(env.t, t)


def test_top_k_is_capped_at_the_budget():
    env = gym.make("NasGym/NB201-Cont-v0", budget=20, top_k=10**9)
    assert env.unwrapped.top_k == 20
    vec = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, budget=5, top_k=10**9)
    assert vec.top_k == 5


@pytest.mark.parametrize(
    "value", ["infs", "nans", float("inf"), 2.7, "2.7", True, "0", "-1s", "abc", "30+40", "2ep+"], ids=repr
)
def test_budget_rejects_what_would_never_end_or_is_not_a_count(value):
    with pytest.raises(ValueError, match="500.*36000s"):
        Budget.parse(value)


@pytest.mark.parametrize("kwargs", [{"seconds": float("inf")}, {"seconds": float("nan")}, {"queries": 2.7}])
def test_budget_constructor_rejects_the_same(kwargs):
    with pytest.raises(ValueError, match="budget"):
        Budget(**kwargs)
