"""CADAM on a frozen DARTS supernet, with the thesis's DARTS settings (section 4.2.2).

The supernet is pretrained by uniform single-path sampling (a random alpha discretised by
Algorithm 2 per minibatch, without ``none``), then frozen. CADAM runs with K = 500, tau = 0.95,
|B_R| = 64, xi = 5e-5, C_max = 1, a random warm-up W = 3,000 and a 5k replay window, over 20k
steps in the thesis; ``--steps`` scales the step counts (W, the window and K keep their share
of the run). As in section 4.2.3, every architecture of the final top-K gets its preliminary
test accuracy under the supernet's weights and the best of them is the result; ``--alone-epochs``
also trains it alone.

    python scripts/cadam_darts_supernet.py --data mnist --size tiny --epochs 3 --steps 1000 --seed 0

Protocol differences: the thesis pretrained an 8-cell, C = 16 supernet on CIFAR-10 for 10,000
epochs and searched 20k steps; here the data, network size, epochs and steps are the flags'.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.agents import Budget, make

THESIS_STEPS = 20_000
THESIS = dict(top_k=500, tau=0.95, batch_size=64, xi=5e-5, c_max=1, warmup=3000, buffer_size=5000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--path", help="folder of the image set (fashion-mnist, cifar10)")
    ap.add_argument("--size", default="tiny", help="DARTS supernet preset: tiny, ddas (6 cells), darts (8 cells)")
    ap.add_argument("--epochs", type=int, default=3, help="supernet pretraining epochs (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=1000, help="search steps (thesis: 20,000) (default: %(default)s)")
    ap.add_argument("--alone-epochs", type=int, default=0, help="train the result alone this long (default: 0)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    scale = args.steps / THESIS_STEPS
    k = max(8, round(THESIS["top_k"] * scale))
    agent_kwargs = {key: v for key, v in THESIS.items() if key != "top_k"}
    agent_kwargs["warmup"] = round(THESIS["warmup"] * scale)
    agent_kwargs["buffer_size"] = max(agent_kwargs["batch_size"], round(THESIS["buffer_size"] * scale))
    print(
        f"CADAM on a frozen DARTS supernet: {args.steps} steps (thesis {THESIS_STEPS}), K={k}, "
        + ", ".join(f"{key}={v}" for key, v in agent_kwargs.items())
    )
    t0 = time.perf_counter()
    env = gym.make(
        "NasGym/DARTSSupernet-Cont-v0",
        data=args.data,
        path=args.path,
        size=args.size,
        epochs=args.epochs,
        device=args.device,
        seed=args.seed,
        reward="cadam",
        top_k=k,
        budget=args.steps,
    )
    backend = env.unwrapped.backend
    print(
        f"supernet ready in {time.perf_counter() - t0:.0f} s ({np.mean(backend.pretrain_seconds or [np.nan]):.1f} s "
        f"per pretraining epoch); one-shot model accuracy {backend.oneshot()[0]:.2f}%"
    )
    t1 = time.perf_counter()
    res = make("cadam", **agent_kwargs).search(env, Budget(args.steps), seed=args.seed)
    print(
        f"search: {res.n_queries} queries, {len(set(res.arch_index.tolist()))} distinct cells, "
        f"{time.perf_counter() - t1:.0f} s wall, {res.sim_time_s / 3600:.2f} simulated hours"
    )

    best_val: dict[int, float] = {}
    for i, v in zip(res.arch_index.tolist(), res.val.tolist()):
        best_val[i] = max(v, best_val.get(i, -np.inf))
    top = sorted(best_val, key=best_val.get, reverse=True)[:k]
    prelim = {i: backend.evaluate(i) for i in top}
    chosen = max(top, key=prelim.get)
    print(f"top-{len(top)} by validation: {best_val[top[0]]:.2f}% .. {best_val[top[-1]]:.2f}%")
    print(f"best validation:           {best_val[top[0]]:.2f}% val, {prelim[top[0]]:.2f}% preliminary test")
    print(
        f"chosen (best prelim test): {best_val[chosen]:.2f}% val, {prelim[chosen]:.2f}% preliminary test, "
        f"rank {top.index(chosen) + 1} in the top-K"
    )
    print(f"  {backend.space.to_string(chosen)}")
    if args.alone_epochs:
        acc = backend.evaluate(chosen, epochs=args.alone_epochs, seed=args.seed)
        print(f"  trained alone for {args.alone_epochs} epochs: {acc:.2f}% test accuracy")
    print(
        "Thesis (Table 4.4, CIFAR-10 DARTS supernet, K=500): best validation 88.90% val, 91.81% preliminary test "
        "(rank 1); best preliminary test 87.87% val, 92.25% test (rank 416)."
    )


if __name__ == "__main__":
    main()
