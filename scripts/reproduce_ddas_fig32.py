"""The thesis's Figure 3.2 ablation of DDAS's reward (eq. 3.3) on a train-mode supernet, with controls.

Five searches per seed, each on its own copy of the same warmed-up supernet (every op mixed with
equal alphas during warm-up, as section 3.1.2): DDAS with the full reward, without the loss term
(``ddas-acc``), without the accuracy term (``ddas-loss``), random search with weight sharing
(Li & Talwalkar: uniform alphas, discretised), and a control the thesis does not have: DDPG
whose networks are never trained (``ddpg`` with ``learn=False``: the same exploration phases and
noise around a fixed random actor), so that what the reward adds through learning shows. Every
step trains the chosen child for ``--train-batches`` minibatches, then measures it on the
validation half. Prints, per variant, the children's validation accuracy over the last fifth of
the steps, the best, and how many distinct architectures a run queried (a run that retrains a
few children over and over raises their accuracy whatever its reward); plots the accuracy
(moving average) and the distinct architectures against steps, mean and range over seeds.

CPU (the defaults: NB201 cell space, ``tiny`` supernet, MNIST; about 0.5 CPU-s per step):

    python scripts/reproduce_ddas_fig32.py --steps 300 --seeds 3 --workers 2 --out runs/ddas_fig32

The thesis's settings (section 3.4: a 6-cell DARTS supernet, C=16, warmed up 75 epochs on the
25k training half of CIFAR-10, batch 64, SGD at a constant 1e-3 while searching, 25 minibatches
per step, 1,500 steps; a GPU run, about a day per search on an RTX 2080 Ti):

    python scripts/reproduce_ddas_fig32.py --space darts --size ddas --data cifar10 --path ~/data \\
        --warmup-epochs 75 --train-batches 25 --steps 1500 --n-val 0 --seeds 3 --device cuda

Runs are resumable: finished (variant, seed) runs are kept in ``OUT/fig32.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.agents import Budget, make

VARIANTS = {  # label -> (agent, reward, agent kwargs)
    "DDAS (full reward)": ("ddpg", "ddas", {}),
    "DDAS without loss term": ("ddpg", "ddas-acc", {}),
    "DDAS without accuracy term": ("ddpg", "ddas-loss", {}),
    "DDPG never trained (control)": ("ddpg", "ddas", {"learn": False}),
    "random search": ("rs", "val", {}),
}
COLORS = {
    "DDAS (full reward)": "tab:blue",
    "DDAS without loss term": "tab:red",
    "DDAS without accuracy term": "tab:green",
    "DDPG never trained (control)": "tab:purple",
    "random search": "grey",
}
ENV_IDS = {"nb201": "NasGym/NB201Supernet-Cont-v0", "darts": "NasGym/DARTSSupernet-Cont-v0"}
THESIS = (
    "Thesis (Fig. 3.2, CIFAR-10, DARTS 6-cell supernet, 1,500 steps): with either term removed DDAS becomes "
    "nearly indistinguishable from random search; with the full reward it stays above it."
)


def moving_average(x: np.ndarray, w: int) -> np.ndarray:
    w = max(1, min(w, len(x)))
    c = np.cumsum(np.insert(x, 0, 0.0))
    return (c[w:] - c[:-w]) / w


def distinct_so_far(arch_index: list[int]) -> np.ndarray:
    """After each step, how many distinct architectures the run has queried."""
    first = np.unique(np.asarray(arch_index), return_index=True)[1]
    new = np.zeros(len(arch_index), dtype=np.int64)
    new[first] = 1
    return np.cumsum(new)


def env_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        data=args.data,
        path=args.path,
        size=args.size,
        epochs=args.warmup_epochs,
        mode="train",
        train_batches=args.train_batches,
        n_val=args.n_val or None,
        device=args.device,
        obs="previous",
        budget=args.steps,
    )


def one_run(job: tuple[str, int, dict]) -> tuple[str, int, dict]:
    """One search of variant ``label`` with ``seed`` (in a worker process): its queries and CPU time."""
    label, seed, a = job
    torch.set_num_threads(a["threads"])
    agent, reward, kwargs = VARIANTS[label]
    t0 = time.process_time()
    env = gym.make(ENV_IDS[a["space"]], reward=reward, **a["env_kwargs"])
    res = make(agent, **kwargs).search(env, Budget(a["steps"]), seed=seed)
    run = {"val": res.val.tolist(), "arch_index": [int(i) for i in res.arch_index], "cpu_s": time.process_time() - t0}
    return label, seed, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--space", default="nb201", choices=list(ENV_IDS), help="supernet cell space (default: %(default)s)"
    )
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--path", help="folder of the image set (fashion-mnist, cifar10)")
    ap.add_argument("--size", default="tiny", help="supernet size preset (default: %(default)s; the thesis: ddas)")
    ap.add_argument("--warmup-epochs", type=int, default=3, help="supernet warm-up epochs (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=300, help="search steps per run (default: %(default)s)")
    ap.add_argument("--train-batches", type=int, default=25, help="M minibatches per step (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated labels (default: all)")
    ap.add_argument(
        "--n-val", type=int, default=2000, help="validation images per query, 0: all (default: %(default)s)"
    )
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=1, help="runs in parallel processes (default: %(default)s)")
    ap.add_argument("--out", default="runs/ddas_fig32")
    args = ap.parse_args()
    labels = args.variants.split(",")
    bad = [v for v in labels if v not in VARIANTS]
    if bad:
        ap.error(f"unknown variants {bad}; valid: {list(VARIANTS)}")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "fig32.json"
    runs: dict[str, dict[str, dict]] = json.loads(results_file.read_text())["runs"] if results_file.exists() else {}
    old = [label for label, r in runs.items() if not isinstance(r, dict)]
    if old:  # an earlier version kept only the accuracies, not the architectures: those runs are redone
        print(f"{results_file}: runs of {old} lack the architectures they queried; running them again", flush=True)
        runs = {label: r for label, r in runs.items() if isinstance(r, dict)}
    shared = {"space": args.space, "env_kwargs": env_kwargs(args), "steps": args.steps, "threads": args.threads}
    jobs = [
        (label, seed, shared) for seed in range(args.seeds) for label in labels if str(seed) not in runs.get(label, {})
    ]
    if jobs:
        t0 = time.process_time()
        gym.make(ENV_IDS[args.space], **shared["env_kwargs"]).close()  # warm the supernet up once, for every run
        print(f"supernet warm-up: {time.process_time() - t0:.0f} CPU-s; {len(jobs)} runs to go", flush=True)
    ctx = mp.get_context("spawn")  # torch in forked workers can deadlock
    with ctx.Pool(args.workers) if args.workers > 1 and jobs else _Serial() as pool:
        for label, seed, run in pool.imap_unordered(one_run, jobs):
            runs.setdefault(label, {})[str(seed)] = run
            tmp = results_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"args": vars(args), "runs": runs}))
            tmp.replace(results_file)  # a killed script keeps every finished run
            tail = np.array(run["val"][-max(args.steps // 5, 1) :])
            print(
                f"{label:<30} seed {seed}: last {len(tail)} steps mean val {tail.mean():.2f}%, best "
                f"{max(run['val']):.2f}%, {len(set(run['arch_index']))} distinct architectures "
                f"({run['cpu_s']:.0f} CPU-s)",
                flush=True,
            )

    seeds = [str(s) for s in range(args.seeds)]
    print(
        f"\n{'variant':<30} {'last-20% mean val':>18} {'best val':>16} {'distinct archs':>16} {'CPU-s/run':>10}"
        "   (mean +- std over seeds)"
    )

    def sd(x: np.ndarray) -> float:
        return float(x.std(ddof=1)) if len(x) > 1 else 0.0

    for label in labels:
        done = [runs[label][s] for s in seeds]
        tail = np.array([np.mean(r["val"][-max(args.steps // 5, 1) :]) for r in done])
        best = np.array([max(r["val"]) for r in done])
        distinct = np.array([len(set(r["arch_index"])) for r in done])
        print(
            f"{label:<30} {tail.mean():>10.2f} +- {sd(tail):.2f} {best.mean():>8.2f} +- {sd(best):.2f} "
            f"{distinct.mean():>8.1f} +- {sd(distinct):.1f} {np.mean([r['cpu_s'] for r in done]):>10.0f}"
        )
    print(THESIS)
    plot(runs, labels, seeds, args, out / "fig32.png")
    print(f"wrote {results_file} and {out / 'fig32.png'}")


class _Serial:
    """The pool interface, in this process (one worker)."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, fn, jobs):  # noqa: ANN001, ANN201
        return map(fn, jobs)


def plot(runs: dict, labels: list[str], seeds: list[str], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    w = max(args.steps // 20, 1)
    for label in labels:
        done = [runs[label][s] for s in seeds]
        curves = np.array([moving_average(np.array(r["val"]), w) for r in done])
        x = np.arange(curves.shape[1]) + w
        ax.plot(x, curves.mean(0), color=COLORS[label], label=label)
        ax.fill_between(x, curves.min(0), curves.max(0), color=COLORS[label], alpha=0.15)
        distinct = np.array([distinct_so_far(r["arch_index"]) for r in done])
        steps = np.arange(1, distinct.shape[1] + 1)
        ax2.plot(steps, distinct.mean(0), color=COLORS[label])
        ax2.fill_between(steps, distinct.min(0), distinct.max(0), color=COLORS[label], alpha=0.15)
    ax.set_xlabel("search step")
    ax.set_ylabel("child's validation accuracy (%)")
    ax.set_title(f"moving average of {w} steps", fontsize=10)
    ax2.set_xlabel("search step")
    ax2.set_ylabel("distinct architectures queried")
    ax2.set_title("how many different children a run trains", fontsize=10)
    fig.suptitle(
        f"DDAS reward ablation, {args.space.upper()} supernet ({args.size}) on {args.data}: mean and range over "
        f"{len(seeds)} seeds",
        fontsize=11,
    )
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
