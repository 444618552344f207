"""Cont: one whole architecture per step from a continuous action (DDAS, CADAM).

Action: ``Box(-1, 1, (E*O,))``, rescaled to alpha in [0, 1] and discretised by the space (argmax
per decision for NB201, the thesis's Algorithm 3). Observation: the mean one-hot of the ``top_k``
best architectures of the episode so far (CADAM's state, ``obs="topk"``) or the one-hot of the
previous architecture (DDAS, ``obs="previous"``); zeros before the first query. One episode is
one search of ``budget`` queries and ends with ``terminated=True``. Out-of-range actions are
clipped, so any finite action is valid.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np
from gymnasium import spaces

from .core import NasEnv

OBS_MODES = ("topk", "previous")


class ContEnv(NasEnv):
    def __init__(self, budget: int = 500, top_k: int = 64, obs: str = "topk", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if obs not in OBS_MODES:
            raise ValueError(f"unknown obs {obs!r}; valid: {list(OBS_MODES)}")
        if int(budget) < 1 or int(top_k) < 1:
            raise ValueError(f"budget and top_k must be >= 1, got budget={budget}, top_k={top_k}")
        self.budget, self.top_k, self.obs_mode = int(budget), int(top_k), obs
        n = self._E * self._O
        self.observation_space = spaces.Box(0.0, 1.0, (n,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (n,), dtype=np.float32)
        self._pad = ~self.space.option_mask.ravel()
        self.t = 0

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """An action whose discretisation is exactly ``codes`` (for whole-architecture agents)."""
        return self.one_hot_flat(np.asarray(codes, dtype=np.int64)) * 2.0 - 1.0

    def decode(self, action: np.ndarray) -> np.ndarray:
        """Codes of the architecture an action selects."""
        a = np.clip(np.nan_to_num(np.asarray(action, dtype=np.float64).ravel(), nan=-1.0), -1.0, 1.0)
        return self.space.discretise(((a + 1.0) / 2.0).reshape(self._E, self._O))

    def _obs(self) -> np.ndarray:
        if not self._heap:
            return np.zeros(self._E * self._O, dtype=np.float32)
        if self.obs_mode == "previous":
            return self.one_hot_flat(self.codes)
        return self._topk_sum.astype(np.float32) / len(self._heap)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.codes = np.zeros(self._E, dtype=np.int64)
        self.last_record = None
        self._heap: list[tuple[float, int, int]] = []  # (val, tie-break, index): min-heap of the top K
        self._topk_sum = np.zeros(self._E * self._O, dtype=np.float64)
        return self._obs(), {}

    def step(self, action):
        if self.t >= self.budget:
            raise RuntimeError("episode is over: call reset()")
        self.codes = self.decode(action)
        rec, info = self.query(self.codes)
        self.t += 1
        self._update_topk(rec.val, self.codes)
        return self._obs(), float(self.reward_fn(rec)), self.t >= self.budget, False, info

    def _update_topk(self, val: float, codes: np.ndarray) -> None:
        item = (val, self.t, int(codes @ self._weights))
        if len(self._heap) < self.top_k:
            heapq.heappush(self._heap, item)
            self._topk_sum += self.one_hot_flat(codes)
        elif val > self._heap[0][0]:
            out = heapq.heapreplace(self._heap, item)
            self._topk_sum += self.one_hot_flat(codes) - self.one_hot_flat(self.space.codes(out[2]))
