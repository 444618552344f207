"""CPU time of the agents on the thesis grid (Table 4.1: every agent x NB201 datasets x seeds x budgets).

    python scripts/bench_grid.py                      # 1 seed per cell, extrapolated to the 10-seed grid
    python scripts/bench_grid.py --seeds 10           # the whole grid, measured
    python scripts/bench_grid.py --agents cadam bo --compare-ref main

Every search runs in this one process, one after the other, single-threaded (as the grid's
workers run them), on the env the grid gives the agent. Only ``agent.search`` is timed, with
``time.process_time`` (CPU seconds: other jobs on the machine do not inflate it); env steps made
during the search count, building the env does not. An untimed short search per agent first
pays one-time costs (imports, first torch calls). For each agent the script prints CPU-s per
1,000 queries and its share of the grid: the measured cells' mean CPU-s per search times the
grid's seeds, summed over datasets and budgets. The total is compared with a 600 CPU-s target.

``--compare-ref REF`` also measures the ``nas_gym`` of git revision REF (checked out into a
temporary folder, run in a child process with the same arguments) and prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reproduce_cadam_table41 import BUDGETS, DATASETS, ENV_KWARGS, ORDER, SEEDS, grid_agents  # noqa: E402

from nas_gym.agents import Budget, make  # noqa: E402
from nas_gym.experiments.runner import RunSpec, make_env, single_threaded  # noqa: E402

TARGET_CPU_S = 600.0
WARMUP_QUERIES = 30


def search_cpu_s(agent_name: str, dataset: str, budget: int, seed: int) -> float:
    """CPU seconds of one search of ``agent_name`` on the grid's env of ``dataset``."""
    spec = RunSpec("NB201-Cont-v0", agent_name, seed, str(budget),
                   {"dataset": dataset, "noise": "mean", **ENV_KWARGS.get(agent_name, {})})  # fmt: skip
    agent = make(agent_name)
    env = make_env(spec, agent)
    try:
        start = time.process_time()
        result = agent.search(env, Budget(queries=budget), seed)
        cpu = time.process_time() - start
    finally:
        env.close()
    if result.n_queries != budget:
        raise RuntimeError(f"{agent_name} made {result.n_queries} queries, not {budget}")
    return cpu


def measure(agents: list[str], datasets: list[str], budgets: list[int], seeds: list[int]) -> dict[str, dict]:
    """Per agent: CPU-s by (dataset, budget) cell (a list over seeds)."""
    out: dict[str, dict] = {}
    with single_threaded(torch_too=True):
        for a in agents:
            search_cpu_s(a, datasets[0], WARMUP_QUERIES, seed=0)
            cells = {}
            for d in datasets:
                for b in budgets:
                    cells[f"{d}/{b}"] = [search_cpu_s(a, d, b, s) for s in seeds]
            out[a] = cells
            print(f"  {a}: {sum(map(sum, cells.values())):.1f} CPU-s measured", file=sys.stderr, flush=True)
    return out


def per_agent(cells: dict[str, list[float]], grid_seeds: int) -> tuple[float, float]:
    """(CPU-s per 1,000 queries, CPU-s of the agent's share of the grid)."""
    queries = sum(int(k.split("/")[1]) * len(v) for k, v in cells.items())
    cpu = sum(map(sum, cells.values()))
    grid = sum(grid_seeds * sum(v) / len(v) for v in cells.values())
    return 1000.0 * cpu / queries, grid


def report(results: dict[str, dict[str, dict]], grid_seeds: int) -> str:
    """A table: an agent per row, per measured tree its CPU-s per 1k queries and grid CPU-s."""
    trees = list(results)
    agents = list(next(iter(results.values())))
    head = " | ".join(f"{t}: CPU-s/1k | {t}: grid CPU-s" for t in trees)
    lines = [f"| agent | {head} |", "|---|" + "---|---|" * len(trees)]
    totals = {t: 0.0 for t in trees}
    for a in agents:
        row = []
        for t in trees:
            k, g = per_agent(results[t][a], grid_seeds)
            totals[t] += g
            row += [f"{k:.2f}", f"{g:.1f}"]
        lines.append(f"| {a} | " + " | ".join(row) + " |")
    lines.append("| **total** | " + " | ".join(f" | {totals[t]:.1f}" for t in trees) + " |")
    for t in trees:
        lines.append(f"\n{t}: grid total {totals[t]:.1f} CPU-s = {totals[t] / TARGET_CPU_S:.2f} x the "
                     f"{TARGET_CPU_S:.0f} CPU-s target")  # fmt: skip
    if len(trees) == 2:
        a, b = trees
        lines.append(f"{b} / {a}: {totals[b] / totals[a]:.3f}")
    return "\n".join(lines)


def measure_ref(ref: str, argv: list[str]) -> dict[str, dict]:
    """The same measurement with the ``nas_gym`` of git revision ``ref``, in a child process."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", ref, "nas_gym"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        out = Path(tmp) / "ref.json"
        env = {**os.environ, "PYTHONPATH": tmp}
        subprocess.run([sys.executable, __file__, *argv, "--json", str(out)], env=env, check=True)
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", nargs="+", help=f"default: every registered one of {list(ORDER)}")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    p.add_argument("--seeds", type=int, default=1, help="seeds measured per cell, from 1 (the grid has 10)")
    p.add_argument("--compare-ref", metavar="GITREF", help="also measure this git revision's nas_gym")
    p.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # the child's results, for --compare-ref
    args = p.parse_args(argv)
    agents = grid_agents(p, args.agents)
    if args.seeds < 1:
        p.error(f"--seeds must be >= 1, got {args.seeds}")
    seeds = list(range(1, args.seeds + 1))

    results: dict[str, dict[str, dict]] = {}
    if args.compare_ref:
        child = [
            x for i, x in enumerate(argv)
            if not x.startswith("--compare-ref") and (i == 0 or argv[i - 1] != "--compare-ref")
        ]  # fmt: skip
        print(f"measuring {args.compare_ref}", file=sys.stderr)
        results[args.compare_ref] = measure_ref(args.compare_ref, child)
        print("measuring this tree", file=sys.stderr)
    results["this tree" if args.compare_ref else "measured"] = measure(agents, args.datasets, args.budgets, seeds)
    if args.json:
        args.json.write_text(json.dumps(next(iter(results.values()))))
        return 0
    print(f"{len(seeds)} seed(s) per cell over {args.datasets} x budgets {args.budgets}; "
          f"grid CPU-s extrapolated to {len(SEEDS)} seeds\n")  # fmt: skip
    print(report(results, len(SEEDS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
