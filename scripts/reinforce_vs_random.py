"""Paired comparison of ``reinforce-cat`` with random search on NAS-Bench-201 (docs/agents.md).

    python scripts/reinforce_vs_random.py --budget 200 --datasets cifar10 cifar100 ImageNet16-120
    python scripts/reinforce_vs_random.py --budget 20000s --datasets cifar10      # a time budget
    python scripts/reinforce_vs_random.py --budget 200 --lr 0.1

For each dataset: the mean ± std over seeds of the seed-mean validation of the returned
architecture for both agents, the mean of the per-seed differences with its standard error,
a Wilcoxon signed-rank p-value, and the queries a search made. Runs go to ``--out`` (resumable).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from nas_gym.experiments import run_grid  # noqa: E402
from nas_gym.experiments.results import read_run  # noqa: E402

AGENTS = ("rs", "reinforce-cat")


def compare(dataset: str, budget: str, seeds: int, lr: float | None, noise: str, out: Path, workers: int) -> str:
    """One line: both agents' scores and their paired difference on ``dataset``."""
    folder = out / f"{dataset}-{noise}-{budget}" / ("default" if lr is None else f"lr{lr:g}")
    paths = run_grid(
        "NB201-Cont-v0", list(AGENTS), seeds, budget, folder, workers=workers,
        env_kwargs={"dataset": dataset, "noise": noise},
        agent_kwargs={"reinforce-cat": {"lr": lr}} if lr is not None else None,
    )  # fmt: skip
    runs = [read_run(p) for p in paths]
    scores = {a: np.array([r["result"]["best_val"] for r in runs if r["spec"]["agent"] == a]) for a in AGENTS}
    queries = np.mean([len(r["log"]["val"]) for r in runs])
    diff = scores["reinforce-cat"] - scores["rs"]
    p = stats.wilcoxon(scores["reinforce-cat"], scores["rs"]).pvalue
    rs, rf = scores["rs"], scores["reinforce-cat"]
    return (
        f"{dataset:<15} budget {budget:>8} ({queries:.1f} queries) lr {'default' if lr is None else lr}: "
        f"rs {rs.mean():.2f} ± {rs.std(ddof=1):.2f}, reinforce-cat {rf.mean():.2f} ± {rf.std(ddof=1):.2f}, "
        f"difference {diff.mean():+.3f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.3f} (Wilcoxon p = {p:.3g})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", default="200", help="queries (200) or simulated seconds (20000s)")
    p.add_argument("--datasets", nargs="+", default=["cifar10"], choices=["cifar10", "cifar100", "ImageNet16-120"])
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--lr", type=float, default=None, help="reinforce-cat's learning rate (default: the agent's)")
    p.add_argument("--noise", choices=("seed", "mean"), default="seed")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", type=Path, default=Path("runs/reinforce_vs_random"))
    args = p.parse_args(argv)
    for dataset in args.datasets:
        print(compare(dataset, args.budget, args.seeds, args.lr, args.noise, args.out, args.workers), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
