"""Edit: change one decision of the current architecture per step (Preiss et al., EAS, mutations).

Action: ``Discrete(E*O)``; action ``e*O + o`` sets decision ``e`` to option ``o``. ``action_masks()``
marks the real options that differ from the current ones. A masked action (a no-op or an
out-of-range option) leaves the architecture unchanged, costs no query and earns reward 0.
Each real edit queries the new architecture; the reward is the change of the named reward.
Observation: the current architecture's one-hot, its last validation accuracy (fraction) and the
share of the episode left. An episode is ``budget`` edits from a uniformly random start, whose
query is made at reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .core import NasEnv


class EditEnv(NasEnv):
    def __init__(self, budget: int = 20, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(budget) < 1:
            raise ValueError(f"budget must be >= 1, got {budget}")
        self.budget = int(budget)
        n = self._E * self._O
        self.observation_space = spaces.Box(0.0, 1.0, (n + 2,), dtype=np.float32)
        self.action_space = spaces.Discrete(n)
        self._real = self.space.option_mask.ravel()
        self.t = 0

    def action_masks(self) -> np.ndarray:
        mask = self._real.copy()
        mask[np.arange(self._E) * self._O + self.codes] = False
        return mask

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self._E * self._O + 2, dtype=np.float32)
        obs[np.arange(self._E) * self._O + self.codes] = 1.0
        obs[-2] = min(max(self._val / 100.0, 0.0), 1.0)
        obs[-1] = 1.0 - self.t / self.budget
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.codes = self.space.sample(self.np_random)
        rec, info = self.query(self.codes)
        self._val, self._r = rec.val, float(self.reward_fn(rec))
        return self._obs(), info

    def step(self, action):
        if self.t >= self.budget:
            raise RuntimeError("episode is over: call reset()")
        a = int(action)
        self.t += 1
        done = self.t >= self.budget
        e, o = divmod(a, self._O)
        if not (0 <= a < self._E * self._O) or not self._real[a] or self.codes[e] == o:
            return self._obs(), 0.0, done, False, {}
        self.codes = self.codes.copy()
        self.codes[e] = o
        rec, info = self.query(self.codes)
        r = float(self.reward_fn(rec))
        reward, self._val, self._r = r - self._r, rec.val, r
        return self._obs(), reward, done, False, info
