"""Stable-Baselines3 trains on every family through make_vec_env, and MaskablePPO learns on Seq."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks
from scipy import stats
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.env_util import make_vec_env

import nas_gym  # noqa: F401  (registers the NasGym/... ids that these tests make)

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "sb3_quickstart.py"
MARKER = "<!-- example: examples/sb3_quickstart.py -->"

OFF_POLICY = {"learning_starts": 50, "buffer_size": 2_000, "batch_size": 32}
CASES = [
    (PPO, "Seq", {"n_steps": 64, "batch_size": 64}),
    (PPO, "Cont", {"n_steps": 64, "batch_size": 64}),
    (PPO, "Edit", {"n_steps": 64, "batch_size": 64}),
    (A2C, "Seq", {}),
    (A2C, "Edit", {}),
    (DQN, "Seq", OFF_POLICY),
    (DQN, "Edit", OFF_POLICY),
    (MaskablePPO, "Seq", {"n_steps": 64, "batch_size": 64}),
    (MaskablePPO, "Edit", {"n_steps": 64, "batch_size": 64}),
    (SAC, "Cont", OFF_POLICY),
    (TD3, "Cont", OFF_POLICY),
    (DDPG, "Cont", OFF_POLICY),
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def env_kwargs(family: str) -> dict:
    return {"budget": 40} if family == "Cont" else {"budget": 10} if family == "Edit" else {}


@pytest.mark.parametrize("algo, family, kwargs", CASES, ids=[f"{a.__name__}-{f}" for a, f, _ in CASES])
def test_algorithm_trains_through_make_vec_env(algo, family, kwargs):
    venv = make_vec_env(f"NasGym/NB201-{family}-v0", n_envs=2, seed=0, env_kwargs=env_kwargs(family))
    model = algo("MlpPolicy", venv, seed=0, **kwargs)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=300)
    assert any(not np.array_equal(b, p.detach()) for b, p in zip(before, model.policy.parameters()))  # it trained
    logs = venv.get_attr("log")  # each env's SearchLog, reached through Monitor and gym.make's wrappers
    per_env = model.num_timesteps // 2
    for log in logs:  # the log saw every query the steps made, as each family defines them
        if family == "Seq":
            assert len(log) == per_env // 6  # one query per six-decision episode
        elif family == "Cont":
            assert len(log) == per_env  # one query per step
        else:  # one query per real edit, plus one per episode start
            assert per_env // 10 <= len(log) <= per_env + per_env // 10 + 1
        assert log.best_val == max(log.val) and log.best_index == log.arch_index[int(np.argmax(log.val))]
    obs = venv.reset()
    action, _ = model.predict(obs)
    assert venv.action_space.contains(action[0])


@pytest.mark.parametrize("family", ["Seq", "Edit"])
def test_maskable_ppo_only_takes_allowed_actions(family):
    """On NAS-Bench-Graph, whose decisions have different option counts (and whose Edit masks
    forbid the current options), a sampling policy that ignored the masks would pick a masked
    action within a few dozen steps."""
    env_id = f"NasGym/Graph-{family}-v0"
    venv = make_vec_env(env_id, n_envs=2, seed=0, env_kwargs=env_kwargs(family))
    assert get_action_masks(venv).shape == (2, venv.action_space.n)
    model = MaskablePPO("MlpPolicy", venv, n_steps=32, batch_size=64, seed=0).learn(total_timesteps=64)
    env = gym.make(env_id, **env_kwargs(family))
    obs, _ = env.reset(seed=1)
    masked_out = 0
    for _ in range(60):
        masks = get_action_masks(env)  # through the wrappers to the env's action_masks()
        masked_out += int((~masks).sum())
        action, _ = model.predict(obs, action_masks=masks, deterministic=False)
        assert masks[int(action)]
        obs, _, terminated, _, _ = env.step(action)
        if terminated:
            obs, _ = env.reset()
    assert masked_out >= 60  # on average at least one masked option per step: the masks were tested


def sample_policy(model: MaskablePPO, n: int, seed: int) -> np.ndarray:
    """Dense indices of ``n`` architectures the policy builds (sampled, not greedy)."""
    env = gym.make("NasGym/NB201-Seq-v0")
    obs, _ = env.reset(seed=seed)
    out = []
    while len(out) < n:
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=False)
        obs, _, terminated, _, info = env.step(action)
        if terminated:
            out.append(info["arch_index"])
            obs, _ = env.reset()
    return np.array(out)


@pytest.mark.slow
def test_maskable_ppo_beats_random_architectures(nb201_c10):
    """After 4,096 steps (about 680 architectures), the policy's cells beat uniform random ones
    in seed-mean validation accuracy by several points (Welch t-test over 400 + 400 cells)."""
    venv = make_vec_env("NasGym/NB201-Seq-v0", n_envs=4, seed=0, env_kwargs={"dataset": "cifar10"})
    model = MaskablePPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=4, learning_rate=3e-3, seed=0)
    model.learn(total_timesteps=4096)
    learned = nb201_c10.val_mean[sample_policy(model, 400, seed=1)]
    space = nb201_c10.space
    uniform = nb201_c10.val_mean[space.indices(space.sample(np.random.default_rng(1), 400))]
    test = stats.ttest_ind(learned, uniform, equal_var=False, alternative="greater")
    print(
        f"policy {learned.mean():.2f} +- {learned.std():.2f}, random {uniform.mean():.2f} +- {uniform.std():.2f}, "
        f"Welch t = {test.statistic:.1f}, p = {test.pvalue:.1e}"
    )
    assert learned.mean() - uniform.mean() > 3.0
    assert test.pvalue < 1e-6


def doc_with_example() -> Path:
    return ROOT / "README.md"


def test_documented_quickstart_is_the_example_file():
    text = doc_with_example().read_text()
    block = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert block, f"no python block after {MARKER} in {doc_with_example()}"
    assert block.group(1) == QUICKSTART.read_text()
    assert len(QUICKSTART.read_text().splitlines()) <= 10


def test_quickstart_runs(capsys):
    runpy.run_path(str(QUICKSTART), run_name="__main__")
    out = capsys.readouterr().out
    assert re.match(r"best cell: \|.*\|, val \d+\.\d\d%", out)


def test_train_script_end_to_end(capsys):
    script = runpy.run_path(str(ROOT / "scripts" / "train_sb3.py"))
    # the short id that `nas-gym compare` takes; PPO trains whole rollouts: 2 envs x 16 steps > 10 asked
    rc = script["main"](["--algo", "PPO", "--env", "NB201-Seq-v0", "--steps", "10", "--n-envs", "2"])
    out, err = capsys.readouterr()
    assert rc == 0 and "best architecture: |" in out and "validation accuracy:" in out
    assert "32 steps trained (10 asked" in out and "regret of its seed mean" in out
    assert "\r" not in err  # no progress bar off a terminal
    assert script["main"](["--algo", "SAC", "--env", "NasGym/NB201-Seq-v0", "--steps", "10"]) == 2
    assert script["main"](["--algo", "MaskablePPO", "--env", "NasGym/NB201-Cont-v0", "--steps", "10"]) == 2
    assert "valid:" in str(pytest.raises(ValueError, script["build"], "PPG", "NasGym/NB201-Seq-v0", 10, 0, 1, {}).value)
