"""Train a Stable-Baselines3 agent on a NasGym env and print the best architecture it found.

    python scripts/train_sb3.py --algo PPO --env NB201-Seq-v0 [--steps N --seed S --dataset D]

The envs run in a DummyVecEnv (``make_vec_env``): table lookups are cheap, so subprocesses would
cost more than they save. Every env keeps its SearchLog; the best architecture is read from the
``best_val`` / ``best_arch`` entries of their ``info``, its regret from the SearchLog itself
(``info`` carries no oracle figures). On-policy algorithms train in whole rollouts, so the
steps trained can exceed ``--steps``: the report gives the number trained.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gymnasium as gym
import torch
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import is_masking_supported
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import nas_gym  # noqa: F401  (registers the NasGym ids)
from nas_gym.agents.sb3 import without_log_folder
from nas_gym.experiments.runner import full_env_id
from nas_gym.progress import Progress

ALGOS: dict[str, type[BaseAlgorithm]] = {a.__name__: a for a in (PPO, A2C, DQN, MaskablePPO, SAC, TD3, DDPG)}
# what each algorithm can drive: SB3 rejects the other action spaces with a less direct message
ACTION_SPACES = {"DQN": gym.spaces.Discrete, "SAC": gym.spaces.Box, "TD3": gym.spaces.Box, "DDPG": gym.spaces.Box}
ROLLOUT = ("PPO", "MaskablePPO")  # on-policy with 2048-step rollouts by default


class SearchProgress(BaseCallback):
    """Progress over the training steps showing the best validation so far (a bar on a terminal,
    plain lines in a log: :mod:`nas_gym.progress`), and the search totals.

    (SB3's own ``progress_bar=True`` needs ``rich``, which nas-gym does not depend on.)
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self.best: dict[str, Any] = {}
        self.latest: dict[int, dict[str, Any]] = {}  # env -> its SearchLog's last totals

    def _on_training_start(self) -> None:
        self.report = Progress(self.total, "train", "step")

    def _on_step(self) -> bool:
        for i, info in enumerate(self.locals["infos"]):
            if not info.get("n_queries"):
                continue
            self.latest[i] = info
            if info["best_val"] > self.best.get("best_val", -float("inf")):
                self.best = {k: info[k] for k in ("best_val", "best_arch")} | {"env": i}
        self.report.update(
            self.training_env.num_envs, **({"best_val": f"{self.best['best_val']:.2f}"} if self.best else {})
        )
        return True

    def _on_training_end(self) -> None:
        self.report.close()

    @property
    def n_queries(self) -> int:
        return sum(info["n_queries"] for info in self.latest.values())

    @property
    def sim_time_s(self) -> float:
        return sum(info["sim_time_s"] for info in self.latest.values())


def build(algo: str, env_id: str, steps: int, seed: int, n_envs: int, env_kwargs: dict[str, Any]) -> BaseAlgorithm:
    """The model, on ``n_envs`` copies of ``env_id``; ValueError when ``algo`` cannot drive it."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; valid: {list(ALGOS)}")
    venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    need = ACTION_SPACES.get(algo)
    if need is not None and not isinstance(venv.action_space, need):
        raise ValueError(f"{algo} needs a {need.__name__} action space; {env_id} has {venv.action_space}")
    if algo == "MaskablePPO" and not is_masking_supported(venv):
        raise ValueError(f"MaskablePPO needs action_masks(): use a Seq or Edit env, not {env_id}")
    kwargs: dict[str, Any] = {"seed": seed, "verbose": 0}
    if algo in ROLLOUT:  # a short run still completes (and learns from) a rollout
        kwargs["n_steps"] = min(2048, max(16, steps // n_envs))
        kwargs["batch_size"] = min(64, kwargs["n_steps"] * n_envs)
    return without_log_folder(ALGOS[algo]("MlpPolicy", venv, **kwargs))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--algo", default="PPO", help=f"one of {', '.join(ALGOS)} (default: PPO)")
    p.add_argument("--env", default="NB201-Seq-v0", help="a NasGym id, e.g. NB201-Seq-v0 or NasGym/NB201-Seq-v0")
    p.add_argument("--steps", type=int, default=10_000, help="training steps (default: 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default=None, help="the benchmark's dataset (default: its first)")
    p.add_argument("--reward", default=None, help="named reward: val, cadam, regret, constrained")
    p.add_argument("--n-envs", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch threads: small MLPs run fastest on one")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    env_kwargs = {k: v for k, v in (("dataset", args.dataset), ("reward", args.reward)) if v is not None}
    try:
        model = build(args.algo, full_env_id(args.env), args.steps, args.seed, args.n_envs, env_kwargs)
    except (ValueError, gym.error.Error) as e:
        print(f"train_sb3: error: {e}", file=sys.stderr)
        return 2
    progress = SearchProgress(args.steps)
    model.learn(total_timesteps=args.steps, callback=progress)
    best = progress.best
    if not best:
        print("no architecture was queried: train for more steps")
        return 1
    asked = "" if model.num_timesteps == args.steps else f" ({args.steps} asked; training runs whole rollouts)"
    print(f"{args.algo} on {args.env}, {model.num_timesteps} steps trained{asked} (seed {args.seed})")
    print(f"best architecture: {best['best_arch']}")
    line = f"validation accuracy: {best['best_val']:.2f}%"
    regret = model.get_env().get_attr("regret", indices=[best["env"]])[0]
    if regret is not None:
        line += f" (regret of its seed mean to the table's optimum: {regret:.2f})"
    print(line)
    print(f"queries: {progress.n_queries}, simulated search time: {progress.sim_time_s / 3600:.1f} GPU-hours")
    return 0


if __name__ == "__main__":
    sys.exit(main())
