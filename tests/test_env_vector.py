"""The numpy-batched vector envs step exactly as Gymnasium's SyncVectorEnv over N single envs
(``vectorization_mode="sync"``): observations, rewards, flags and every ``info`` entry (keys,
masks, dtypes, values), in both autoreset modes; plus their ``call``/``get_attr``/``set_attr``
and rendering."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from toy_tables import toy_benchmark

from nas_gym.envs import ContVectorEnv, SeqVectorEnv

N = 5
MODES = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}


def assert_same(a, b, where: str) -> None:
    """``a`` and ``b`` hold the same value: arrays (dtype, shape, entries; NaN equal to NaN), dicts, scalars."""
    if isinstance(a, dict) or isinstance(b, dict):
        assert isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b), (where, a, b)
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (where, a.dtype, a.shape, b.dtype, b.shape)
        if a.dtype == object:
            assert len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b)), (where, a, b)
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert _equal(a, b), (where, a, b)


def _equal(x, y) -> bool:
    if isinstance(x, (np.ndarray, dict)) or isinstance(y, (np.ndarray, dict)):
        assert_same(x, y, "entry")
        return True
    return x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))


def assert_same_info(ours: dict, sync: dict, where: str) -> None:
    """The same keys and ``"_key"`` masks, and the same dtype, shape and entries wherever a mask
    says an env has the key (Gymnasium leaves the other entries unspecified)."""
    assert set(ours) == set(sync), (where, sorted(set(ours) ^ set(sync)))
    for key in ours:
        if key.startswith("_"):
            assert_same(ours[key], sync[key], f"{where}[{key!r}]")
        elif isinstance(ours[key], dict):
            assert_same_info(ours[key], sync[key], f"{where}[{key!r}]")
        else:
            a, b, present = ours[key], sync[key], ours["_" + key]
            assert (a.dtype, a.shape) == (b.dtype, b.shape), (where, key, a.dtype, a.shape, b.dtype, b.shape)
            for i in np.flatnonzero(present):
                assert_same(a[i], b[i], f"{where}[{key!r}][{i}]")


def parity(family: str, steps: int, mode: str, bench: str = "NB201", seed: int = 0, **kwargs) -> list[dict]:
    """Drive our vector env and Gymnasium's SyncVectorEnv over single envs with the same actions
    (``noise="mean"``: no training-seed draws) and assert that every return value is the same;
    the infos of our steps."""
    env_id = f"NasGym/{bench}-{family}-v0"
    ours = gym.make_vec(env_id, num_envs=N, noise="mean", autoreset_mode=mode, **kwargs)
    sync = gym.make_vec(
        env_id,
        num_envs=N,
        noise="mean",
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": MODES[mode]},
        **kwargs,
    )
    assert type(ours.unwrapped).__name__.endswith("VectorEnv") and type(sync).__name__ == "SyncVectorEnv"
    assert ours.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"]
    assert ours.single_observation_space == sync.single_observation_space
    a, b = ours.reset(seed=seed), sync.reset(seed=seed)
    assert_same(a[0], b[0], "reset obs")
    assert_same_info(a[1], b[1], "reset info")
    ours.action_space.seed(seed)
    infos = []
    for t in range(steps):
        actions = ours.action_space.sample()
        a, b = ours.step(actions), sync.step(actions)
        for name, x, y in zip(("obs", "reward", "terminated", "truncated"), a[:4], b[:4]):
            assert_same(x, y, f"step {t} {name}")
        assert_same_info(a[4], b[4], f"step {t} info")
        infos.append(a[4])
    return infos


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_seq_vector_steps_like_sync(mode):
    info = parity("Seq", 20, mode)[-1]
    assert {"arch", "arch_index", "val", "best_arch", "n_queries", "action_mask"} <= set(info)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("obs", ["topk", "previous"])
def test_cont_vector_steps_like_sync(mode, obs):
    parity("Cont", 25, mode, budget=9, top_k=3, obs=obs)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_reports_the_table_row_and_no_results_like_sync(mode):
    # NAS-Bench-Graph stores one row per isomorphism class (arch_index is the row)
    ended = [i.get("final_info", i) for i in parity("Seq", 70, mode, bench="Graph", seed=3)]  # where the query is
    assert sum(int((i["arch_index"] >= 0).sum()) for i in ended) >= 40
    parity("Cont", 25, mode, bench="Graph", budget=9)
    # a table without some architectures: an agent ignoring the masks completes them (no result)
    ended = [i.get("final_info", i) for i in parity("Seq", 60, mode, benchmark=toy_benchmark(gappy=True))]
    assert sum(int(i["no_result"].sum()) for i in ended) >= 3


def test_vector_options_step_like_sync():
    parity("Seq", 14, "same_step", dict_obs=True)
    parity("Seq", 14, "next_step", dict_obs=("obs", "mask"), info_strings=False)
    parity("Cont", 12, "same_step", budget=5, budget_in_obs=True, oracle_info=True)
    parity("Cont", 12, "next_step", budget=5, max_episode_steps=3, reward="cadam")


def test_partial_and_seeded_resets_like_sync():
    """``reset_mask`` resets only those envs and reports info for them alone; a seeded reset
    starts new searches, an unseeded one continues them (the per-env totals)."""
    ours = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=3, noise="mean", budget=50)
    sync = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=3, noise="mean", budget=50, vectorization_mode="sync")
    ours.action_space.seed(1)
    for reset in ({"seed": 0}, {}, {"options": {"reset_mask": np.array([True, False, True])}}, {"seed": 5}):
        a, b = ours.reset(**reset), sync.reset(**reset)
        assert_same(a[0], b[0], f"obs after {reset}")
        assert_same_info(a[1], b[1], f"info after {reset}")
        for _ in range(3):
            actions = ours.action_space.sample()
            x, y = ours.step(actions), sync.step(actions)
            assert_same_info(x[4], y[4], f"step after {reset}")
    assert x[4]["n_queries"].tolist() == [3, 3, 3]  # the seeded reset started new searches


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


def test_get_attr_call_and_set_attr_answer_like_sync():
    ours = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3, render_mode="ansi")
    sync = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3, render_mode="ansi", vectorization_mode="sync")
    for vec in (ours, sync):
        vec.reset(seed=0)
        vec.step(np.array([1, 2, 3]))
    for name in ("observation_space", "action_space", "render_mode", "space"):
        a, b = ours.get_attr(name), sync.get_attr(name)
        assert len(a) == 3 and a == b or name == "space" and [x.name for x in a] == [x.name for x in b]
    assert [c.tolist() for c in ours.get_attr("codes")] == [[1, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0]]
    assert [int(t) for t in ours.get_attr("t")] == [1, 1, 1] == [int(t) for t in sync.get_attr("t")]
    assert ours.call("render") == sync.call("render") and ours.call("render")[2].startswith("1/6 decided:")
    assert all(np.array_equal(x, y) for x, y in zip(ours.call("action_masks"), sync.call("action_masks")))
    with pytest.raises(AttributeError, match="nothing_here"):
        ours.get_attr("nothing_here")
    ours.set_attr("render_mode", ["rgb_array"] * 3)
    frames = ours.render()
    assert len(frames) == 3 and frames[0].ndim == 3 and frames[0].dtype == np.uint8
    ours.set_attr("render_mode", "ansi")
    with pytest.raises(ValueError, match="share their attributes"):
        ours.set_attr("render_mode", ["ansi", "rgb_array", "ansi"])
    with pytest.raises(AttributeError, match="codes"):
        ours.set_attr("codes", np.zeros(6))


def test_rgb_array_renders_each_env_as_its_single_env_does():
    ours = gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, render_mode="rgb_array", noise="mean", budget=3)
    singles = [gym.make("NasGym/NB201-Cont-v0", render_mode="rgb_array", noise="mean", budget=3) for _ in range(2)]
    ours.reset(seed=0)
    for env in singles:
        env.reset(seed=0)
    actions = ours.action_space.sample()
    ours.step(actions)
    for i, env in enumerate(singles):
        env.step(actions[i])
        np.testing.assert_array_equal(ours.render()[i], env.render())
    assert not np.array_equal(ours.render()[0], ours.render()[1])  # two different cells
