"""Other RL libraries drive the envs with no workaround: TorchRL's GymEnv, skrl's gymnasium
wrapper, and a single-file PPO loop on the batched vector env (examples/ppo_vector_env.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import nas_gym  # noqa: F401
from nas_gym.benchmarks import load_benchmark

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ppo_vector_env.py"


def test_single_file_ppo_on_the_vector_env_queries_real_cells():
    spec = importlib.util.spec_from_file_location("ppo_vector_env", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.train(iterations=3, num_envs=8, n_steps=12, seed=0)
    assert out["queries"] == 8 * 5  # 36 steps per env, a cell every 7 (6 decisions, then the reset step)
    table = load_benchmark("nb201", dataset="cifar10")
    row = table.row(out["best_arch"])
    assert out["best_val"] in table.val[row]


def test_next_step_masks_allow_everything_for_an_ended_env():
    vec = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=2, autoreset_mode="next_step")
    vec.reset(seed=0)
    for _ in range(6):
        vec.step(np.zeros(2, dtype=np.int64))
    assert vec.unwrapped.action_masks().all()


def test_torchrl_gym_env_rolls_out():
    envs = pytest.importorskip("torchrl.envs")
    env = envs.GymEnv("NasGym/NB201-Cont-v0", budget=5)
    td = env.rollout(5)
    assert td["next", "reward"].shape == (5, 1) and bool(td["next", "terminated"][-1])


def test_skrl_wraps_the_env():
    wrappers = pytest.importorskip("skrl.envs.wrappers.torch")
    env = wrappers.wrap_env(gym.make("NasGym/NB201-Cont-v0", budget=3), wrapper="gymnasium")
    env.reset()
    for t in range(3):
        obs, reward, terminated, truncated, _ = env.step(torch.zeros(1, 30))
    assert obs.shape == (1, 30) and bool(terminated) and 0.0 < float(reward) <= 1.0
