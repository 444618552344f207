"""AdvantageNAS's toy regression task (Sato et al. 2021, section 5.1, Figure 1).

The one-shot agents' own architecture steps (``agent.arch_step``) run on the toy task of
:mod:`nas_gym.supernets.toy` with the weights fixed; after every ``--every`` iterations the test
loss of each agent's argmax architecture is recorded. Prints the median and 25-75% band over
``--trials`` trials per method at a few iterations, and draws them as a PNG.

    python scripts/reproduce_advantagenas_toy.py --iters 2000 --trials 10 --out toy.png

Every method optimises theta by Adam, learning rate 1e-3, betas (0.9, 0.999), as the paper's
section 5.1 says, with no weight decay; its other settings are the agent's defaults, except that
nothing warms up (the weights are fixed). The paper's Figure 1 finds AdvantageNAS faster than
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
LABELS = {"advantagenas-supernet": "AdvantageNAS", "reinforce-supernet": "REINFORCE", "parsec": "PARSEC",
          "gdas": "GDAS", "proxyless": "ProxylessNAS", "darts": "DARTS", "snas": "SNAS"}


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
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    curves: dict[str, np.ndarray] = {}
    old = json.loads(Path(args.merge).read_text()) if args.merge else {}
    for m in (m for m in METHODS if m in old or m in args.methods):
        if m not in args.methods:
            curves[m] = np.array(old[m])
            continue
        t0 = time.perf_counter()
        curves[m] = np.array([run(m, s, args.iters, args.every, args.lr) for s in range(args.trials)])
        print(f"{m}: {time.perf_counter() - t0:.0f} s", flush=True)
    x = np.arange(1, args.iters // args.every + 1) * args.every
    marks = sorted({len(x) // 4 - 1, len(x) // 2 - 1, len(x) - 1} - {-1})
    print("\nmedian [25%, 75%] test loss of the argmax architecture")
    print("| method | " + " | ".join(f"iter {x[k]}" for k in marks) + " | solved (loss 0) at the end |")
    print("|---|" + "---|" * (len(marks) + 1))
    for m, c in curves.items():
        q = np.percentile(c, [25, 50, 75], axis=0)
        cells = [f"{q[1, k]:.4f} [{q[0, k]:.4f}, {q[2, k]:.4f}]" for k in marks]
        print(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + f" | {int((c[:, -1] == 0).sum())}/{len(c)} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, c in curves.items():
        q = np.percentile(c, [25, 50, 75], axis=0)
        (line,) = ax.plot(x, q[1], label=LABELS.get(m, m))
        ax.fill_between(x, q[0], q[2], color=line.get_color(), alpha=0.2)
    ax.set_xlabel("iterations")
    ax.set_ylabel("test loss of the argmax architecture")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_title(f"AdvantageNAS toy task: median and 25-75% over {args.trials} trials")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    Path(args.out).with_suffix(".json").write_text(json.dumps({m: c.tolist() for m, c in curves.items()}))
    print(f"\nwrote {args.out}")
    return curves


if __name__ == "__main__":
    main()
