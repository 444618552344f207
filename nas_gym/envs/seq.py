"""Seq: build an architecture one decision per step (Zoph & Le, MetaQNN, ENAS).

Observation: the one-hot options chosen so far (zeros for decisions not yet made) followed by a
one-hot of the position. Action: ``Discrete(max options)``; ``action_masks()`` marks the options
of the current decision. An out-of-range option (only possible where decisions have fewer
options than the largest, and only when masks are ignored) is taken modulo the decision's
option count, so a step never fails. The episode is one architecture: reward 0 until the last
decision, then the named reward of the queried architecture, and ``terminated=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .core import NasEnv


class SeqEnv(NasEnv):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        E, O = self._E, self._O
        self.observation_space = spaces.Box(0.0, 1.0, (E * O + E + 1,), dtype=np.float32)
        self.action_space = spaces.Discrete(O)
        self._mask = self.space.option_mask
        self.t = 0

    def _obs(self) -> np.ndarray:
        E, O = self._E, self._O
        obs = np.zeros(E * O + E + 1, dtype=np.float32)
        t = self.t
        if t:
            obs[np.arange(t) * O + self.codes[:t]] = 1.0
        obs[E * O + t] = 1.0
        return obs

    def action_masks(self) -> np.ndarray:
        """Valid options of the current decision (all False once the episode is over)."""
        if self.t >= self._E:
            return np.zeros(self._O, dtype=bool)
        return self._mask[self.t].copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.codes = np.zeros(self._E, dtype=np.int64)
        self.last_record = None
        return self._obs(), {}

    def step(self, action):
        if self.t >= self._E:
            raise RuntimeError("episode is over: call reset()")
        a = int(action)
        self.codes[self.t] = a % int(self._n_opts[self.t])
        self.t += 1
        if self.t < self._E:
            return self._obs(), 0.0, False, False, {}
        rec, info = self.query(self.codes)
        return self._obs(), float(self.reward_fn(rec)), True, False, info
