"""Queries per second of the registered envs, against a bare query loop measured in the same run.

    python scripts/bench_envs.py [--benchmark NB201] [--dataset cifar10] [--steps 50000] [--num-envs 64]

Single envs go through ``gym.make`` with its default wrappers (env checker, order enforcing,
SearchLog), driven by pre-drawn random actions (for Edit, one in five is a no-op edit that
makes no query). Each figure is the best of five rounds. The bare loop is
``backend.query(index, rng)`` over random indices: the cost of the table lookup alone. Single
envs are compared per query (a Seq query takes one step per decision, an Edit no-op takes a step
and no query): ``Nx bare`` is the time of one query through the env over the time of one bare
query, so 1.0 is the lookup alone and larger is slower; Seq is also shown per step.

The ``wrapper floor`` row is an env that does no work at all (it returns a copy of one
observation, reward 0 and an empty ``info``) inside the same wrappers: what Gymnasium's ``gym.make`` stack and
the search log cost per step before an env does anything. A Seq query takes six such steps on
NAS-Bench-201, so its per-query figure cannot drop below six times the floor plus one lookup.
The vector envs come from ``gym.make_vec`` and are compared per env-step, beside Gymnasium's
SyncVectorEnv over the same single envs (``vectorization_mode="sync"``), which returns the same
observations, rewards and ``info``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker

import nas_gym
from nas_gym.envs.registration import BENCHMARKS, FAMILIES
from nas_gym.envs.search_log import SearchLog

ROUNDS = 5


def rate(n: int | Callable[[], int], run: Callable[[], None]) -> float:
    """Items per second of ``run``, best of ``ROUNDS``: other load only slows a round.

    ``n`` is the items of one round, or a function returning how many items the round just run made.
    """
    best = 0.0
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
        best = max(best, (n() if callable(n) else n) / dt)
    return best


def bare_queries(backend, n: int, rng: np.random.Generator) -> float:
    idx = [int(i) for i in backend.space.indices(backend.space.sample(rng, n))]

    def run() -> None:
        for i in idx:
            backend.query(i, rng=rng)

    return rate(n, run)


class NullEnv(gym.Env):
    """An env that does nothing: a copy of one observation (Gymnasium asks for new data on
    every call), reward 0, never done (the wrapper floor)."""

    observation_space = gym.spaces.Box(0.0, 1.0, (36,), dtype=np.float32)
    action_space = gym.spaces.Discrete(5)

    def __init__(self) -> None:
        self._obs = np.zeros(36, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._obs.copy(), {}

    def step(self, action):
        return self._obs.copy(), 0.0, False, False, {}


def wrapper_floor(n: int) -> float:
    """Steps per second of :class:`NullEnv` inside the wrappers ``gym.make`` gives the NasGym envs."""
    env = OrderEnforcing(PassiveEnvChecker(SearchLog(NullEnv())))
    env.reset(seed=0)

    def run() -> None:
        for _ in range(n):
            env.step(0)

    return rate(n, run)


def single_env(env_id: str, n: int, **kwargs) -> tuple[float, float]:
    """Queries and steps per second of ``n`` random steps (queries counted on the env's search log)."""
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(min(n, 4096))]
    actions = [actions[i % len(actions)] for i in range(n)]

    log = env.unwrapped
    seen = [0]

    def queries() -> int:
        made = len(log.search_log) - seen[0]
        seen[0] = len(log.search_log)
        return made

    def run() -> None:
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()

    return rate(queries, run), rate(n, run)


def vector_env(env_id: str, num_envs: int, n_steps: int, **kwargs) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(64)]

    def run() -> None:
        for i in range(n_steps):
            envs.step(actions[i % len(actions)])

    return rate(n_steps * num_envs, run)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", default="NB201", choices=list(BENCHMARKS))
    p.add_argument("--dataset", default=None)
    p.add_argument("--path", default=None, help="benchmark file, for benchmarks read from one (Macro)")
    p.add_argument("--steps", type=int, default=20_000, help="steps per round of a single env (default: 20000)")
    p.add_argument("--num-envs", type=int, default=64)
    args = p.parse_args(argv)
    kwargs = {k: v for k, v in (("dataset", args.dataset), ("path", args.path)) if v is not None}
    rng = np.random.default_rng(0)

    ids = {f: f"NasGym/{args.benchmark}-{f}-v0" for f in FAMILIES}
    env = gym.make(ids["Seq"], **kwargs)
    backend = env.unwrapped.backend
    print(f"{args.benchmark} ({backend.dataset}), nas-gym {nas_gym.__version__}")
    bare = bare_queries(backend, args.steps, rng)
    print(f"{'bare query loop':<28} {bare:>12,.0f} queries/s")
    floor = wrapper_floor(args.steps)
    print(f"{'wrapper floor (no-op env)':<28} {floor:>12,.0f} steps/s   {bare / floor:5.2f}x bare (time per step)")
    for family, env_id in ids.items():
        r, steps = single_env(env_id, args.steps, **kwargs)
        print(f"{family + ' (gym.make)':<28} {r:>12,.0f} queries/s {bare / r:5.2f}x bare (time per query)")
        if family == "Seq":
            print(
                f"{'Seq (gym.make), per step':<28} {steps:>12,.0f} steps/s   {bare / steps:5.2f}x bare (time per step)"
            )
    for family, (_, vector_entry) in FAMILIES.items():
        if vector_entry is None:
            continue
        n_steps = max(1, args.steps // args.num_envs) * 4
        r = vector_env(ids[family], args.num_envs, n_steps, **kwargs)
        label = f"{family} (make_vec, {args.num_envs} envs)"
        print(f"{label:<28} {r:>12,.0f} env-steps/s {bare / r:5.2f}x bare (time per env-step)")
        r = vector_env(ids[family], args.num_envs, max(1, n_steps // 8), vectorization_mode="sync", **kwargs)
        print(f"{family + ' (sync, same info)':<28} {r:>12,.0f} env-steps/s {bare / r:5.2f}x bare (time per env-step)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
