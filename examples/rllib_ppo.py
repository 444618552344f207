"""Train RLlib's PPO to build NAS-Bench-201 cells one edge at a time; print the best cell found.

RLlib (``ray[rllib]`` 2.60) pins gymnasium 1.2.2, so it gets a venv of its own: ``make test-rllib``
builds ``.venv-rllib`` (``pip install -c constraints-rllib.txt -e ".[rl,rllib]"``), then
``.venv-rllib/bin/python examples/rllib_ppo.py``. RLlib makes the env from its Gymnasium id; the
``nas_gym:`` prefix makes Gymnasium import nas_gym (which registers the ids) first, which env
runners in other processes need.
"""

from __future__ import annotations

import argparse
from typing import Any

from ray.rllib.algorithms.ppo import PPOConfig

ENV_ID = "nas_gym:NasGym/NB201-Seq-v0"


def ppo_config(num_envs: int = 4, num_env_runners: int = 0, seed: int = 0, dataset: str = "cifar10") -> PPOConfig:
    """PPO on the Seq env: ``num_envs`` cells built at a time per env runner, 40 cells per iteration."""
    return (
        PPOConfig()
        .environment(ENV_ID, env_config={"dataset": dataset})
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=num_envs)
        .training(train_batch_size_per_learner=240, minibatch_size=60, num_epochs=4, lr=1e-3)
        .debugging(seed=seed)
    )


def search_logs(runner: Any) -> list[dict[str, Any]]:
    """What each env of an env runner has queried (its SearchLog), as plain numbers."""
    if runner.env is None:  # the driver's runner makes no env when remote runners sample
        return []
    out = []
    for env in runner.env.unwrapped.envs:
        log, space = env.unwrapped.search_log, env.unwrapped.space
        out.append({"queries": len(log), "best_val": log.best_val, "best_arch": space.to_string(log.best_index)})
    return out


def train(iterations: int = 20, **config: Any) -> dict[str, Any]:
    """Run ``iterations`` PPO iterations; the per-iteration results, every env's log and the best cell."""
    algo = ppo_config(**config).build_algo()
    try:
        results = [algo.train() for _ in range(iterations)]
        logs = [log for logs in algo.env_runner_group.foreach_env_runner(search_logs) for log in logs]
    finally:
        algo.stop()
    best = max(logs, key=lambda log: log["best_val"])
    return {"results": results, "logs": logs, "best_val": best["best_val"], "best_arch": best["best_arch"]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--env-runners", type=int, default=0, help="remote env runners (0: sample in this process)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = train(args.iterations, num_env_runners=args.env_runners, seed=args.seed)
    returns = [r["env_runners"]["episode_return_mean"] for r in out["results"]]
    print(f"mean reward per cell: first iteration {returns[0]:.3f}, last {returns[-1]:.3f}")
    print(f"best cell: {out['best_arch']}, validation accuracy {out['best_val']:.2f}%")


if __name__ == "__main__":
    main()
