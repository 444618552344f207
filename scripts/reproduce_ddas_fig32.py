"""The thesis's Figure 3.2 ablation of DDAS's reward (eq. 3.3) on a train-mode supernet.

Four searches per seed, each on its own copy of the same warmed-up NB201 supernet (every op
mixed with equal alphas during warm-up, as section 3.1.2): DDAS with the full reward, without
the loss term (``ddas-acc``), without the accuracy term (``ddas-loss``), and random search with
weight sharing (Li & Talwalkar: uniform alphas, discretised). Every step trains the chosen child
for ``--train-batches`` minibatches, then measures it on the validation half. Plots the
validation accuracy of each step's child (moving average) against steps, mean and range over
seeds, and prints ours beside the thesis's finding.

    python scripts/reproduce_ddas_fig32.py --data mnist --steps 300 --seeds 3 --out runs/ddas_fig32

Protocol differences: the thesis ran a 6-cell DARTS supernet on CIFAR-10 for 1,500 steps after
a 75-epoch warm-up; this runs the NB201 cell space on MNIST or Fashion-MNIST with CPU-sized
networks, warm-up and step counts (the flags say which).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.agents import Budget, make

VARIANTS = {  # label -> (agent, reward)
    "DDAS (full reward)": ("ddpg", "ddas"),
    "DDAS without loss term": ("ddpg", "ddas-acc"),
    "DDAS without accuracy term": ("ddpg", "ddas-loss"),
    "random search": ("rs", "val"),
}
THESIS = ("Thesis (Fig. 3.2, CIFAR-10): with either term removed DDAS becomes nearly indistinguishable "
          "from random search; with the full reward it stays above it.")


def moving_average(x: np.ndarray, w: int) -> np.ndarray:
    w = max(1, min(w, len(x)))
    c = np.cumsum(np.insert(x, 0, 0.0))
    return (c[w:] - c[:-w]) / w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--path", help="folder of the image set (fashion-mnist)")
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--warmup-epochs", type=int, default=3, help="supernet warm-up epochs (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=300, help="search steps per run (default: %(default)s)")
    ap.add_argument("--train-batches", type=int, default=25, help="M minibatches per step (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n-val", type=int, default=2000, help="validation images per query (default: %(default)s)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/ddas_fig32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env_kwargs = dict(data=args.data, path=args.path, size=args.size, epochs=args.warmup_epochs, mode="train",
                      train_batches=args.train_batches, n_val=args.n_val, device=args.device, obs="previous",
                      budget=args.steps)
    results_file = out / "fig32.json"
    runs: dict[str, list[list[float]]] = json.loads(results_file.read_text())["runs"] if results_file.exists() else {}
    for label, (agent, reward) in VARIANTS.items():
        for seed in range(len(runs.get(label, [])), args.seeds):  # finished runs are kept: resumable
            t0 = time.perf_counter()
            env = gym.make("NasGym/NB201Supernet-Cont-v0", reward=reward, **env_kwargs)
            res = make(agent).search(env, Budget(args.steps), seed=seed)
            runs.setdefault(label, []).append(res.val.tolist())
            tmp = results_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"args": vars(args), "runs": runs}))
            tmp.replace(results_file)
            tail = res.val[-max(args.steps // 5, 1):]
            print(f"{label:<28} seed {seed}: last {len(tail)} steps mean val {tail.mean():.2f}%, "
                  f"best {res.val.max():.2f}% ({time.perf_counter() - t0:.0f} s)", flush=True)

    print(f"\n{'variant':<28} {'last-20% mean val':>18} {'best val':>16}   (mean +- std over seeds)")
    for label in VARIANTS:
        vals = np.array(runs[label][: args.seeds])
        tail = vals[:, -max(args.steps // 5, 1):].mean(1)
        best = vals.max(1)
        print(f"{label:<28} {tail.mean():>10.2f} +- {tail.std(ddof=1) if len(tail) > 1 else 0:.2f} "
              f"{best.mean():>8.2f} +- {best.std(ddof=1) if len(best) > 1 else 0:.2f}")
    print(THESIS)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    w = max(args.steps // 20, 1)
    colors = {"DDAS (full reward)": "tab:blue", "DDAS without loss term": "tab:red",
              "DDAS without accuracy term": "tab:green", "random search": "grey"}
    for label in VARIANTS:
        curves = np.array([moving_average(np.array(v), w) for v in runs[label][: args.seeds]])
        x = np.arange(curves.shape[1]) + w
        ax.plot(x, curves.mean(0), color=colors[label], label=label)
        ax.fill_between(x, curves.min(0), curves.max(0), color=colors[label], alpha=0.15)
    ax.set_xlabel("search step")
    ax.set_ylabel("child's validation accuracy (%)")
    ax.set_title(f"DDAS reward ablation, NB201 supernet ({args.size}) on {args.data}\n"
                 f"mean and range over {args.seeds} seeds, moving average of {w} steps", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fig32.png", dpi=120)
    print(f"wrote {results_file} and {out / 'fig32.png'}")


if __name__ == "__main__":
    main()
