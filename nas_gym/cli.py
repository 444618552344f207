"""``nas-gym``: list benchmarks, run a quick search."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def _cmd_benchmarks(args: argparse.Namespace) -> int:
    from .benchmarks import available_benchmarks

    rows = available_benchmarks()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'benchmark':<16} {'dataset':<16} {'archs':>7} {'seeds':>5} {'optimum':>9}  columns")
    for r in rows:
        if "error" in r:
            print(f"{r['name']:<16} {r['dataset']:<16} {'-':>7} {'-':>5} {'-':>9}  not installed: {r['error']}")
            continue
        print(
            f"{r['name']:<16} {r['dataset']:<16} {r['n_arch']:>7} {r['n_seeds']:>5} {r['optimum_val']:>9.2f}  "
            f"{', '.join(r['columns'])}"
        )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .benchmarks import load_benchmark

    bench = load_benchmark("nb201", args.dataset)
    rng = np.random.default_rng(args.seed)
    best_i, best_v, clock = -1, -np.inf, 0.0
    for _ in range(args.budget):
        rec = bench.query(bench.space.index(bench.space.sample(rng)), rng)
        clock += rec.cost_s
        if rec.val > best_v:
            best_i, best_v = rec.arch_index, rec.val
    _, opt = bench.optimum()
    print(f"random search, {args.budget} queries on NAS-Bench-201 {bench.dataset} (seed {args.seed})")
    print(f"best architecture: {bench.space.to_string(best_i)}")
    print(f"validation accuracy: {best_v:.2f}% (mean over seeds {bench.val_mean[best_i]:.2f}%, optimum {opt:.2f}%)")
    print(f"simulated search time: {clock / 3600:.1f} GPU-hours")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="nas-gym", description="Neural architecture search as Gymnasium environments.")
    p.add_argument("--version", action="version", version=f"nas-gym {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("benchmarks", help="list installed benchmarks with sizes, datasets and optima")
    b.add_argument("--json", action="store_true", help="print JSON instead of a table")
    b.set_defaults(func=_cmd_benchmarks)

    d = sub.add_parser("demo", help="a short random search on NAS-Bench-201")
    d.add_argument("--dataset", default="cifar10")
    d.add_argument("--budget", type=int, default=500, help="queries (default: 500)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as e:
        print(f"nas-gym: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
