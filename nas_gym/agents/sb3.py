"""Stable-Baselines3 (and sb3-contrib) algorithms as agents: ``make("sb3:PPO", **hyperparams)``.

The adapter builds the model on the env it is given, trains it with ``model.learn`` and stops
training, through a callback, as soon as the env's search log shows the budget spent. What the
search found is read from the log like any other agent's, so RL agents and baselines are
scored the same way. Which env families an algorithm drives follows from its action spaces:
discrete-action algorithms drive Seq and Edit, continuous-action ones drive Cont.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import gymnasium as gym

from ..envs.search_log import QueryLog
from .base import Budget, SearchResult, new_search

_ALL = ("Seq", "Cont", "Edit")
_DISCRETE = ("Seq", "Edit")
_BOX = ("Cont",)
# algorithm -> (module, env families it can drive)
ALGOS: dict[str, tuple[str, tuple[str, ...]]] = {
    "PPO": ("stable_baselines3", _ALL),
    "A2C": ("stable_baselines3", _ALL),
    "DQN": ("stable_baselines3", _DISCRETE),
    "SAC": ("stable_baselines3", _BOX),
    "TD3": ("stable_baselines3", _BOX),
    "DDPG": ("stable_baselines3", _BOX),
    "MaskablePPO": ("sb3_contrib", _DISCRETE),
    "TRPO": ("sb3_contrib", _ALL),
    "ARS": ("sb3_contrib", _ALL),
    "QRDQN": ("sb3_contrib", _DISCRETE),
    "TQC": ("sb3_contrib", _BOX),
    "CrossQ": ("sb3_contrib", _BOX),
    "RecurrentPPO": ("sb3_contrib", _ALL),
}


def without_log_folder(model: Any) -> Any:
    """``model`` with a logger that writes nothing: SB3's default one makes an ``SB3-<date>``
    folder in the system temp dir on every ``learn()``, even when it has nothing to write."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


class SpendOnly(gym.Wrapper):
    """Once ``budget`` is spent, steps and resets answer without reaching the env (no query).

    The callback can stop SB3 only after a step, and SB3 resets an env as soon as its episode
    ends (an Edit env's reset queries its start architecture): without this guard, a search
    whose budget ran out at learn()'s first reset, or at the end of an episode, would query once more.
    """

    def __init__(self, env: gym.Env, budget: Budget, log: QueryLog) -> None:
        super().__init__(env)
        self.budget, self.log = budget, log
        self._obs: Any = None

    def reset(self, **kwargs: Any):
        if self._obs is not None and self.budget.done(self.log):
            return self._obs, {}
        self._obs, info = self.env.reset(**kwargs)
        return self._obs, info

    def step(self, action: Any):
        if self.budget.done(self.log):
            return self._obs, 0.0, True, False, {}
        self._obs, reward, terminated, truncated, info = self.env.step(action)
        return self._obs, reward, terminated, truncated, info


class SB3Agent:
    """Train ``algo`` (an SB3 or sb3-contrib class name) until the query budget is spent.

    ``hyperparams`` go to the algorithm's constructor; ``policy`` is its policy name.
    ``max_steps`` caps env steps in case a policy stops querying (Edit's no-op edits are free).
    """

    def __init__(self, algo: str, policy: str = "MlpPolicy", max_steps: int = 200_000, **hyperparams: Any) -> None:
        if algo not in ALGOS:
            raise ValueError(f"unknown SB3 algorithm {algo!r}; valid: {sorted(ALGOS)}")
        self.algo, self.policy, self.max_steps, self.hyperparams = algo, policy, int(max_steps), hyperparams
        self.name = f"sb3:{algo}"
        self.families = ALGOS[algo][1]

    def __repr__(self) -> str:
        return f"SB3Agent(algo={self.algo!r}, policy={self.policy!r}, **{self.hyperparams!r})"

    def model_class(self) -> type[Any]:
        return getattr(import_module(ALGOS[self.algo][0]), self.algo)

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        from stable_baselines3.common.callbacks import BaseCallback

        log = new_search(self, env)

        class StopAtBudget(BaseCallback):
            def _on_step(self) -> bool:
                return not budget.done(log)

        guarded = SpendOnly(env, budget, log)
        model = without_log_folder(self.model_class()(self.policy, guarded, seed=seed, verbose=0, **self.hyperparams))
        model.learn(total_timesteps=self.max_steps, callback=StopAtBudget())
        return SearchResult.from_log(self.name, seed, log, budget, algo=self.algo)
