"""Wall-clock of ``nas-gym demo`` with one worker process against two, measured in one run.

    python scripts/bench_workers.py [--rounds 10] [--workers 2] [--budget 200] [--seeds 10]

Each round runs the whole command (a fresh Python process: imports, table loading, the
summary and its plots included, as a user runs it) with ``--workers 1`` and then with
``--workers N``, alternately, so drifts in the machine's speed hit both alike. It prints both
medians, the speed-up (median of one over median of the other) and the range of the rounds'
ratios. The results go to a temporary folder. Run it on an otherwise idle machine: other jobs
lengthen wall-clock time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def demo_wall_s(workers: int, out: Path, budget: int, seeds: int) -> float:
    """Seconds of wall-clock time of one ``nas-gym demo`` process."""
    cmd = [sys.executable, "-m", "nas_gym.cli", "demo", "--workers", str(workers), "--budget", str(budget),
           "--seeds", str(seeds), "--out", str(out), "--no-progress"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def report(one: list[float], many: list[float], workers: int) -> str:
    """Medians of both settings, the speed-up, and the range of the per-round ratios."""
    ratios = [a / b for a, b in zip(one, many)]
    m1, mn = statistics.median(one), statistics.median(many)
    return (
        f"--workers 1: median {m1:.2f} s wall-clock over {len(one)} runs\n"
        f"--workers {workers}: median {mn:.2f} s wall-clock over {len(many)} runs\n"
        f"speed-up: {m1 / mn:.2f}x (rounds' ratios {min(ratios):.2f}x-{max(ratios):.2f}x)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=10, help="runs of each setting (default: 10)")
    p.add_argument("--workers", type=int, default=2, help="worker processes compared with one (default: 2)")
    p.add_argument("--budget", type=int, default=200, help="queries per search (default: the demo's 200)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per agent (default: the demo's 10)")
    args = p.parse_args(argv)
    for name in ("rounds", "workers", "budget", "seeds"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    one, many = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            one.append(demo_wall_s(1, Path(tmp) / "w1", args.budget, args.seeds))
            many.append(demo_wall_s(args.workers, Path(tmp) / "wn", args.budget, args.seeds))
            print(f"round {r + 1}/{args.rounds}: {one[-1]:.2f} s vs {many[-1]:.2f} s", flush=True)
    print(report(one, many, args.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
