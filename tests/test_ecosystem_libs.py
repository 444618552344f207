"""Other RL libraries drive the envs with no workaround: TorchRL's GymEnv, skrl's gymnasium
wrapper, Tianshou's PPO with its own collector and buffer, and a single-file PPO loop on the
batched vector env (examples/ppo_vector_env.py). RLlib has a venv of its own: tests/rllib."""

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


@pytest.mark.parametrize("mode", [None, "sync"])
def test_single_file_ppo_on_the_vector_env_queries_real_cells(mode):
    """The loop reads masks and queries from ``info``: the same on the batched env and on
    Gymnasium's SyncVectorEnv."""
    spec = importlib.util.spec_from_file_location("ppo_vector_env", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.train(iterations=3, num_envs=8, n_steps=12, seed=0, vectorization_mode=mode)
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


def test_torchrl_gym_env_with_num_envs_rolls_out_whole_episodes():
    """TorchRL reads every info entry into a tensor: ``info_strings=False`` leaves out the string
    ones. Its vector env is Gymnasium's async one over ``gym.make`` (spawned: hence ``nas_gym:``)."""
    envs = pytest.importorskip("torchrl.envs")
    env = envs.GymEnv("nas_gym:NasGym/NB201-Seq-v0", num_envs=2, info_strings=False)
    td = env.rollout(14, break_when_any_done=False)
    env.close()
    terminated = td["next", "terminated"].squeeze(-1)
    assert td.batch_size == (2, 14) and terminated[:, [5, 11]].all() and terminated.sum() == 4  # 6 decisions each
    reward = td["next", "reward"].squeeze(-1)
    assert ((reward > 0) == terminated).all() and (reward <= 1).all()
    assert td["next", "n_queries"][:, 6].tolist() == [1, 1] and td["action_mask"].dtype == torch.bool


def test_skrl_wraps_the_batched_vector_env():
    """skrl's gymnasium wrapper renders a vector env through ``call("render")``."""
    wrappers = pytest.importorskip("skrl.envs.wrappers.torch")
    env = wrappers.wrap_env(gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3, render_mode="ansi"), wrapper="gymnasium")
    env.reset()
    for _ in range(6):
        obs, reward, terminated, truncated, info = env.step(torch.zeros(3, 1, dtype=torch.int64))
    assert obs.shape == (3, 37) and terminated.all() and (reward > 0).all()
    frames = env.render()
    assert len(frames) == 3 and frames[0].startswith("|none~0|+|none~0|none~1|")


def test_skrl_wraps_the_env():
    wrappers = pytest.importorskip("skrl.envs.wrappers.torch")
    env = wrappers.wrap_env(gym.make("NasGym/NB201-Cont-v0", budget=3), wrapper="gymnasium")
    env.reset()
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(torch.zeros(1, 30))
    assert obs.shape == (1, 30) and bool(terminated) and 0.0 < float(reward) <= 1.0


def test_tianshou_ppo_trains_with_its_collector_and_buffer(one_torch_thread):
    """Tianshou stacks every step's info into its buffer: the envs' stable info keys let it."""
    pytest.importorskip("tianshou")
    from tianshou.algorithm import PPO
    from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv
    from tianshou.trainer import OnPolicyTrainerParams
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.discrete import DiscreteActor, DiscreteCritic

    torch.manual_seed(0)
    n_envs, steps = 4, 480
    envs = DummyVectorEnv([lambda: gym.make("NasGym/NB201-Seq-v0", dataset="cifar10") for _ in range(n_envs)])
    envs.seed(0)
    single = gym.make("NasGym/NB201-Seq-v0")
    obs_shape, n_actions = single.observation_space.shape, int(single.action_space.n)
    actor = DiscreteActor(preprocess_net=Net(state_shape=obs_shape, hidden_sizes=[64]), action_shape=n_actions)
    critic = DiscreteCritic(preprocess_net=Net(state_shape=obs_shape, hidden_sizes=[64]))
    policy = ProbabilisticActorPolicy(
        actor=actor, dist_fn=torch.distributions.Categorical, action_space=single.action_space, action_scaling=False
    )
    algo = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=3e-3))
    before = [p.detach().clone() for p in algo.parameters()]
    buffer = VectorReplayBuffer(steps, n_envs)
    collector = Collector(algo, envs, buffer)
    collector.reset()
    params = OnPolicyTrainerParams(
        training_collector=collector,
        max_epochs=2,
        epoch_num_steps=steps // 2,
        collection_step_num_env_steps=120,
        batch_size=60,
        update_step_num_repetitions=2,
        show_progress=False,
        verbose=False,
    )
    stats = algo.run_training(params)
    assert stats.train_step == steps and stats.train_episode == steps // 6 and stats.update_step > 0
    assert any(not torch.equal(b, p.detach()) for b, p in zip(before, algo.parameters()))  # it trained
    collected = collector.collect(n_step=120)  # training emptied the buffer: refill it with the trained policy
    assert (collected.lens == 6).all() and ((collected.returns > 0) & (collected.returns <= 1)).all()
    batch = buffer[buffer.sample_indices(0)]  # every stored step
    done = batch.terminated
    assert len(batch) == 120 and done.sum() == 120 // 6
    assert (batch.truncated == done).all()  # TimeLimit (the spec's max_episode_steps) flags the last decision too
    reward, val = batch.rew, batch.info.val
    np.testing.assert_allclose(reward[done], val[done] / 100)  # the validation accuracy of each built cell
    assert (reward[~done] == 0).all() and np.isneginf(val[~done]).all()  # no query before the last decision
    logs = [env.search_log for env in envs.get_env_attr("unwrapped")]
    assert [len(log) for log in logs] == [(steps + 120) // n_envs // 6] * n_envs
    assert sorted(v for log in logs for v in log.val[-5:]) == sorted(val[done])
