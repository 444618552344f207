"""Seq: build an architecture one decision per step (Zoph & Le, MetaQNN, ENAS).

Observation: the one-hot options chosen so far (zeros for decisions not yet made) followed by a
one-hot of the position. Action: ``Discrete(max options)``; ``action_masks()`` marks the options
of the current decision, and every ``info`` carries the same mask as ``info["action_mask"]``.
The episode is one architecture: reward 0 until the last decision, then the named reward of
the queried architecture, and ``terminated=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .checks import integer_action
from .core import NasEnv
from .encoding import SeqObs, seq_obs_size


class SeqEnv(NasEnv):
    """One decision per step; one episode = one queried architecture.

    Invalid actions: an option beyond the current decision's count (possible only where
    decisions have fewer options than the largest, when masks are ignored; or any integer a
    caller passes) is taken modulo that count, so every integer sets a real option and never
    fails; a value that is not an integer (NaN, None, 2.5) raises ValueError (see :mod:`.checks`).
    Where the table lacks some architectures (NAS-Bench-Graph's all-skip cells) the masks also
    leave out options after which none remains; an agent that ignores them and completes such
    an architecture ends the episode with the reward of 0% validation, no query and
    ``info["no_result"]``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        E, O = self._E, self._O
        self.observation_space = spaces.Box(0.0, 1.0, (seq_obs_size(E, O),), dtype=np.float32)
        self.action_space = spaces.Discrete(O)
        self._n_opts = [int(n) for n in self.space.n_options]
        # the layout; its one row stays an episode's first observation, the episode's own is _obs
        self._layout = SeqObs(1, E, O)
        self._obs = self._layout.buf[0].copy()
        self.t = 0

    def decided(self) -> int:
        return self.t

    def action_masks(self) -> np.ndarray:
        """Valid options of the current decision.

        Once the episode is over no action is taken (the next call is ``reset``, or under a
        vector env's next-step autoreset the step that resets, which ignores its action), and
        every option is marked valid, so that a collector that still samples a masked action
        for that state draws from a well-defined distribution.
        """
        if self.t >= self._E:
            return np.ones(self._O, dtype=bool)
        return self.problem.reach.seq_mask_one(self.codes, self.t)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.codes = np.zeros(self._E, dtype=np.int64)
        self.last_record = None
        self._obs = self._layout.buf[0].copy()
        return self._obs.copy(), {"action_mask": self.action_masks()}

    def step(self, action):
        t = self.t
        if t >= self._E:
            raise RuntimeError("episode is over: call reset()")
        option = integer_action(action, self._O) % self._n_opts[t]
        self.codes[t] = option
        chosen, was, now = self._layout.flips(t, option)  # scalar writes to a 1-D row beat 2-D indexing
        obs = self._obs
        obs[chosen], obs[was], obs[now] = 1.0, 0.0, 1.0
        self.t = t = t + 1
        if t < self._E:
            return obs.copy(), 0.0, False, False, {"action_mask": self.action_masks()}
        reward, info = self.query(self.codes)
        info["action_mask"] = np.ones(self._O, dtype=bool)
        return obs.copy(), reward, True, False, info
