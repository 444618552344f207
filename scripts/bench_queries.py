"""Query-speed benchmark of the NAS-Bench-201 CIFAR-10 table, on one core.

Prints the first load (fresh cache folder: conversion from the package's pickle), a later
load (memory-mapped cache), single queries per second and batched architectures per second,
each beside the same work done by bare numpy on the same arrays in the same run, with the
ratio ours / bare. Throughputs are the best of several repeats. Targets: first load <= 2 s,
later load <= 0.2 s, >= 200k single queries/s, >= 10M batched archs/s.

    python scripts/bench_queries.py [--batch 100000] [--queries 200000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: before numpy starts its thread pools

import argparse  # noqa: E402
import pickle  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

TARGETS = {"first load": 2.0, "later load": 0.2, "single": 200_000, "batch": 10_000_000}


def best_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """Fastest of ``repeat`` timed calls of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=100_000, help="architectures per batched query")
    ap.add_argument("--queries", type=int, default=200_000, help="single queries per timing")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    os.environ["NAS_GYM_CACHE"] = tempfile.mkdtemp(prefix="nas-gym-bench-")
    t = time.perf_counter()
    import nas_gym
    from nas_gym.benchmarks import nb201
    from nas_gym.benchmarks.cache import cache_root

    import_s = time.perf_counter() - t

    t = time.perf_counter()
    bench = nas_gym.load_benchmark("nb201", dataset="cifar10")
    first = time.perf_counter() - t
    src = nb201.source_file("cifar10")
    bare_first = best_time(lambda: pickle.loads(src.read_bytes()), 3)
    later = best_time(lambda: nas_gym.load_benchmark("nb201", dataset="cifar10"))
    entry = cache_root() / "nb201-cifar10"
    bare_later = best_time(lambda: [np.load(p, mmap_mode="r") for p in sorted(entry.glob("*.npy"))])

    rng = np.random.default_rng(0)
    bench.query(0, rng=rng)  # builds the in-memory query structures once
    n = bench.space.size
    idx = rng.integers(0, n, args.queries).tolist()
    val, cost = np.asarray(bench.val, dtype=np.float64).copy(), np.asarray(bench.cost_s).copy()
    query = bench.query

    def ours_single() -> None:
        for i in idx:
            query(i, rng=rng)

    def bare_single() -> None:
        for i in idx:
            val[i, 0], cost[i]

    def bare_single_draw() -> None:
        for i in idx:
            val[i, int(rng.random() * 2)], cost[i]

    single = args.queries / best_time(ours_single)
    bare = args.queries / best_time(bare_single)
    bare_draw = args.queries / best_time(bare_single_draw)

    bidx = rng.integers(0, n, args.batch)
    batch = args.batch / best_time(lambda: bench.query_batch(bidx, rng=rng), 20)
    bare_batch = args.batch / best_time(lambda: (val[bidx, 0], cost[bidx]), 20)

    print(f"NAS-Bench-201 cifar10, {len(bench):,} architectures; numpy {np.__version__}; one core")
    print(f"{'import nas_gym':<31} {import_s:13.3f} s")
    rows = [
        (
            "first load (fresh cache)",
            f"{first:8.3f} s",
            f"pickle.load of the source {bare_first:.3f} s",
            first / bare_first,
            first <= TARGETS["first load"],
        ),
        (
            "later load (cached)",
            f"{later * 1e3:8.2f} ms",
            f"np.load(mmap) of the .npy files {bare_later * 1e3:.2f} ms",
            later / bare_later,
            later <= TARGETS["later load"],
        ),
        (
            "single query, seed noise",
            f"{single:10,.0f} /s",
            f"bare val[i, 0], cost[i] loop {bare:,.0f} /s",
            single / bare,
            single >= TARGETS["single"],
        ),
        ("", "", f"bare loop + one rng.random() {bare_draw:,.0f} /s", single / bare_draw, None),
        (
            f"batched query ({args.batch:,})",
            f"{batch:10,.0f} /s",
            f"bare val[idx, 0], cost[idx] {bare_batch:,.0f} /s",
            batch / bare_batch,
            batch >= TARGETS["batch"],
        ),
    ]
    for name, ours, bare_text, ratio, ok in rows:
        verdict = "" if ok is None else ("target met" if ok else "TARGET MISSED")
        print(f"{name:<31} {ours:>15}   {bare_text:<50} ratio {ratio:6.2f}  {verdict}")


if __name__ == "__main__":
    main()
