"""The search log in ``info``: stable keys, regret on seed means (opted in), validation metrics only."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from toy_tables import held_out_column, toy_benchmark

from nas_gym.agents import search_log
from nas_gym.envs.registration import FAMILIES

PER_QUERY = {"arch", "arch_index", "val", "cost_s", "no_result"}
SEARCH_WIDE = {"n_queries", "sim_time_s", "best_val", "best_arch", "best_index"}
MASKED = {"Seq": {"action_mask"}, "Cont": set(), "Edit": {"action_mask"}}  # the family's own per-step entry


def run_random(env: gym.Env, steps: int, seed: int = 0) -> list[tuple[float, dict]]:
    """(reward, info) of ``steps`` random actions, resetting at episode ends (reset infos too)."""
    _, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [(0.0, info)]
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out.append((reward, info))
        if terminated or truncated:
            out.append((0.0, env.reset()[1]))
    return out


@pytest.mark.parametrize("family", list(FAMILIES))
def test_info_keys_and_search_wide_totals(family, nb201_c10):
    env = gym.make(f"NasGym/NB201-{family}-v0", budget=5) if family != "Seq" else gym.make("NasGym/NB201-Seq-v0")
    steps = run_random(env, 60)
    queries = [info for _, info in steps if info["arch_index"] >= 0]
    keys = PER_QUERY | SEARCH_WIDE | MASKED[family]
    assert queries and all(set(info) == keys for _, info in steps)  # one key set throughout
    last = queries[-1]
    assert last["n_queries"] == len(queries) == len(search_log(env))
    assert last["sim_time_s"] == pytest.approx(sum(q["cost_s"] for q in queries))
    assert last["best_val"] == max(q["val"] for q in queries)
    best = max(queries, key=lambda q: q["val"])
    assert last["best_arch"] == best["arch"] == nb201_c10.space.to_string(best["arch_index"])
    assert last["best_index"] == best["arch_index"] == search_log(env).best_index


def test_regret_is_measured_on_the_seed_mean_of_the_best_architecture(nb201_c10):
    optimum = nb201_c10.optimum()[1]
    env = gym.make("NasGym/NB201-Cont-v0", budget=10_000, oracle_info=True)
    env.reset(seed=0)
    best_index = nb201_c10.optimum()[0]
    lucky = False
    for _ in range(300):  # keep querying the optimum: some training seeds beat its seed mean
        _, _, _, _, info = env.step(env.unwrapped.encode(nb201_c10.space.codes(best_index)))
        lucky |= info["best_val"] > optimum
        assert info["best_arch"] == nb201_c10.space.to_string(best_index)
        assert info["regret"] == 0.0
    assert lucky  # the old regret (optimum - best observed val) would have gone negative here
    env = gym.make("NasGym/NB201-Seq-v0", oracle_info=True)
    for _, info in run_random(env, 300):
        if info["n_queries"]:
            row = nb201_c10.row(info["best_arch"])
            assert info["regret"] == pytest.approx(optimum - nb201_c10.val_mean[row]) and info["regret"] >= 0


def test_search_log_spans_episodes_until_cleared():
    env = gym.make("NasGym/NB201-Seq-v0")
    run_random(env, 6 * 4)
    assert len(search_log(env)) == 4
    env.get_wrapper_attr("clear")()
    assert len(search_log(env)) == 0
    _, info = env.reset()
    assert info["n_queries"] == 0 and info["best_val"] == -np.inf and info["best_arch"] == ""


class _NoOptimum:
    """A backend without a known optimum (a supernet, say): no regret in info."""

    def __init__(self, table):
        self.space, self._table = table.space, table

    def query(self, index, rng=None, noise="seed"):
        return self._table.query(index, rng=rng, noise=noise)


def test_no_regret_without_an_optimum():
    env = gym.make("NasGym/NB201-Edit-v0", benchmark=_NoOptimum(toy_benchmark()), budget=3, oracle_info=True)
    infos = [info for _, info in run_random(env, 10)]
    assert all("regret" not in info for info in infos) and any(info["n_queries"] > 0 for info in infos)
    with pytest.raises(ValueError, match="optimum"):
        gym.make("NasGym/NB201-Edit-v0", benchmark=_NoOptimum(toy_benchmark()), reward="regret")


def _numbers(info: dict) -> list[float]:
    return [float(v) for v in info.values() if isinstance(v, (int, float, np.number))]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_test_metric_reaches_info_or_reward(family):
    """Two tables that differ only in their test column give identical searches, and no test value
    appears anywhere in what the env returns."""
    kwargs = {} if family == "Seq" else {"budget": 7}
    runs = []
    for test in (None, np.full(18, -1.0)):
        env = gym.make(f"NasGym/NB201-{family}-v0", benchmark=toy_benchmark(test=test), reward="cadam", **kwargs)
        runs.append(
            [
                (r, {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in info.items()})
                for r, info in run_random(env, 200, seed=4)
            ]
        )
    assert runs[0] == runs[1]
    test = held_out_column(18)
    for reward, info in runs[0]:
        for x in [reward, *_numbers(info)]:
            assert not np.isclose(test, x, rtol=0, atol=1e-9).any() and not np.isclose(test / 100, x).any()


def test_env_names_its_reward():
    for name in ("val", "cadam", "regret"):
        assert gym.make("NasGym/NB201-Seq-v0", reward=name).unwrapped.reward_name == name


@pytest.mark.parametrize("family", list(FAMILIES))
def test_by_default_a_search_sees_only_what_retraining_would_show(family, nb201_c10):
    """Under ``noise="seed"`` every number in ``info`` is an observed value or a total of observed
    values: nothing tells the noise-free seed mean of an architecture or the table's optimum."""
    kwargs = {} if family == "Seq" else {"budget": 9}
    env = gym.make(f"NasGym/NB201-{family}-v0", **kwargs)
    steps = run_random(env, 120, seed=3)
    observed: list[float] = []
    for _, info in steps:
        assert set(info) <= PER_QUERY | SEARCH_WIDE | MASKED[family], set(info) - (PER_QUERY | SEARCH_WIDE)
        if info["arch_index"] >= 0:
            row = info["arch_index"]
            assert info["val"] in nb201_c10.val[row]  # one training seed's value, as a retraining gives
            observed.append(info["val"])
            assert info["best_val"] == max(observed)
    assert observed
    best = search_log(env).best_index  # the log keeps the oracle figure for evaluation
    assert env.get_wrapper_attr("regret") == pytest.approx(nb201_c10.optimum()[1] - nb201_c10.val_mean[best])


def test_oracle_info_is_an_explicit_boolean_opt_in():
    env = gym.make("NasGym/NB201-Cont-v0", budget=5, oracle_info=True)
    assert all("regret" in info for _, info in run_random(env, 4)[1:])
    with pytest.raises(ValueError, match="oracle_info.*'yes'"):
        gym.make("NasGym/NB201-Cont-v0", oracle_info="yes")
