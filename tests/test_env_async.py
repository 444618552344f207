"""Gymnasium's async vector env forks its workers (on Linux) after building one env in the
parent; torch-backed envs must still step there. Each case runs in a fresh process whose torch
has run a multi-threaded convolution first, the state in which a forked child used to wait
forever in its first convolution; the timeout turns such a hang into a failure."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import numpy as np, torch, gymnasium as gym
import nas_gym  # noqa: F401
torch.set_num_threads(2)  # the parent's OpenMP pool, which a forked child cannot use
torch.nn.functional.conv2d(torch.randn(8, 16, 32, 32), torch.randn(16, 16, 3, 3))
vec = gym.make_vec({env_id!r}, num_envs=2, vectorization_mode="async", **{kwargs!r})
import multiprocessing
assert type(vec).__name__ == "AsyncVectorEnv" and vec.context is None and multiprocessing.get_start_method() == "fork"
obs, info = vec.reset(seed=0)
vec.action_space.seed(0)
rewards = []
for _ in range({steps}):
    obs, reward, terminated, truncated, info = vec.step(vec.action_space.sample())
    rewards.append(reward)
vec.close()
print(np.array(rewards).tolist())
"""
TINY = {
    "data": "digits",
    "size": "tiny",
    "epochs": 1,
    "n_val": 200,
    "recal_batches": 2,
    "recipe": {"batch_size": 32},
    "progress": False,
}


@pytest.mark.parametrize(
    "env_id, kwargs, steps",
    [
        ("NasGym/NB201Supernet-Cont-v0", {**TINY, "budget": 3}, 2),
        ("NasGym/FewShot-v0", {"data": "digits", "ways": 2, "shots": 2, "queries": 2, "adapt_steps": 1}, 2),
    ],
)
def test_async_vector_env_of_a_torch_backed_id_steps(env_id, kwargs, steps):
    code = PROBE.format(env_id=env_id, kwargs=kwargs, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    rewards = eval(out.stdout.strip().splitlines()[-1])
    assert len(rewards) == steps and all(len(r) == 2 and all(0.0 <= x <= 1.0 for x in r) for r in rewards)
    if "Supernet" in env_id:  # real queries: 200 validation images, a chance-level child still scores above 0
        assert all(x > 0 for r in rewards for x in r)


def test_supernet_envs_step_in_spawned_processes_as_they_do_in_one(one_torch_thread):
    """``vector_kwargs={"context": "spawn"}`` (what CUDA needs, and what runs queries of several
    architectures at once on several cores): each worker loads the cached checkpoint, and the
    frozen supernet gives the numbers the same envs give stepped one after the other."""
    import os
    from pathlib import Path

    import gymnasium as gym
    import numpy as np

    import nas_gym  # noqa: F401

    env_id, kwargs = "NasGym/NB201Supernet-Cont-v0", {**TINY, "budget": 3}
    sync = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", **kwargs)  # pretrains here if not cached
    folder = Path(os.environ["NAS_GYM_CACHE"]) / "supernets"
    stamp = lambda: {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.pt")}  # noqa: E731
    before = stamp()
    spawned = gym.make_vec(env_id, num_envs=2, vectorization_mode="async", vector_kwargs={"context": "spawn"}, **kwargs)
    try:
        assert type(spawned).__name__ == "AsyncVectorEnv"
        actions = np.random.default_rng(0).uniform(-1, 1, (2, *sync.action_space.shape)).astype(np.float32)
        for vec in (sync, spawned):
            vec.reset(seed=0)
        for a in actions:
            (obs_1, r_1, *_), (obs_n, r_n, *_) = sync.step(a), spawned.step(a)
            assert np.array_equal(r_1, r_n) and np.array_equal(obs_1, obs_n) and np.all(r_n > 0)
        assert stamp() == before  # the workers loaded the checkpoint; none trained or wrote one
    finally:
        spawned.close()
        sync.close()
