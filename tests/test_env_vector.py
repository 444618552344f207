"""The numpy-batched vector envs step like N single envs (same-step autoreset, where the last
observation is in ``info``) and like Gymnasium's SyncVectorEnv over them (the default, next-step)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from nas_gym.envs import ContVectorEnv, SeqVectorEnv

from toy_tables import toy_benchmark

N = 5


def lockstep(family: str, steps: int, bench: str = "NB201", **kwargs) -> None:
    """Drive a same-step vector env and N single envs with the same actions (``noise="mean"``: no draws)."""
    vec = gym.make_vec(f"NasGym/{bench}-{family}-v0", num_envs=N, noise="mean", autoreset_mode="same_step", **kwargs)
    singles = [gym.make(f"NasGym/{bench}-{family}-v0", noise="mean", **kwargs) for _ in range(N)]
    obs, _ = vec.reset(seed=0)
    np.testing.assert_array_equal(obs, np.stack([e.reset(seed=0)[0] for e in singles]))
    vec.action_space.seed(0)
    for _ in range(steps):
        actions = vec.action_space.sample()
        obs, reward, terminated, truncated, info = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(actions[i])
            assert (te, tr) == (terminated[i], truncated[i])
            assert r == pytest.approx(reward[i])
            if te:
                np.testing.assert_array_equal(info["final_obs"][i], o)
                o, _ = env.reset()
            np.testing.assert_array_equal(obs[i], o)
            assert info.get("_val", np.zeros(N, bool))[i] == (inf["arch_index"] >= 0)
            if inf["arch_index"] >= 0:
                assert info["val"][i] == inf["val"] and info["arch_index"][i] == inf["arch_index"]


def test_seq_vector_matches_single_envs():
    lockstep("Seq", 20)


@pytest.mark.parametrize("obs", ["topk", "previous"])
def test_cont_vector_matches_single_envs(obs):
    lockstep("Cont", 25, budget=9, top_k=3, obs=obs)


def test_vector_reports_the_table_row_like_single_envs():
    # NAS-Bench-Graph stores one row per isomorphism class: both report that row's index.
    lockstep("Seq", 70, bench="Graph")
    lockstep("Cont", 25, bench="Graph", budget=9)


@pytest.mark.parametrize("family, kwargs", [("Seq", {}), ("Cont", {"budget": 4, "top_k": 2})])
def test_default_vector_env_steps_like_gymnasiums_sync_vector_env(family, kwargs):
    """``gym.make_vec`` gives the same episodes whichever ``vectorization_mode`` is asked for
    (RLlib asks for either), each episode whole: its last step, then a reset step."""
    env_id = f"NasGym/NB201-{family}-v0"
    ours = gym.make_vec(env_id, num_envs=N, noise="mean", **kwargs)
    sync = gym.make_vec(env_id, num_envs=N, noise="mean", vectorization_mode="sync", **kwargs)
    assert ours.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"]
    np.testing.assert_array_equal(ours.reset(seed=0)[0], sync.reset(seed=0)[0])
    ours.action_space.seed(0)
    lengths, t = [], np.zeros(N, dtype=int)
    for _ in range(20):
        actions = ours.action_space.sample()
        a, b = ours.step(actions), sync.step(actions)
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_allclose(x, y)
        t += 1
        lengths += t[a[2]].tolist()
        t[a[2]] = -1  # the next step resets these envs and is no step of an episode
    assert set(lengths) == {6 if family == "Seq" else 4}


def test_vector_spaces_and_metadata():
    vec = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=N)
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert vec.single_action_space == gym.spaces.Box(-1.0, 1.0, (30,), np.float32)
    assert vec.action_space.shape == (N, 30) and vec.observation_space.shape == (N, 30)
    seq = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=N)
    assert seq.action_space == gym.spaces.MultiDiscrete([5] * N)


def test_seq_vector_queries_draw_training_seeds(nb201_c10):
    vec = SeqVectorEnv(num_envs=64)
    vec.reset(seed=1)
    for _ in range(5):
        vec.step(vec.action_space.sample())
    *_, info = vec.step(vec.action_space.sample())
    assert info["_val"].all()
    rows = nb201_c10.val[info["arch_index"]]
    assert all(v in r for v, r in zip(info["val"], rows))
    assert len(set(info["val"] - nb201_c10.val_mean[info["arch_index"]])) > 1  # not the seed means


def test_vector_masks_invalid_actions_and_render():
    toy_table = toy_benchmark()
    seq = SeqVectorEnv(num_envs=3, benchmark=toy_table, render_mode="ansi")
    seq.reset(seed=0)
    assert seq.action_masks().tolist() == [[True, True, False]] * 3
    seq.step(np.array([2, 1, -1]))  # out of range: modulo the option count, as in the single env
    assert seq.codes[:, 0].tolist() == [0, 1, 1]
    assert seq.render()[0].startswith("1/3 decided: a=x, b=?")
    cont = ContVectorEnv(num_envs=2, benchmark=toy_table, budget=3)
    cont.reset(seed=0)
    _, reward, *_ = cont.step(np.array([[np.nan] * 9, [1e9, -1e9, 5] * 3]))
    assert np.isfinite(reward).all() and cont.codes.tolist() == [[0, 0, 0], [0, 0, 0]]


def test_vector_constrained_reward():
    vec = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=3, reward="constrained", max_params=1.0, penalty=-2.0)
    vec.reset(seed=0)
    _, reward, *_ = vec.step(vec.action_space.sample())
    assert reward.tolist() == [-2.0] * 3
