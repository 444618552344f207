"""AdvantageNAS's toy regression task (Sato et al. 2021, section 5.1, Figure 1).

The one-shot agents' own architecture steps (``agent.arch_step``) run on the toy task of
:mod:`nas_gym.supernets.toy` with the weights fixed; after every ``--every`` iterations the test
loss of each agent's argmax architecture is recorded. Prints the median and 25-75% band over
``--trials`` trials per method at a few iterations, and draws them as a PNG.

    python scripts/reproduce_advantagenas_toy.py --iters 2000 --trials 10 --out toy.png
    python scripts/reproduce_advantagenas_toy.py --replot toy.json --out toy.png   # redraw a run

Every method optimises theta by Adam, learning rate 1e-3, betas (0.9, 0.999), as the paper's
section 5.1 says, with no weight decay; its other settings are the agent's defaults, except that
nothing warms up (the weights are fixed). The temperature schedules scale with ``--iters``: GDAS
anneals 10 -> 0.1 and SNAS 1 -> 0.33 over the run's iterations, whatever their number, so runs
of different lengths anneal at different rates per iteration. The paper's Figure 1 finds AdvantageNAS faster than
REINFORCE, PARSEC and GDAS, more stable than ProxylessNAS late, and slower than DARTS and SNAS.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nas_gym.agents import make
from nas_gym.supernets.toy import ToyTask

METHODS = ("advantagenas-supernet", "reinforce-supernet", "parsec", "gdas", "proxyless", "darts", "snas")
LABELS = {
    "advantagenas-supernet": "AdvantageNAS",
    "reinforce-supernet": "REINFORCE",
    "parsec": "PARSEC",
    "gdas": "GDAS",
    "proxyless": "ProxylessNAS",
    "darts": "DARTS",
    "snas": "SNAS",
}


def agent_for(method: str, lr: float):
    """The agent with the paper's toy-task optimiser for its architecture parameters."""
    kw: dict = {"a_lr": lr, "a_betas": (0.9, 0.999)}
    if method in ("darts", "gdas", "snas"):
        kw["a_weight_decay"] = 0.0
    if method in ("advantagenas-supernet", "reinforce-supernet"):
        kw["warmup"] = 0.0
    return make(method, **kw)


def run(method: str, seed: int, iters: int, every: int, lr: float) -> list[float]:
    """Test losses of the argmax architecture after every ``every`` iterations of one trial."""
    task = ToyTask(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    agent = agent_for(method, lr)
    agent.setup(task)
    losses = []
    for it in range(iters):
        x, y = task.batch(rng)
        agent.arch_step(task, x, y, rng, it / iters)
        if (it + 1) % every == 0:
            losses.append(task.test_loss(agent.recommend(task)))
    return losses


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--out", default="advantagenas_toy.png")
    p.add_argument("--merge", help="a previous run's .json: its methods not run now join the table and plot")
    p.add_argument("--replot", help="a previous run's .json: redraw its table and plot, run nothing")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    curves: dict[str, np.ndarray] = {}
    old = json.loads(Path(args.merge or args.replot).read_text()) if args.merge or args.replot else {}
    for m in (m for m in METHODS if m in old or m in args.methods):
        if m not in args.methods or args.replot:
            curves[m] = np.array(old[m])
            continue
        t0 = time.perf_counter()
        curves[m] = np.array([run(m, s, args.iters, args.every, args.lr) for s in range(args.trials)])
        print(f"{m}: {time.perf_counter() - t0:.0f} s", flush=True)
    n_trials, n_records = next(iter(curves.values())).shape  # a replotted run's own
    x = np.arange(1, n_records + 1) * args.every
    marks = sorted({len(x) // 4 - 1, len(x) // 2 - 1, len(x) - 1} - {-1})
    print("\nmedian [25%, 75%] test loss of the argmax architecture")
    print("| method | " + " | ".join(f"iter {x[k]}" for k in marks) + " | solved (loss 0) at the end |")
    print("|---|" + "---|" * (len(marks) + 1))
    for m, c in curves.items():
        q = np.percentile(c, [25, 50, 75], axis=0)
        cells = [f"{q[1, k]:.4f} [{q[0, k]:.4f}, {q[2, k]:.4f}]" for k in marks]
        print(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + f" | {int((c[:, -1] == 0).sum())}/{len(c)} |")
    plot(curves, x, n_trials, int(x[-1]), args.out)
    Path(args.out).with_suffix(".json").write_text(json.dumps({m: c.tolist() for m, c in curves.items()}))
    print(f"\nwrote {args.out}")
    return curves


MARKERS = "osD^vP*"


def plot(curves: dict[str, np.ndarray], x: np.ndarray, trials: int, iters: int, out: str) -> None:
    """Median test loss (25-75% band) on a log scale whose bottom row is loss 0, and beside it the
    trials that found the teacher: the medians of several methods sit at 0, and the second panel
    tells them apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    positive = np.concatenate([c[c > 0] for c in curves.values()])
    floor = positive.min() / 5 if len(positive) else 1e-5  # where loss 0 is drawn: just below the smallest loss
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    for k, (m, c) in enumerate(curves.items()):
        q = np.maximum(np.percentile(c, [25, 50, 75], axis=0), floor)
        # markers start at a different point per method, so that lines lying on each other stay visible
        style = dict(marker=MARKERS[k % len(MARKERS)], markevery=(k % 4, 4), markersize=5, label=LABELS.get(m, m))
        (line,) = ax.plot(x, q[1], **style)
        ax.fill_between(x, q[0], q[2], color=line.get_color(), alpha=0.08)
        ax2.plot(x, (c == 0).sum(0) + 0.06 * (k - (len(curves) - 1) / 2), color=line.get_color(), **style)
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, None)
    ticks = [t for t in ax.get_yticks() if t > floor * 3]
    ax.set_yticks([floor] + ticks, ["0"] + [f"$10^{{{int(round(np.log10(t)))}}}$" for t in ticks])
    ax.axhline(floor * 2.2, color="0.6", lw=0.6, ls=":")  # the axis is broken here
    ax.set_xlim(0, x[-1] + x[0])
    ax.set_xlabel("iterations")
    ax.set_ylabel("test loss of the argmax architecture")
    ax.set_title("median and 25-75% band (bottom row: loss 0, the teacher)", fontsize=10)
    ax2.set_ylim(-0.5, trials + 0.5)
    ax2.set_yticks(range(0, trials + 1, max(1, trials // 10)))
    ax2.set_xlim(0, x[-1] + x[0])
    ax2.set_xlabel("iterations")
    ax2.set_ylabel(f"trials at loss 0 (of {trials})")
    ax2.set_title("trials whose argmax is the teacher (lines offset slightly)", fontsize=10)
    fig.suptitle(
        f"AdvantageNAS toy task: {trials} trials of {iters} iterations per method "
        "(GDAS and SNAS temperatures anneal over all of them)",
        fontsize=11,
    )
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=len(curves), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(out, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
