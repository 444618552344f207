"""Reproduce the thesis's Table 4.1 (CADAM on NAS-Bench-201) and compare every agent under the same budgets.

CADAM-500 and CADAM-1k run with ten seeds (the thesis's seeds 1..10) on NAS-Bench-201 CIFAR-10,
CIFAR-100 and ImageNet16-120; every other agent and baseline runs the same grid through the
common comparison loop (``nas_gym.experiments.run_grid``). The score of a run is the seed-mean
validation accuracy of the architecture it returns, averaged over seeds (mean +- sample std),
which is what the thesis's validation columns report. NAS-Bench-201 serves as an oracle
(thesis 4.2.1): by default a query returns the seed-mean validation accuracy (``--noise mean``);
``--noise seed`` draws one training seed per query instead, as a retraining would, so that the
search also has to see through seed noise. Each agent runs on the env its paper
defines: CADAM on Cont with the top-K state and reward 100^acc, DDPG (DDAS) on Cont with the
previous-architecture state, the sequential RL agents on Seq, the rest on Cont with the
validation reward.

    python scripts/reproduce_cadam_table41.py                 # the full grid
    python scripts/reproduce_cadam_table41.py --quick         # a smoke run: 2 seeds, 100 queries, CIFAR-10
    python scripts/reproduce_cadam_table41.py --agents cadam  # the thesis's rows only

Results go to ``--out`` (one folder per noise, dataset and budget; resumable: finished runs are kept);
the combined table is printed and written to ``OUT/table41-<noise>.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Tiny networks and table lookups: one thread per worker process is fastest and keeps the
# workers from competing for cores (spawned workers inherit this before torch is imported).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from nas_gym.agents import agent_names  # noqa: E402
from nas_gym.experiments import run_grid, summarise  # noqa: E402

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
BUDGETS = (500, 1000)
SEEDS = tuple(range(1, 11))  # "The seeds for NAS-Bench-201 trials were in [1, 10]" (thesis 4.4.3)

# Table 4.1, validation accuracy (%), mean +- std over ten seeds.
THESIS = {
    ("cifar10", 500): (91.36, 0.19), ("cifar100", 500): (72.47, 0.74), ("ImageNet16-120", 500): (46.23, 0.28),
    ("cifar10", 1000): (91.47, 0.15), ("cifar100", 1000): (73.02, 0.52), ("ImageNet16-120", 1000): (46.58, 0.08),
}  # fmt: skip

# Env keyword arguments of the agents whose paper defines their env beyond the family; the
# comparison loop picks each agent's family itself.
ENV_KWARGS = {"cadam": {"reward": "cadam"}, "ddpg": {"obs": "previous"}}
ORDER = (
    "cadam", "ddpg", "advantagenas", "advantagenas-reinforce", "reinforce", "reinforce-cat", "qlearning", "ppo",
    "rs", "re", "ls", "tpe", "bo",
)  # fmt: skip


def grid_agents(parser: argparse.ArgumentParser, requested: list[str] | None) -> list[str]:
    """``requested`` (a parser error names any that is not registered), else every registered agent of ORDER."""
    registered = set(agent_names())
    agents = requested or [a for a in ORDER if a in registered]
    unknown = [a for a in agents if a not in registered]
    if unknown:
        parser.error(f"unknown agents {unknown}; registered: {sorted(registered)}")
    return agents


def run_cell(
    dataset: str, budget: int, agents: list[str], seeds: list[int], out: Path, workers: int, noise: str
) -> dict:
    """Run one (dataset, budget) grid; its summary rows by agent (only the runs asked for)."""
    folder = out / noise / f"{dataset}-{budget}"
    paths = run_grid(
        "NB201-Cont-v0", agents, seeds, budget, folder, workers=workers,
        env_kwargs={"dataset": dataset, "noise": noise},
        agent_env_kwargs={a: ENV_KWARGS[a] for a in agents if a in ENV_KWARGS}, progress=True,
    )  # fmt: skip
    return {r["agent"]: r for r in summarise(folder, paths=paths)}


def cell(row: dict | None) -> str:
    if row is None or row["best_val_mean"] is None:
        return "-"
    text = f"{row['best_val_mean']:.2f} ± {row['best_val_std']:.2f}"
    return text + (f" ({row['failed']} failed)" if row["failed"] else "")


def table(results: dict, datasets: list[str], budgets: list[int], agents: list[str]) -> str:
    """Markdown: an agent per row, a dataset per column, one block per budget, the thesis beside CADAM."""
    lines = []
    for budget in budgets:
        lines += [f"\n**{budget} queries** (validation accuracy %, mean ± std over seeds)\n"]
        lines += ["| agent | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]
        thesis = [THESIS.get((d, budget)) for d in datasets]
        if "cadam" in agents and any(t is not None for t in thesis):
            lines.append(
                f"| CADAM-{budget} (thesis) | "
                + " | ".join("-" if t is None else f"{t[0]:.2f} ± {t[1]:.2f}" for t in thesis) + " |"
            )  # fmt: skip
        for a in agents:
            lines.append(f"| {a} | " + " | ".join(cell(results[(d, budget)].get(a)) for d in datasets) + " |")
    return "\n".join(lines) + "\n"


def verdicts(results: dict, datasets: list[str], budgets: list[int]) -> list[str]:
    """For each thesis cell: our CADAM mean, its distance to the thesis mean in thesis stds."""
    out = []
    for budget in budgets:
        for d in datasets:
            row, ref = results[(d, budget)].get("cadam"), THESIS.get((d, budget))
            if row is None or ref is None or row["best_val_mean"] is None:
                continue
            dist = abs(row["best_val_mean"] - ref[0]) / ref[1]
            ok = "within" if dist <= 1.0 else "outside"
            out.append(f"CADAM-{budget} {d}: ours {row['best_val_mean']:.2f}, thesis {ref[0]:.2f} ± {ref[1]:.2f}: "
                       f"{dist:.2f} thesis std away ({ok} one std)")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: CIFAR-10, 2 seeds, 100 queries")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--out", type=Path, default=Path("runs/table41"), help="results folder (resumable)")
    p.add_argument("--agents", nargs="+", help=f"agents to run (default: every registered one of {list(ORDER)})")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, help="default: all three")
    p.add_argument("--budgets", nargs="+", type=int, help="query budgets (default: 500 1000)")
    p.add_argument("--seeds", type=int, help="number of seeds, from 1 (default: 10)")
    p.add_argument("--noise", choices=("mean", "seed"), default="mean",
                   help="a query returns the seed-mean validation (the thesis's oracle) or one seed's")  # fmt: skip
    args = p.parse_args(argv)

    agents = grid_agents(p, args.agents)
    datasets = args.datasets or (["cifar10"] if args.quick else list(DATASETS))
    budgets = args.budgets or ([100] if args.quick else list(BUDGETS))
    seeds = list(range(1, 1 + (args.seeds or (2 if args.quick else len(SEEDS)))))

    start = time.perf_counter()
    results = {}
    for budget in budgets:
        for d in datasets:
            t0 = time.perf_counter()
            results[(d, budget)] = run_cell(d, budget, agents, seeds, args.out, args.workers, args.noise)
            print(f"{d} {budget}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    wall = time.perf_counter() - start

    text = table(results, datasets, budgets, agents)
    notes = verdicts(results, datasets, budgets)
    footer = (
        f"\nnoise={args.noise}, {len(seeds)} seeds, {args.workers} workers, {wall:.0f} s wall-clock "
        "(finished runs found in the folder are not rerun).\n"
    )
    report = text + ("\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else "") + footer
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"table41-{args.noise}.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
