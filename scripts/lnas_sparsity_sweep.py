"""LNAS's Table 1 (seed report, lottery-ticket NAS): validation accuracy after retraining against sparsity.

For each variant (1: DARTS, then lottery-ticket weight pruning of the derived child; 2: alpha
pruned during the search; 3: both, the report's Algorithm 3), sparsity level and seed, one
``lnas`` search on a fresh NB201 supernet (trained from scratch, as DARTS searches), then the
derived cell retrained alone: the validation accuracy after half and all of the retraining
epochs (the report's epochs 10 and 20), the simulated and wall seconds of the search and of the
retraining. A DARTS baseline (no pruning, the same retraining) opens the table. Every cell is
written to its own JSON file as it finishes, so a killed sweep resumes; the table (beside the
report's numbers), the protocol differences and a PNG go to ``--doc`` and ``--plot``.

    python scripts/lnas_sparsity_sweep.py                                            # the report's settings
    python scripts/lnas_sparsity_sweep.py --sparsities 0.25,0.5,0.75,0.95 --search-epochs 3 \\
        --retrain-epochs 6 --n-train 2000 --n-val 1000 --seeds 2                     # CPU-sized
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.agents import Budget, make
from nas_gym.experiments.results import read_json, write_atomic
from nas_gym.progress import Progress

SPARSITIES = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 0.95)  # section 5.1 (its text says 0.675, its table 0.625)
BASELINE = 0  # the row key of the DARTS baseline: variant 2 with nothing pruned
VARIANT_NAMES = {BASELINE: "baseline (DARTS)", 1: "1 (weight pruning)", 2: "2 (alpha pruning)", 3: "3 (both)"}
# Table 1: (variant, sparsity) -> validation accuracy % at epochs 10 and 20 (CIFAR-10, DARTS space)
PAPER: dict[tuple[int, float | None], tuple[float, float]] = {
    (BASELINE, None): (74.04, 78.90),
    **{
        (1, p): v
        for p, v in zip(
            SPARSITIES,
            [
                (68.03, 70.05),
                (67.50, 72.13),
                (67.43, 74.02),
                (68.32, 76.52),
                (69.03, 76.74),
                (70.54, 76.15),
                (66.32, 67.23),
                (66.58, 46.43),
            ],
        )
    },
    **{
        (2, p): v
        for p, v in zip(
            SPARSITIES,
            [
                (72.45, 78.77),
                (72.28, 78.04),
                (74.13, 77.47),
                (69.11, 74.12),
                (67.12, 73.60),
                (71.80, 79.86),
                (79.86, 81.15),
                (80.14, 85.59),
            ],
        )
    },
}
PAPER_SEARCH_H = {1: 2.0, 2: 5.2}  # section 5.3: hours of the 10-epoch search on a Tesla K80


def cell_spec(args: argparse.Namespace, variant: int, sparsity: float, seed: int) -> dict[str, Any]:
    """Everything that decides one cell's result (a stored cell is reused only when this matches)."""
    return {
        "variant": variant,
        "sparsity": sparsity,
        "seed": seed,
        "data": args.data,
        "size": args.size,
        "n_train": args.n_train,
        "n_val": args.n_val,
        "search_epochs": args.search_epochs,
        "retrain_epochs": args.retrain_epochs,
        "n_prunes": args.n_prunes or args.search_epochs,
    }


def agent_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    """The ``lnas`` settings of a cell: the baseline is variant 2 with nothing pruned."""
    variant = spec["variant"] or 2
    return dict(
        variant=variant, sparsity=spec["sparsity"], n_prunes=spec["n_prunes"], retrain_epochs=spec["retrain_epochs"]
    )


def run_cell(spec: dict[str, Any], device: str) -> dict[str, Any]:
    """One search and retraining; the figures the table needs."""
    env = gym.make(
        "NasGym/NB201Supernet-Cont-v0",
        data=spec["data"],
        size=spec["size"],
        device=device,
        epochs=0,
        n_train=spec["n_train"],
        n_val=spec["n_val"],
        seed=spec["seed"],
        progress=False,
        budget=10_000,
    )
    t0 = time.perf_counter()
    result = make("lnas", **agent_kwargs(spec)).search(env, Budget(epochs=spec["search_epochs"]), seed=spec["seed"])
    meta, ticket = result.meta, result.meta["ticket"]
    half = max(spec["retrain_epochs"] // 2, 1)
    return {
        "spec": spec,
        "val_half": ticket["val"][half - 1],
        "val_end": ticket["final_val"],
        "val_curve": ticket["val"],
        "alpha_pruned": meta["alpha_pruned"],
        "weight_sparsity": ticket["sparsity"],
        "arch": meta["recommended_arch"],
        "search_sim_s": meta["search_sim_s"],
        "retrain_sim_s": meta["retrain_sim_s"],
        "search_wall_s": meta["search_wall_s"],
        "retrain_wall_s": meta["retrain_wall_s"],
        "sim_time_s": result.sim_time_s,
        "n_queries": result.n_queries,
        "wall_s": time.perf_counter() - t0,
    }


def sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every cell, reusing the stored ones whose spec matches; in a fixed order."""
    specs = [cell_spec(args, BASELINE, 0.0, s) for s in range(args.seeds)] + [
        cell_spec(args, v, p, s) for v in args.variants for p in args.sparsities for s in range(args.seeds)
    ]
    cells = []
    with Progress(len(specs), "lnas sweep", "cell", enabled=not args.no_progress) as report:
        for spec in specs:
            path = Path(args.out) / f"v{spec['variant']}_p{spec['sparsity']}_s{spec['seed']}.json"
            stored = read_json(path)
            if stored is None or stored.get("spec") != spec:
                stored = run_cell(spec, args.device)
                write_atomic(path, stored)
            cells.append(stored)
            report.update(1, last=f"variant {spec['variant']} sparsity {spec['sparsity']:g} seed {spec['seed']}")
    return cells


def grouped(cells: list[dict[str, Any]]) -> dict[tuple[int, float], list[dict[str, Any]]]:
    out: dict[tuple[int, float], list[dict[str, Any]]] = {}
    for c in cells:
        out.setdefault((c["spec"]["variant"], c["spec"]["sparsity"]), []).append(c)
    return out


def fmt(values: list[float], digits: int = 2) -> str:
    """Mean, with the sample std when there are several seeds."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def table(cells: list[dict[str, Any]], retrain_epochs: int) -> str:
    half = max(retrain_epochs // 2, 1)
    head = (
        f"| variant | sparsity | val @ epoch {half} | val @ epoch {retrain_epochs} | alpha pruned | weight sparsity "
        "| search sim s | retrain sim s | search wall s | retrain wall s | report: epoch 10 | report: epoch 20 |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for (v, p), group in grouped(cells).items():
        col = lambda key, d=2: fmt([c[key] for c in group], d)  # noqa: E731
        paper = PAPER.get((v, None if v == BASELINE else p))
        paper_cols = [f"{x:.2f}" for x in paper] if paper else ["-", "-"]
        lines.append(
            " | ".join(
                [
                    f"| {VARIANT_NAMES[v]}",
                    "-" if v == BASELINE else f"{p:g}",
                    col("val_half"),
                    col("val_end"),
                    col("alpha_pruned"),
                    col("weight_sparsity"),
                    col("search_sim_s", 3),
                    col("retrain_sim_s", 3),
                    col("search_wall_s", 1),
                    col("retrain_wall_s", 1),
                    *paper_cols,
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def plot(cells: list[dict[str, Any]], path: Path, retrain_epochs: int) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), dpi=110)
    ours, theirs = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    groups = grouped(cells)
    for v in sorted({v for v, _ in groups} - {BASELINE}):
        ps = sorted(p for w, p in groups if w == v)
        vals = [[c["val_end"] for c in groups[(v, p)]] for p in ps]
        spread = [np.std(x, ddof=1) if len(x) > 1 else 0.0 for x in vals]  # the table's sample std
        ours.errorbar(
            ps, [np.mean(x) for x in vals], yerr=spread, marker="o", capsize=3, label=f"variant {VARIANT_NAMES[v]}"
        )
        if any((v, p) in PAPER for p in SPARSITIES):
            theirs.plot(
                SPARSITIES, [PAPER[(v, p)][1] for p in SPARSITIES], marker="o", label=f"variant {VARIANT_NAMES[v]}"
            )
    if (BASELINE, 0.0) in groups:
        ours.axhline(
            np.mean([c["val_end"] for c in groups[(BASELINE, 0.0)]]), ls="--", c="grey", label="DARTS baseline"
        )
    theirs.axhline(PAPER[(BASELINE, None)][1], ls="--", c="grey", label="DARTS baseline")
    ours.set_title(f"ours: NB201 tiny on MNIST, val % after {retrain_epochs} retraining epochs (mean, std)", fontsize=9)
    theirs.set_title("report's Table 1: DARTS space on CIFAR-10, val % at epoch 20", fontsize=9)
    for ax in (ours, theirs):
        ax.set_xlabel("sparsity p")
        ax.set_ylabel("validation accuracy %")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


PROTOCOL = """\
How the protocols differ. The report searches the DARTS space (8 ops, 14 edges, normal and
reduction cells) on CIFAR-10 for 10 epochs and retrains for 20 (SGD 0.025 cosine, momentum 0.9,
weight decay 3e-4, batch 64, on a K80). Here the search space is NAS-Bench-201's cell (5 ops,
6 edges) on the `tiny` skeleton (C=4, one cell per stage) with MNIST, {n_train} training and
{n_val} validation images, {search_epochs} search epochs and {retrain_epochs} retraining epochs;
the optimisers and batch size are the report's. Variant 2 prunes alpha {n_prunes} times, at
evenly spaced points of the search (the report: after each search epoch); NB201 has 4 searched
ops per edge and each edge keeps one, so alpha sparsity stops at 0.75 (the "alpha pruned"
column is what was reached). Variant 1 prunes the weights once, halfway through the retraining,
and rewinds the survivors (the report's experiment); variant 3, which the report proposes but
does not run, prunes alpha as variant 2, then the weights in as many rounds. The report's
accuracies are the best seen up to that epoch, ours the accuracy after that epoch: for variant
1 the first column is the dense child before pruning, the second the pruned ticket (the report's
0.95 row, 66.58 then 46.43, cannot be a running maximum either). Simulated seconds are the
accelerator model of the supernet backend (multiply-accumulates x images at 1e12 MAC/s; a
pruned child is charged its dense MACs); wall seconds are this machine's, shared with other
work. Variants 1 and 3 train their ticket only in the last segment of the retraining, after the
rewind (half of the epochs for one round, about 1/(n+1) for n rounds), while the baseline and variant
2 train their child for all of them. Seeds: {seeds}. The data, the space and the scale are not
the report's, so only the shapes of the curves can be set beside its numbers.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    floats = lambda s: [float(x) for x in s.split(",")]  # noqa: E731
    ap.add_argument("--variants", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    ap.add_argument("--sparsities", type=floats, default=list(SPARSITIES), help="default: the report's eight")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--search-epochs", type=int, default=10, help="the report's 10 (default: %(default)s)")
    ap.add_argument("--retrain-epochs", type=int, default=20, help="the report's 20 (default: %(default)s)")
    ap.add_argument(
        "--n-prunes", type=int, help="rounds of alpha pruning (default: one per search epoch, as the report)"
    )
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--n-train", type=int, help="training images (default: the whole weight-training half)")
    ap.add_argument("--n-val", type=int, default=2000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/lnas_sparsity", help="folder of the per-cell JSON files")
    ap.add_argument("--doc", default="docs/lnas_sparsity.md")
    ap.add_argument("--plot", default="docs/lnas_sparsity.png")
    ap.add_argument("--no-progress", action="store_true", help="no progress report (also NAS_GYM_PROGRESS=0)")
    args = ap.parse_args()
    bad = [v for v in args.variants if v not in (1, 2, 3)]
    if bad:
        ap.error(f"unknown variants {bad}; valid: 1, 2, 3")
    torch.set_num_threads(args.threads)

    cells = sweep(args)
    text = table(cells, args.retrain_epochs)
    print(text)
    doc = (
        "\n\n".join(
            [
                "# LNAS: validation accuracy after retraining against sparsity",
                "Made by `python scripts/lnas_sparsity_sweep.py " + " ".join(_argv(args)) + "` "
                f"({sum(c['wall_s'] for c in cells):.0f} s of wall time over the cells, one torch thread). "
                "Validation accuracy (%) of the derived child after retraining; "
                "mean ± std over seeds where there are several. "
                f"The report's search took {PAPER_SEARCH_H[1]} h (variant 1) "
                f"and {PAPER_SEARCH_H[2]} h (variant 2) on a K80.",
                text,
                f"![validation accuracy against sparsity]({Path(args.plot).name})",
                PROTOCOL.format(
                    n_train=args.n_train or "all",
                    n_val=args.n_val,
                    search_epochs=args.search_epochs,
                    retrain_epochs=args.retrain_epochs,
                    n_prunes=args.n_prunes or args.search_epochs,
                    seeds=", ".join(str(s) for s in range(args.seeds)),
                )
                .replace("\n", " ")
                .strip(),
            ]
        )
        + "\n"
    )
    Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
    Path(args.doc).write_text(doc)
    plot(cells, Path(args.plot), args.retrain_epochs)
    print(f"wrote {args.doc}, {args.plot}; cells in {args.out}")


def _argv(args: argparse.Namespace) -> list[str]:
    """The flags that differ from the defaults, to print the command that made a table."""
    out = []
    for key in (
        "variants",
        "sparsities",
        "seeds",
        "search_epochs",
        "retrain_epochs",
        "n_prunes",
        "n_train",
        "n_val",
        "device",
    ):
        value = getattr(args, key)
        if value is not None:
            out.append(
                f"--{key.replace('_', '-')} "
                + (",".join(f"{x:g}" for x in value) if isinstance(value, list) else str(value))
            )
    return out


if __name__ == "__main__":
    main()
