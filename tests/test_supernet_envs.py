"""Supernet env ids (both checkers run on them in test_env_registry): registration, no whole-space
scan, seeded repeatability, the
ddas reward in a train-mode search, and the thesis's agents on supernets (tiny, digits, CPU)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from tiny_supernet import TINY

import nas_gym
from nas_gym.agents import Budget, make
from nas_gym.supernets import SUPERNET_KWARGS


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def test_supernet_ids_are_registered():
    ids = set(nas_gym.env_ids())
    for prefix in ("NB201Supernet", "DARTSSupernet"):
        for family in ("Seq", "Cont", "Edit"):
            env_id = f"NasGym/{prefix}-{family}-v0"
            assert env_id in ids and gym.spec(env_id).nondeterministic


def test_supernet_kwargs_match_the_backend():
    import inspect

    from nas_gym.supernets.backend import SupernetBackend

    params = set(inspect.signature(SupernetBackend).parameters) - {"space", "dataset", "path"}
    assert params | {"data"} == set(SUPERNET_KWARGS)


def test_making_an_env_queries_nothing_and_knows_no_optimum():
    env = gym.make("NasGym/NB201Supernet-Cont-v0", **{**TINY, "seed": 3}, budget=3)
    base = env.unwrapped
    assert base.problem.reach.structural and len(base.backend._measured) == 0
    assert base.optimum is None
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert "regret" not in info and 0 <= info["val"] <= 100 and info["n_queries"] == 1


def test_frozen_search_repeats_for_a_seed():
    def run():
        env = gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=12)
        return make("re").search(env, Budget(12), seed=4)

    a, b = run(), run()
    assert np.array_equal(a.arch_index, b.arch_index) and np.array_equal(a.val, b.val)


def test_ddas_reward_in_a_train_mode_episode():
    env = gym.make(
        "NasGym/NB201Supernet-Cont-v0", **TINY, mode="train", train_batches=2, reward="ddas", obs="previous", budget=3
    )
    backend = env.unwrapped.backend
    acc_os, loss_os = backend.oneshot()
    env.reset(seed=0)
    rewards, recs = [], []
    for _ in range(3):
        _, r, _, _, _ = env.step(env.action_space.sample())
        rewards.append(r)
        recs.append(env.unwrapped.last_record)
    losses = [loss_os] + [rec.loss for rec in recs]
    want = [0.5 * (rec.val - acc_os) / 100 + 0.5 * (losses[i] - rec.loss) for i, rec in enumerate(recs)]
    assert rewards == pytest.approx(want)


def test_ddas_needs_a_supernet_and_train_mode_needs_seed_noise(raises_naming):
    raises_naming(lambda: gym.make("NasGym/NB201-Cont-v0", reward="ddas"), "ddas", "supernet")
    raises_naming(lambda: gym.make("NasGym/NB201-Cont-v0", mode="frozen"), "mode", "supernet")
    raises_naming(lambda: gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, mode="train", noise="mean"), "noise", "seed")
    raises_naming(lambda: gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, dataset="mnist"), "digits", "mnist")


def test_ddas_agent_on_a_train_mode_supernet():
    env = gym.make(
        "NasGym/NB201Supernet-Cont-v0", **TINY, mode="train", train_batches=2, reward="ddas", obs="previous", budget=10
    )
    res = make("ddpg", batch_size=4).search(env, Budget(10), seed=0)
    assert res.n_queries == 10 and res.best_index in set(res.arch_index.tolist())


def test_cadam_on_a_frozen_darts_supernet():
    env = gym.make("NasGym/DARTSSupernet-Cont-v0", **TINY, reward="cadam", budget=12, top_k=5)
    agent = make("cadam", tau=0.95, batch_size=4, xi=5e-5, c_max=1, warmup=6, buffer_size=50)
    res = agent.search(env, Budget(12), seed=0)
    space = env.unwrapped.space
    assert res.n_queries == 12 and space.is_valid(space.codes(res.best_index))
    assert res.best_index > np.iinfo(np.int64).max or res.best_index >= 0  # DARTS indices are Python ints


def test_darts_masks_keep_every_cell_valid():
    rng = np.random.default_rng(0)
    seq = gym.make("NasGym/DARTSSupernet-Seq-v0", **TINY)
    space = seq.unwrapped.space
    for episode in range(3):
        seq.reset(seed=episode)
        done = False
        while not done:
            options = np.flatnonzero(seq.unwrapped.action_masks())
            _, _, done, _, info = seq.step(int(rng.choice(options)))
        assert not info["no_result"] and space.is_valid(int(info["arch_index"]))
    edit = gym.make("NasGym/DARTSSupernet-Edit-v0", **TINY, budget=4)
    _, info = edit.reset(seed=0)
    mask = edit.unwrapped.action_masks()
    e, o = np.divmod(np.flatnonzero(mask), space.max_options)
    codes = edit.unwrapped.codes
    assert (codes[e] != 0).all() and (o != 0).all()  # only another op on a kept edge keeps two inputs per node
    _, _, _, _, info = edit.step(int(np.flatnonzero(~mask)[0]))  # a masked edit is a no-op
    assert info["arch_index"] == "-1" and info["val"] == -np.inf


def test_darts_indices_reach_vector_envs_as_decimal_strings():
    """The DARTS space has 8**28 indices, beyond int64: ``info`` gives ``arch_index`` (and
    ``best_index``) as decimal strings, which Gymnasium's vector envs stack into object arrays
    where an int would overflow their int64 array."""
    for family, kwargs in [("Seq", {}), ("Cont", {"budget": 2}), ("Edit", {"budget": 2})]:
        vec = gym.make_vec(f"NasGym/DARTSSupernet-{family}-v0", num_envs=2, vectorization_mode="sync", **TINY, **kwargs)
        space = vec.get_attr("space")[0]
        _, info = vec.reset(seed=0)
        vec.action_space.seed(0)
        while not (info["n_queries"] >= 1).all():
            if family == "Seq":  # follow the masks, so that every cell is valid and queried
                actions = np.array([np.flatnonzero(m)[0] for m in vec.call("action_masks")])
            else:
                actions = vec.action_space.sample()
            _, _, _, _, info = vec.step(actions)
        assert info["arch_index"].dtype == object and info["best_index"].dtype == object
        for i in range(2):
            index = int(info["best_index"][i])
            assert str(index) == info["best_index"][i] and space.is_valid(index)
            assert space.to_string(index) == info["best_arch"][i]
        assert any(int(x) > np.iinfo(np.int64).max for x in info["best_index"])
    # Gymnasium's async vector env stacks infos the same way (its forked workers reuse this process's supernet)
    vec = gym.make_vec("NasGym/DARTSSupernet-Cont-v0", num_envs=2, vectorization_mode="async", **TINY, budget=2)
    vec.reset(seed=0)
    _, reward, _, _, info = vec.step(vec.action_space.sample())
    vec.close()
    assert (reward > 0).all() and info["arch_index"].dtype == object and all(int(x) >= 0 for x in info["arch_index"])


def test_darts_seq_ignoring_the_masks_never_raises():
    """Out-of-range and masked options complete cells with three inputs into a node, which the
    DARTS space has no genotype for: the episode ends with no query and the reward of 0%."""
    env = gym.make("NasGym/DARTSSupernet-Seq-v0", **TINY)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    ended = []
    for _ in range(5):
        env.reset()
        done = False
        while not done:
            _, reward, done, _, info = env.step(int(rng.integers(-3, 10**6)))
        ended.append((reward, info))
    invalid = [(r, i) for r, i in ended if i["no_result"]]
    assert len(invalid) >= 3
    for reward, info in invalid:
        assert reward == 0.0 and info["arch_index"] == "-1" and info["val"] == -np.inf
        assert info["arch"].startswith("normal:2<-0=")  # the decision=option form of a cell with no genotype
    assert env.get_wrapper_attr("log").arch_index == [int(i["arch_index"]) for _, i in ended if not i["no_result"]]
