"""What other RL libraries need from the envs: picklable envs, Python's TypeError for unknown
keywords, Gymnasium's checker on the env ``gym.make`` returns, the search log on ``unwrapped``,
and the vector-env API (autoreset modes, partial resets, per-env seeds, truncation)."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import nas_gym  # noqa: F401

FAMILIES = ("Seq", "Cont", "Edit")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("reward", ["val", "cadam", "regret"])
def test_made_env_pickles_and_the_copy_continues_identically(family, reward):
    env = (
        gym.make(f"NasGym/NB201-{family}-v0", reward=reward, budget=8)
        if family != "Seq"
        else gym.make("NasGym/NB201-Seq-v0", reward=reward)
    )
    env.reset(seed=3)
    env.action_space.seed(3)
    env.step(env.action_space.sample())
    copy = pickle.loads(pickle.dumps(env))
    for _ in range(5):
        action = env.action_space.sample()
        a, b = env.step(action), copy.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4] and a[4].keys() == b[4].keys()
        if a[2]:
            env.reset(), copy.reset()
    assert list(env.unwrapped.search_log.val) == list(copy.unwrapped.search_log.val)


def test_constrained_reward_pickles():
    env = gym.make("NasGym/NB201-Cont-v0", reward="constrained", max_params=1.0, penalty=-1.0)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.unwrapped.problem.reward.formula == env.unwrapped.problem.reward.formula


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_keyword_is_both_type_and_value_error(family):
    with pytest.raises(TypeError, match="unexpected keyword argument 'frobnicate'") as err:
        gym.make(f"NasGym/NB201-{family}-v0", frobnicate=1)
    assert isinstance(err.value, ValueError) and "valid:" in str(err.value)


@pytest.mark.parametrize("oracle_info", [False, True])
@pytest.mark.parametrize("family", FAMILIES)
def test_gymnasium_checker_passes_on_the_made_env(family, oracle_info):
    kwargs = {"budget": 6} if family != "Seq" else {}
    check_env(gym.make(f"NasGym/NB201-{family}-v0", oracle_info=oracle_info, **kwargs), skip_render_check=True)


def test_seeded_reset_starts_a_new_search_and_unseeded_continues():
    env = gym.make("NasGym/NB201-Cont-v0", budget=3)
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    env.reset()
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["n_queries"] == 4
    _, info = env.reset(seed=1)
    assert info["n_queries"] == 0 and len(env.unwrapped.search_log) == 0


def test_search_log_reachable_from_unwrapped():
    env = gym.make("NasGym/NB201-Seq-v0")
    env.reset(seed=0)
    for a in range(6):
        _, _, _, _, info = env.step(a)
    log = env.unwrapped.search_log
    assert log is env.get_wrapper_attr("log") and len(log) == 1 and log.arch_index[0] == info["arch_index"]


# ------------------------------------------------------------------------------------ vector envs
@pytest.mark.parametrize("mode", ["same_step", AutoresetMode.NEXT_STEP, "SameStep"])
def test_vector_env_names_its_autoreset_mode(mode):
    vec = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=2, autoreset_mode=mode)
    assert (
        vec.autoreset_mode
        == vec.metadata["autoreset_mode"]
        == AutoresetMode(mode if isinstance(mode, AutoresetMode) else {"same_step": "SameStep"}.get(mode, mode))
    )
    with pytest.raises(ValueError, match="autoreset_mode 'sometimes'.*next_step"):
        gym.make_vec("NasGym/NB201-Seq-v0", num_envs=2, autoreset_mode="sometimes")


def test_same_step_autoreset_puts_final_info_where_gymnasium_does():
    vec = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3, autoreset_mode="same_step")
    vec.reset(seed=0)
    for _ in range(6):
        obs, reward, terminated, _, info = vec.step(np.zeros(3, dtype=np.int64))
    assert terminated.all() and info["_final_info"].all() and info["_final_obs"].all()
    assert (info["final_info"]["val"] > 0).all() and (info["final_info"]["arch_index"] >= 0).all()
    assert (info["final_obs"][0][30 + 6] == 1.0) and (obs[:, 30] == 1.0).all()  # the next episode's first obs
    assert np.isneginf(info["val"]).all() and (info["n_queries"] == 1).all()  # the reset's info, the totals


def test_next_step_autoreset_returns_the_last_obs_then_resets_ignoring_actions():
    vec = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=2, autoreset_mode="next_step")
    vec.reset(seed=0)
    for _ in range(6):
        obs, reward, terminated, _, info = vec.step(np.array([3, 3]))
    assert terminated.all() and (obs[:, 30 + 6] == 1.0).all() and info["_val"].all()  # last obs, position 6
    obs, reward, terminated, truncated, info = vec.step(np.array([1, 1]))
    assert (obs[:, 30] == 1.0).all() and obs[:, :30].sum() == 0  # reset: the actions were ignored
    assert (reward == 0).all() and not terminated.any() and not truncated.any()
    assert (info["arch_index"] == -1).all() and (info["n_queries"] == 1).all()  # no query; the totals stay
    obs, *_ = vec.step(np.array([1, 2]))
    assert obs[0, 1] == 1.0 and obs[1, 2] == 1.0


def test_next_step_cont_matches_single_envs():
    vec = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, budget=3, noise="mean", autoreset_mode="next_step")
    singles = [gym.make("NasGym/NB201-Cont-v0", budget=3, noise="mean") for _ in range(2)]
    vec.reset(seed=0)
    for e in singles:
        e.reset(seed=0)
    vec.action_space.seed(0)
    ended = False
    for _ in range(10):
        actions = vec.action_space.sample()
        obs, reward, terminated, _, _ = vec.step(actions)
        for i, e in enumerate(singles):
            if ended:
                o, _ = e.reset()
                r = 0.0
                te = False
            else:
                o, r, te, _, _ = e.step(actions[i])
            np.testing.assert_array_equal(obs[i], o)
            assert reward[i] == pytest.approx(r) and terminated[i] == te
        ended = bool(terminated[0])


def test_max_episode_steps_truncates():
    vec = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, budget=10, max_episode_steps=2, autoreset_mode="same_step")
    vec.reset(seed=0)
    _, _, te, tr, _ = vec.step(vec.action_space.sample())
    assert not tr.any()
    obs, _, te, tr, info = vec.step(vec.action_space.sample())
    assert tr.all() and not te.any() and info["_final_obs"].all() and obs.sum() == 0  # reset at once
    with pytest.raises(ValueError, match="max_episode_steps"):
        gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, max_episode_steps=0)


def test_reset_mask_resets_only_those_envs():
    vec = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3)
    vec.reset(seed=0)
    vec.step(np.array([1, 2, 3]))
    obs, _ = vec.reset(options={"reset_mask": np.array([True, False, True])})
    assert obs[0, :30].sum() == 0 and obs[2, :30].sum() == 0 and obs[1, 2] == 1.0
    with pytest.raises(ValueError, match="reset_mask"):
        vec.reset(options={"reset_mask": [1, 0, 1]})


def test_reset_takes_a_list_of_seeds():
    def run(seed):
        vec = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=3, budget=4)
        vec.reset(seed=seed)
        vec.action_space.seed(0)
        return vec.step(vec.action_space.sample())[1]

    np.testing.assert_array_equal(run([1, 2, 3]), run([1, 2, 3]))
    assert not np.array_equal(run([1, 2, 3]), run([4, 5, 6]))
    with pytest.raises(ValueError, match="one per env"):
        run([1, 2])
