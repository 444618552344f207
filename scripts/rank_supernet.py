"""Kendall tau between a frozen supernet's ranking of cells and the same cells trained alone.

Pretrains (or loads from the cache) an NB201 supernet by uniform single-path sampling, queries
``--cells`` distinct cells on it (batch norms recalibrated per child), trains each cell alone for
``--alone-epochs`` epochs on the same weight-training half, and compares the two rankings on the
validation half. With ``--seeds 2`` it also prints the tau between two standalone seeds, the
ceiling any estimator can reach. Writes a scatter plot PNG.

``--recal 1,2,4,8,16`` repeats the frozen estimates with each number of batch-norm
recalibration batches (the same supernet and the same standalone children) and prints, per
number, the tau against the children trained alone, the tau and the mean absolute difference
against the largest number (how far fewer batches move the estimates) and the CPU seconds per
query: the study behind the backend's default.

    python scripts/rank_supernet.py --data mnist --size tiny --epochs 5 --cells 20 --out runs/rank
    python scripts/rank_supernet.py --epochs 10 --cells 20 --alone-epochs 2 --seeds 2 --recal 1,2,4,8,16,32
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from nas_gym.supernets.backend import SupernetBackend
from nas_gym.supernets.ranking import Ranking, distinct_cells, rank_children
from nas_gym.supernets.threads import resolve_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb201", choices=["nb201", "darts"])
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--path", help="folder of the image set (fashion-mnist, cifar10, cifar100)")
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--epochs", type=int, default=5, help="supernet pretraining epochs (default: %(default)s)")
    ap.add_argument("--cells", type=int, default=20, help="distinct cells ranked (default: %(default)s)")
    ap.add_argument(
        "--alone-epochs", type=int, default=2, help="epochs of each standalone child (default: %(default)s)"
    )
    ap.add_argument("--seeds", type=int, default=1, help="standalone seeds per cell (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="supernet seed and cell sample (default: %(default)s)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: $NAS_GYM_THREADS, else 1)")
    ap.add_argument(
        "--recal", help="comma-separated numbers of recalibration batches to compare (default: the backend's)"
    )
    ap.add_argument("--out", default="runs/rank", help="folder for ranking.json and ranking.png")
    args = ap.parse_args()
    torch.set_num_threads(resolve_threads(args.threads))  # the children trained alone run outside the backend
    recal = sorted({int(r) for r in args.recal.split(",")}) if args.recal else []
    if any(r < 1 for r in recal):
        ap.error(f"--recal takes positive numbers of batches, got {args.recal}")
    make = lambda **kw: SupernetBackend(  # noqa: E731
        space=args.space,
        dataset=args.data,
        path=args.path,
        size=args.size,
        epochs=args.epochs,
        device=args.device,
        seed=args.seed,
        cache_size=0,
        threads=args.threads,
        **kw,
    )

    t0 = time.perf_counter()
    sn = make()
    per_epoch = sn.pretrain_seconds
    print(
        f"supernet {args.space}/{args.size} on {args.data}, {args.epochs} epochs on {sn.device}: "
        f"{np.mean(per_epoch) if per_epoch else float('nan'):.1f} s per epoch "
        f"({'cached' if sn.trained_steps == 0 else f'{time.perf_counter() - t0:.0f} s now'})"
    )
    cells = distinct_cells(sn, args.cells, np.random.default_rng(args.seed))
    t1 = time.perf_counter()
    r = rank_children(sn, cells, args.alone_epochs, args.seeds)
    print(
        f"{args.cells} cells, each trained alone for {args.alone_epochs} epochs x {args.seeds} seed(s) "
        f"in {time.perf_counter() - t1:.0f} s"
    )
    print(f"Kendall tau, supernet vs alone: {r.tau:+.3f} (Spearman {r.spearman:+.3f})")
    if r.seed_tau is not None:
        print(f"Kendall tau, alone seed 0 vs seed 1: {r.seed_tau:+.3f}")
    study = recal_study(make, cells, r, recal) if recal else None
    print(
        f"supernet accuracy range {r.supernet.min():.1f}-{r.supernet.max():.1f}%, "
        f"alone {r.alone.mean(0).min():.1f}-{r.alone.mean(0).max():.1f}%"
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    strings = [sn.space.to_string(sn.space.index(c)) for c in cells]
    (out / "ranking.json").write_text(
        json.dumps(
            {
                "args": vars(args),
                "tau": r.tau,
                "spearman": r.spearman,
                "seed_tau": r.seed_tau,
                "cells": strings,
                "supernet": r.supernet.tolist(),
                "alone": r.alone.tolist(),
                "recal": study,
            },
            indent=1,
        )
    )
    plot(r, f"{args.space} {args.size} on {args.data}", args.alone_epochs, out / "ranking.png")
    print(f"wrote {out / 'ranking.json'} and {out / 'ranking.png'}")


def plot(r: Ranking, title: str, alone_epochs: int, file: Path) -> None:
    """The frozen estimates against the children trained alone, as validation errors on log axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    # errors on log axes: good cells crowd near 100% accuracy, where linear axes hide their order
    ax.scatter(100.0 - r.alone.mean(0), 100.0 - r.supernet, s=18)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"trained alone, {alone_epochs} epochs: validation error (%)")
    ax.set_ylabel("frozen supernet estimate: validation error (%)")
    ax.set_title(f"{title}: Kendall tau {r.tau:+.2f}")
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)


def recal_study(make, cells: np.ndarray, ref: Ranking, counts: list[int]) -> list[dict]:
    """Frozen estimates of ``cells`` with each number of recalibration batches, against the
    children trained alone (``ref.alone``) and against the estimates of the largest number."""
    rows = []
    for n in counts:
        sn = make(recal_batches=n)
        c0 = time.process_time()
        est = np.array([sn.query(c).val for c in cells])
        cpu = (time.process_time() - c0) / len(cells)
        rows.append(
            {
                "recal_batches": n,
                "tau": Ranking(cells, est, ref.alone).tau,
                "estimates": est.tolist(),
                "cpu_s_per_query": cpu,
            }
        )
    top = np.array(rows[-1]["estimates"])
    print(
        f"{'recal batches':>13} {'tau vs alone':>12} {'tau vs ' + str(counts[-1]):>9} "
        f"{'mean |diff| %':>13} {'CPU-s/query':>11}"
    )
    for row in rows:
        est = np.array(row["estimates"])
        row["tau_vs_most"] = float(kendalltau(est, top).statistic)
        row["mean_abs_diff"] = float(np.abs(est - top).mean())
        print(
            f"{row['recal_batches']:>13} {row['tau']:>+12.3f} {row['tau_vs_most']:>+9.3f} "
            f"{row['mean_abs_diff']:>13.2f} {row['cpu_s_per_query']:>11.3f}"
        )
    return rows


if __name__ == "__main__":
    main()
