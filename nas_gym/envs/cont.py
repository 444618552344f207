"""Cont: one whole architecture per step from a continuous action (DDAS, CADAM).

Action: ``Box(-1, 1, (E*O,))``, rescaled to alpha in [0, 1] and discretised by the space (argmax
per decision for NB201, the thesis's Algorithm 3). Observation: the mean one-hot of the ``top_k``
best architectures of the episode so far (CADAM's state, ``obs="topk"``) or the one-hot of the
previous architecture (DDAS, ``obs="previous"``); zeros before the first query. One episode is
one search of ``budget`` queries and ends with ``terminated=True``. With ``budget_in_obs=True``
the observation ends with one more entry, the share of the budget left (1 at reset, 0 once
spent), so that a policy can see the end coming; the default leaves it out, the state the
thesis's agents (CADAM, DDAS) were defined on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .checks import cont_action, whole_number
from .core import NasEnv
from .encoding import clip_action, discretiser, one_hot_rows
from .topk import SingleTopK

OBS_MODES = ("topk", "previous")


def check_cont_args(budget: int, top_k: int, obs: str, budget_in_obs: bool = False) -> tuple[int, int]:
    """``(budget, top_k)`` checked (shared with the vector env); ValueError for a bad keyword.

    K is capped at the budget: a search never holds more than ``budget`` architectures, so a
    larger K gives the same state. Neither allocates memory up front: the top-K state grows with
    the architectures it holds (:mod:`.topk`).
    """
    if obs not in OBS_MODES:
        raise ValueError(f"unknown obs {obs!r}; valid: {list(OBS_MODES)}")
    if not isinstance(budget_in_obs, bool):
        raise ValueError(f"budget_in_obs must be True or False, got {budget_in_obs!r}")
    budget = whole_number("budget", budget, meaning="queries per episode")
    top_k = whole_number("top_k", top_k, meaning="architectures in the top-K state")
    return budget, min(top_k, budget)


def with_budget_left(obs: np.ndarray, t: np.ndarray, budget: int) -> np.ndarray:
    """``(n, d)`` observations with a last column, the share of the budget left after ``t`` queries."""
    left = (1.0 - t / budget).astype(np.float32)[:, None]
    return np.concatenate([obs, left], axis=1)


class ContEnv(NasEnv):
    """A whole architecture per step; one episode = one search of ``budget`` queries.

    Invalid actions: values outside [-1, 1] are clipped and NaN counts as -1, so every action
    of the right shape selects an architecture (another shape raises ValueError) (on ties the
    first option of a decision wins). Should it be one the
    table lacks (a space's own discretisation normally prevents that: NAS-Bench-Graph's never
    yields an all-skip cell), the step earns the reward of 0% validation without a query.
    """

    action_space: spaces.Box

    def __init__(
        self, budget: int = 500, top_k: int = 64, obs: str = "topk", budget_in_obs: bool = False, **kwargs: Any
    ) -> None:
        budget, top_k = check_cont_args(budget, top_k, obs, budget_in_obs)
        super().__init__(**kwargs)
        self.budget, self.top_k, self.obs_mode, self.budget_in_obs = budget, top_k, obs, budget_in_obs
        n = self._E * self._O
        self.observation_space = spaces.Box(0.0, 1.0, (n + int(budget_in_obs),), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (n,), dtype=np.float32)
        self._discretise = discretiser(self.space)
        self._top = SingleTopK(self.top_k, self._E, self._O)
        self.t = 0

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """An action whose discretisation is exactly ``codes`` (for whole-architecture agents)."""
        return one_hot_rows(np.asarray(codes, dtype=np.int64)[None], self._O)[0] * 2.0 - 1.0

    def decode(self, action: np.ndarray) -> np.ndarray:
        """Codes of the architecture an action selects (ValueError for an action of the wrong shape)."""
        action = cont_action(action, self.action_space.shape)
        return self._discretise(clip_action(action, self._E, self._O))[0]

    def _obs(self) -> np.ndarray:
        if self.obs_mode == "previous":
            obs = one_hot_rows(self.codes[None], self._O)[0] * float(self.t > 0)
        else:
            obs = self._top.mean_one_hot()
        if self.budget_in_obs:
            return with_budget_left(obs[None], np.array([self.t]), self.budget)[0]
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.codes = np.zeros(self._E, dtype=np.int64)
        self.last_record = None
        self._top.clear()
        return self._obs(), {}

    def step(self, action):
        if self.t >= self.budget:
            raise RuntimeError("episode is over: call reset()")
        self.codes = self.decode(action)
        reward, info = self.query(self.codes)
        self.t += 1
        if "val" in info:
            self._top.add(info["val"], self.codes)
        return self._obs(), reward, self.t >= self.budget, False, info
