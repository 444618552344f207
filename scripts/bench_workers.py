"""Wall-clock of one worker process against several, measured in one run: the table demo, or supernet queries.

    python scripts/bench_workers.py [--rounds 10] [--workers 2] [--budget 200] [--seeds 10]
    python scripts/bench_workers.py --supernet [--rounds 3] [--workers 2] [--budget 10] [--seeds 2]

Default: each round runs the whole ``nas-gym demo`` command (a fresh Python process: imports,
table loading, the summary and its plots included, as a user runs it) with ``--workers 1`` and
then with ``--workers N``, alternately, so drifts in the machine's speed hit both alike.

``--supernet``: frozen queries of a small NB201 supernet (``--data``, ``--size``, pretrained for
one epoch and cached before anything is timed), two ways:

- the whole ``nas-gym compare --agents rs`` command with ``--workers 1`` and ``--workers N``
  (random search, ``--seeds`` searches of ``--budget`` queries; spawned workers, one torch thread
  each, load the cached checkpoint);
- a vector env of N supernet envs, stepped ``--steps`` times in this process
  (``vectorization_mode="sync"``) and in N spawned processes (``"async"`` with
  ``vector_kwargs={"context": "spawn"}``), timed after both were built; the processes' start-up
  (spawn, imports, loading the checkpoint) is printed on its own.

Each prints both medians, the speed-up (median of one over median of the other) and the range
of the rounds' ratios. Results go to a temporary folder. Run it on an otherwise idle machine:
other jobs lengthen wall-clock time, and the speed-up cannot exceed the free cores.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SUPERNET_ID = "NasGym/NB201Supernet-Cont-v0"


def command_wall_s(args: list[str]) -> float:
    """Seconds of wall-clock time of one ``nas-gym`` process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nas_gym.cli", *args, "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def demo_wall_s(workers: int, out: Path, budget: int, seeds: int) -> float:
    """Seconds of wall-clock time of one ``nas-gym demo`` process."""
    return command_wall_s(
        ["demo", "--workers", str(workers), "--budget", str(budget), "--seeds", str(seeds), "--out", str(out)]
    )


def report(one: list[float], many: list[float], workers: int, what: tuple[str, str] | None = None) -> str:
    """Medians of both settings, the speed-up, and the range of the per-round ratios."""
    first, second = what or ("--workers 1", f"--workers {workers}")
    ratios = [a / b for a, b in zip(one, many)]
    m1, mn = statistics.median(one), statistics.median(many)
    return (
        f"{first}: median {m1:.2f} s wall-clock over {len(one)} runs\n"
        f"{second}: median {mn:.2f} s wall-clock over {len(many)} runs\n"
        f"speed-up: {m1 / mn:.2f}x (rounds' ratios {min(ratios):.2f}x-{max(ratios):.2f}x)"
    )


def supernet_kwargs(data: str, size: str) -> dict[str, Any]:
    """The env keywords of every supernet measurement: one pretraining epoch, measurements not cached."""
    return {"data": data, "size": size, "epochs": 1, "device": "cpu", "cache_size": 0, "progress": False}


def steps_wall_s(vec: Any, actions: Any) -> float:
    """Seconds to step ``vec`` through ``actions`` (one row per step)."""
    start = time.perf_counter()
    for a in actions:
        vec.step(a)
    return time.perf_counter() - start


def bench_supernet(args: argparse.Namespace, tmp: Path) -> None:
    import gymnasium as gym
    import numpy as np
    import torch

    import nas_gym  # noqa: F401  (registers the ids)

    torch.set_num_threads(1)  # the sync vector env steps here on one thread, as each worker does
    kwargs = supernet_kwargs(args.data, args.size)
    t0 = time.perf_counter()
    gym.make(SUPERNET_ID, **kwargs).close()  # pretrains and caches, or loads: nothing timed pays for it
    print(f"supernet NB201 {args.size} on {args.data}: ready in {time.perf_counter() - t0:.1f} s", flush=True)

    env_kwargs = ",".join(f"{k}={v}" for k, v in kwargs.items() if k != "progress")
    grid = [
        "compare",
        "--env",
        SUPERNET_ID.split("/")[1],
        "--agents",
        "rs",
        "--seeds",
        str(args.seeds),
        "--budget",
        str(args.budget),
        "--env-kwargs",
        env_kwargs,
    ]
    one, many = [], []
    for r in range(args.rounds):
        one.append(command_wall_s([*grid, "--workers", "1", "--out", str(tmp / f"w1_{r}")]))
        many.append(command_wall_s([*grid, "--workers", str(args.workers), "--out", str(tmp / f"wn_{r}")]))
        print(f"compare, round {r + 1}/{args.rounds}: {one[-1]:.2f} s vs {many[-1]:.2f} s", flush=True)
    compare_text = report(one, many, args.workers)

    n = args.workers
    sync = gym.make_vec(SUPERNET_ID, num_envs=n, vectorization_mode="sync", **kwargs)
    t0 = time.perf_counter()
    spawned = gym.make_vec(
        SUPERNET_ID, num_envs=n, vectorization_mode="async", vector_kwargs={"context": "spawn"}, **kwargs
    )
    spawned.reset(seed=0)
    start_s = time.perf_counter() - t0
    sync.reset(seed=0)
    rng = np.random.default_rng(0)
    in_one, in_n = [], []
    try:
        for r in range(args.rounds):
            actions = rng.uniform(-1, 1, (args.steps, *sync.action_space.shape)).astype(np.float32)
            in_one.append(steps_wall_s(sync, actions))
            in_n.append(steps_wall_s(spawned, actions))
            print(f"vector env, round {r + 1}/{args.rounds}: {in_one[-1]:.2f} s vs {in_n[-1]:.2f} s", flush=True)
    finally:
        spawned.close()
        sync.close()
    print(f"\nnas-gym compare --agents rs, {args.seeds} seeds x {args.budget} queries:\n{compare_text}")
    print(f"\n{n} supernet envs, {args.steps} steps ({n * args.steps} queries):")
    print(report(in_one, in_n, n, what=("sync (this process)", f"async ({n} spawned processes)")))
    print(f"async start-up (spawn, imports, loading the checkpoint, reset): {start_s:.1f} s, once")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--supernet", action="store_true", help="frozen supernet queries instead of the table demo")
    p.add_argument("--rounds", type=int, help="runs of each setting (default: 10; --supernet 3)")
    p.add_argument("--workers", type=int, default=2, help="worker processes compared with one (default: 2)")
    p.add_argument("--budget", type=int, help="queries per search (default: the demo's 200; --supernet 10)")
    p.add_argument("--seeds", type=int, help="seeds per agent (default: the demo's 10; --supernet 2)")
    p.add_argument("--steps", type=int, default=5, help="--supernet: vector env steps per round (default: 5)")
    p.add_argument("--data", default="mnist", help="--supernet: image set (default: mnist)")
    p.add_argument("--size", default="tiny", help="--supernet: supernet preset (default: tiny)")
    args = p.parse_args(argv)
    defaults = {"rounds": 3, "budget": 10, "seeds": 2} if args.supernet else {"rounds": 10, "budget": 200, "seeds": 10}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("rounds", "workers", "budget", "seeds", "steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.supernet:
            bench_supernet(args, Path(tmp))
            return 0
        one, many = [], []
        for r in range(args.rounds):
            one.append(demo_wall_s(1, Path(tmp) / "w1", args.budget, args.seeds))
            many.append(demo_wall_s(args.workers, Path(tmp) / "wn", args.budget, args.seeds))
            print(f"round {r + 1}/{args.rounds}: {one[-1]:.2f} s vs {many[-1]:.2f} s", flush=True)
    print(report(one, many, args.workers))
    return 0


if __name__ == "__main__":  # spawned workers import this file again
    raise SystemExit(main())
