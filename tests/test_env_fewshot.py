"""NasGym/FewShot-v0: one episode is one few-shot task; the action is its architecture."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.envs.core import UnknownKeywordError

torch.set_num_threads(1)


def _make(**kw):
    return gym.make("NasGym/FewShot-v0", data="digits", ways=2, shots=2, queries=2, adapt_steps=1, **kw)


def test_one_episode_is_one_task():
    env = _make()
    obs, info = env.reset(seed=3)
    assert obs.shape == (4, 1, 8, 8) and obs.dtype == np.float32
    assert set(info["classes"]) <= {0, 1, 2} and len(info["classes"]) == 2  # meta-test digits 7, 8, 9
    meta_alpha = env.unwrapped.learner.alpha.clone()
    _, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert terminated is True and truncated is True and isinstance(reward, float)  # truncated: max_episode_steps=1
    assert reward == pytest.approx(info["accuracy"] / 100) and reward in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert torch.equal(env.unwrapped.learner.alpha, meta_alpha)  # the action never changes the meta-architecture
    again, _ = env.reset(seed=3)
    assert np.array_equal(again, obs)


def test_passes_gymnasium_and_sb3_checkers():
    check_env(_make().unwrapped, skip_render_check=True)
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with pytest.warns(UserWarning, match="unconventional shape"):  # (ways*shots, C, H, W): flattened by MlpPolicy
        sb3_checker.check_env(_make().unwrapped)


def test_bad_keywords_are_named():
    with pytest.raises(ValueError, match=r"unknown split 'holdout'; valid: \['train', 'val', 'test'\]"):
        _make(split="holdout")
    with pytest.raises(ValueError, match="ways=4 exceeds"):
        gym.make("NasGym/FewShot-v0", data="digits", ways=4)
    with pytest.raises(UnknownKeywordError) as err:  # both TypeError and ValueError
        _make(w_learning_rate=0.1)
    assert "'w_learning_rate'" in str(err.value)
    assert all(k in str(err.value) for k in ("'ways'", "'adapt_steps'", "'w_lr'"))  # the env's and MetaConfig's


def test_render_mode_that_is_no_string_is_a_value_error():
    with pytest.raises(ValueError, match="render_mode 3"):
        _make(render_mode=3)


def test_learner_settings_beside_a_given_learner_are_refused():
    learner = _make().unwrapped.learner
    with pytest.raises(ValueError, match=r"\['meta_epochs', 'w_lr'\] apply to the learner the env builds"):
        _make(learner=learner, w_lr=0.1, meta_epochs=1)
    assert _make(learner=learner).unwrapped.learner is learner  # alone it is used as given
