"""The Stable-Baselines3 adapter: ``sb3:ALGO`` agents train until the query budget is spent."""

from __future__ import annotations

import tempfile

import gymnasium as gym
import numpy as np
import pytest

import nas_gym  # noqa: F401  (registers the envs)
from nas_gym.agents import Budget, make
from nas_gym.agents.sb3 import SB3Agent

SMALL = {"n_steps": 32, "batch_size": 32}
CASES = [
    ("PPO", "Seq", SMALL),
    ("PPO", "Cont", SMALL),
    ("MaskablePPO", "Edit", SMALL),
    ("DQN", "Seq", {"learning_starts": 10, "buffer_size": 500}),
    ("SAC", "Cont", {"learning_starts": 5, "buffer_size": 500, "batch_size": 8}),
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("algo, family, kwargs", CASES)
def test_training_stops_when_the_budget_is_spent(algo, family, kwargs):
    env = gym.make(f"NasGym/NB201-{family}-v0")
    r = make(f"sb3:{algo}", **kwargs).search(env, Budget(15), 0)
    assert r.agent == f"sb3:{algo}" and r.n_queries == 15
    assert r.meta == {"algo": algo}


def test_one_seed_gives_one_search():
    runs = [make("sb3:PPO", **SMALL).search(gym.make("NasGym/NB201-Seq-v0"), Budget(40), 3) for _ in range(2)]
    assert np.array_equal(runs[0].arch_index, runs[1].arch_index)


def test_families_follow_the_action_spaces_and_unknown_algorithms_are_refused():
    assert make("sb3:DQN").families == ("Seq", "Edit")
    assert make("sb3:SAC").families == ("Cont",)
    assert set(make("sb3:PPO").families) == {"Seq", "Cont", "Edit"}
    with pytest.raises(ValueError, match="drives"):
        make("sb3:DQN").search(gym.make("NasGym/NB201-Cont-v0"), Budget(5), 0)
    with pytest.raises(ValueError, match="unknown SB3 algorithm"):
        SB3Agent("NOPE")


def test_training_leaves_no_log_folder(tmp_path, monkeypatch):
    """SB3's default logger would make an ``SB3-<date>`` folder in the temp dir on each learn()."""
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where such folders would go
    make("sb3:PPO", **SMALL).search(gym.make("NasGym/NB201-Seq-v0"), Budget(6), 0)
    assert list(tmp_path.iterdir()) == []
    from stable_baselines3 import PPO

    PPO("MlpPolicy", gym.make("NasGym/NB201-Seq-v0"), **SMALL).learn(32)
    assert [p.name[:4] for p in tmp_path.iterdir()] == ["SB3-"]  # SB3's own logger does, there
