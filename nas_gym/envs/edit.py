"""Edit: change one decision of the current architecture per step (Preiss et al., EAS, mutations).

Action: ``Discrete(E*O)``; action ``e*O + o`` sets decision ``e`` to option ``o``. Each real edit
queries the new architecture; the reward is the change of the named reward. Observation: the
current architecture's one-hot, its last validation accuracy (fraction) and the share of the
episode left. An episode is ``budget`` edits from a uniformly random start (or the architecture
given as ``reset(options={"arch": ...})``, e.g. one sampled from a top-K), queried at reset.
Every ``info`` carries ``action_masks()`` of the new state as ``info["action_mask"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .checks import integer_action, whole_number
from .core import NasEnv
from .reach import index_steps


class EditEnv(NasEnv):
    """``budget`` edits per episode, each a query; ``action_masks()`` marks the real edits.

    Invalid actions: a masked action (setting a decision to the option it already has, a padded
    option, an integer outside the action space, or an edit to an architecture the table lacks,
    such as NAS-Bench-Graph's all-skip cells) leaves the architecture unchanged, makes no query,
    earns reward 0 and still uses up one step of the episode. A value that is not an integer
    (NaN, None, 2.5) is no action at all: ValueError, and the step is not counted.
    """

    def __init__(self, budget: int = 20, **kwargs: Any) -> None:
        budget = whole_number("budget", budget, meaning="edits per episode")
        super().__init__(**kwargs)
        self.budget = budget
        n = self._E * self._O
        self.observation_space = spaces.Box(0.0, 1.0, (n + 2,), dtype=np.float32)
        self.action_space = spaces.Discrete(n)
        self._n = n
        self._real = self.space.option_mask.ravel().tolist()  # Python bools and ints: read once per step
        self._steps = index_steps(self.space).tolist()
        self._offsets = np.arange(self._E) * self._O  # flat position of option 0 of each decision
        self._obs_buf = np.zeros(n + 2, dtype=np.float32)  # one-hot of codes, kept up to date in place
        self._index = 0
        self._val = 0.0
        self._r = 0.0
        self.t = 0

    def action_masks(self) -> np.ndarray:
        return self.problem.reach.edit_mask(self.codes, self._index)

    def _obs(self) -> np.ndarray:
        obs = self._obs_buf
        obs[-2] = min(max(self._val / 100.0, 0.0), 1.0)
        obs[-1] = 1.0 - self.t / self.budget
        return obs.copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        start = (options or {}).get("arch")
        reach = self.problem.reach
        if start is None:
            self._index = self._sample_answerable()
        else:
            self._index = self.space.parse(start)
            if not reach.answerable(self._index):
                raise ValueError(f"the table has no result for the start architecture {start!r}")
        self.codes = self.space.codes(self._index)
        self._obs_buf[:] = 0.0
        self._obs_buf[self._offsets + self.codes] = 1.0
        self._r, info = self.query_index(self._index)
        self._val = info["val"]
        info["action_mask"] = self.action_masks()
        return self._obs(), info

    def _sample_answerable(self) -> int:
        """Dense index of a uniformly random architecture the table answers."""
        while True:
            index = int(self.space.indices(self.space.sample(self.np_random)))
            if self.problem.reach.answerable(index):
                return index

    def step(self, action):
        if self.t >= self.budget:
            raise RuntimeError("episode is over: call reset()")
        a = integer_action(action, self._n)
        self.t += 1
        done = self.t >= self.budget
        e, o = divmod(a, self._O)
        if not (0 <= a < self._n) or not self._real[a] or self.codes[e] == o:
            return self._obs(), 0.0, done, False, {"action_mask": self.action_masks()}
        old = int(self.codes[e])
        target = self._index + (o - old) * self._steps[e]
        if not self.problem.reach.answerable(target):
            return self._obs(), 0.0, done, False, {"action_mask": self.action_masks()}
        self.codes = self.codes.copy()
        self.codes[e] = o
        self._index = target
        self._obs_buf[a - o + old] = 0.0  # e * O + old: the option the edit replaces
        self._obs_buf[a] = 1.0
        r, info = self.query_index(target)
        reward, self._val, self._r = r - self._r, info["val"], r
        info["action_mask"] = self.action_masks()
        return self._obs(), reward, done, False, info
