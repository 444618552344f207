"""A single-file PPO loop (CleanRL style) on the batched vector env, with action masks.

    python examples/ppo_vector_env.py [--iterations 60] [--num-envs 32] [--seed 0]

``gym.make_vec`` gives the numpy-batched Seq env; its default next-step autoreset is the mode
such loops are written for: the step that ends an episode returns its last observation, and
the next step starts the new episode. Each episode builds one NAS-Bench-201 cell, one edge at
a time; the reward (validation accuracy as a fraction) arrives at the last decision. The masks
and the queries are read from ``info``, so the loop runs unchanged on
``vectorization_mode="sync"`` or ``"async"``.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import nas_gym  # noqa: F401  (registers the NasGym/... ids)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return logits.masked_fill(~mask, -1e9)


def train(
    iterations: int = 60,
    num_envs: int = 32,
    n_steps: int = 12,
    seed: int = 0,
    lr: float = 3e-3,
    vectorization_mode: str | None = None,
) -> dict:
    """Run PPO; the best architecture found and how many were queried."""
    torch.manual_seed(seed)
    envs = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=num_envs, vectorization_mode=vectorization_mode)
    n_obs, n_act = envs.single_observation_space.shape[0], int(envs.single_action_space.n)
    actor = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, n_act))
    critic = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, 1))
    opt = torch.optim.Adam([*actor.parameters(), *critic.parameters()], lr=lr)
    obs, info = envs.reset(seed=seed)
    ended = np.zeros(num_envs, dtype=bool)  # next-step mode: these envs reset on the coming step
    best, queries = (-np.inf, ""), 0
    for _ in range(iterations):
        buf: dict[str, list] = {k: [] for k in ("obs", "mask", "act", "logp", "val", "rew", "live")}
        for _ in range(n_steps):
            x = torch.as_tensor(obs)
            mask = torch.as_tensor(info["action_mask"])
            with torch.no_grad():
                dist = torch.distributions.Categorical(logits=masked_logits(actor(x), mask))
                act = dist.sample()
                buf["val"].append(critic(x).squeeze(-1))
            buf["obs"].append(x), buf["mask"].append(mask), buf["act"].append(act)
            buf["logp"].append(dist.log_prob(act))
            buf["live"].append(torch.as_tensor(~ended))  # a reset step is no transition of the policy's
            obs, reward, terminated, truncated, info = envs.step(act.numpy())
            buf["rew"].append(torch.as_tensor(reward, dtype=torch.float32))
            ended = terminated | truncated
            buf["done"] = buf.get("done", []) + [torch.as_tensor(ended)]
            for i in np.flatnonzero(info["arch_index"] >= 0):  # the envs that queried a cell this step
                queries += 1
                if info["val"][i] > best[0]:
                    best = (float(info["val"][i]), info["arch"][i])
        # returns: episodes end at the last decision, so undiscounted returns to the episode's end
        ret = []
        with torch.no_grad():
            next_val = critic(torch.as_tensor(obs)).squeeze(-1) * torch.as_tensor(~ended)
        running = next_val
        for t in reversed(range(n_steps)):
            running = buf["rew"][t] + running * (~buf["done"][t])
            ret.insert(0, running)
        ret_t = torch.stack(ret)
        adv = ret_t - torch.stack(buf["val"])
        live = torch.stack(buf["live"])
        adv = (adv - adv[live].mean()) / (adv[live].std() + 1e-8)
        x, mask, act = torch.stack(buf["obs"]), torch.stack(buf["mask"]), torch.stack(buf["act"])
        old_logp = torch.stack(buf["logp"])
        for _ in range(4):
            dist = torch.distributions.Categorical(logits=masked_logits(actor(x), mask))
            ratio = (dist.log_prob(act) - old_logp).exp()
            clipped = torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv)
            v_loss = (critic(x).squeeze(-1) - ret_t) ** 2
            loss = (-clipped + 0.5 * v_loss - 0.01 * dist.entropy())[live].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {"best_val": best[0], "best_arch": best[1], "queries": queries}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--num-envs", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--vectorization-mode",
        choices=["vector_entry_point", "sync", "async"],
        default=None,
        help="Gymnasium's vectorization (default: the batched env)",
    )
    args = p.parse_args(argv)
    out = train(args.iterations, args.num_envs, seed=args.seed, vectorization_mode=args.vectorization_mode)
    print(f"{out['queries']} queries; best cell {out['best_arch']}, val {out['best_val']:.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
