"""Search-wide log: every query in order, best-so-far by validation, simulated clock, regret.

It lives in a wrapper rather than in the env because it spans episodes (an RL agent on Seq makes
one query per episode), and an env's ``info`` must not carry cross-episode counters. The log
covers the wrapper's lifetime; :meth:`SearchLog.clear` starts a new search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass
class QueryLog:
    """Arrays-of-columns log of the queries of one search."""

    arch_index: list[int] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    cost_s: list[float] = field(default_factory=list)
    best_val: float = -np.inf
    best_index: int = -1
    sim_time_s: float = 0.0

    def add(self, arch_index: int, val: float, cost_s: float) -> None:
        self.arch_index.append(arch_index)
        self.val.append(val)
        self.cost_s.append(cost_s)
        self.sim_time_s += cost_s
        if val > self.best_val:
            self.best_val, self.best_index = val, arch_index

    def __len__(self) -> int:
        return len(self.val)


class SearchLog(gym.Wrapper):
    """Adds ``n_queries``, ``sim_time_s``, ``best_val``, ``best_arch`` and ``regret`` to ``info``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.log = QueryLog()

    def clear(self) -> None:
        self.log = QueryLog()

    def _augment(self, info: dict[str, Any]) -> dict[str, Any]:
        if "arch_index" in info:
            self.log.add(info["arch_index"], info["val"], info["cost_s"])
        if len(self.log):
            base = self.env.unwrapped
            info["n_queries"] = len(self.log)
            info["sim_time_s"] = self.log.sim_time_s
            info["best_val"] = self.log.best_val
            info["best_arch"] = base.space.to_string(self.log.best_index)
            if base.optimum is not None:
                info["regret"] = base.optimum - self.log.best_val
        return info

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, self._augment(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._augment(info)
