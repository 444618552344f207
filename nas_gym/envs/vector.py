"""Numpy-batched vector envs for Seq and Cont: N searches stepped as arrays, one table lookup.

``gym.make_vec("NasGym/NB201-Seq-v0", num_envs=64)`` returns one of these (the ids' registered
``vector_entry_point``). Observations, actions, rewards and flags are the single env's, stacked;
the keyword arguments are the single env's. Differences from N single envs:

- autoreset is ``SAME_STEP``: the step that ends an episode returns the first observation of the
  next one; the last observation is in ``info["final_obs"]`` (rows flagged by ``"_final_obs"``);
- ``info`` holds arrays over the envs, each key ``k`` with its mask ``"_k"`` (Gymnasium's
  convention): ``arch_index`` (the queried architecture's table row, as single envs report it),
  ``val`` and ``cost_s`` for the envs that queried this step. There is no arch string and no search log: a batched
  search keeps its own arrays;
- the table's training-seed draws come from the vector env's one ``np_random``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .checks import cont_action, integer_actions, whole_number
from .cont import check_cont_args
from .core import check_render_mode, make_problem, problem_kwargs
from .encoding import SeqObs, clip_action, discretiser, one_hot_rows, seq_obs_size
from .render import describe
from .topk import TopK


class NasVectorEnv(VectorEnv):
    """Base of the batched envs: the problem, the architectures ``codes`` ``(N, E)``, queries."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["ansi"]}

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any) -> None:
        num_envs = whole_number("num_envs", num_envs)
        self.problem = make_problem(**problem_kwargs(type(self), kwargs))
        self.render_mode = check_render_mode(render_mode, tuple(self.metadata["render_modes"]))
        self.num_envs = int(num_envs)
        self.space = self.problem.space
        self._E, self._O = self.space.n_decisions, self.space.max_options
        self.codes = np.zeros((self.num_envs, self._E), dtype=np.int64)
        self.t = np.zeros(self.num_envs, dtype=np.int64)

    def _set_spaces(self, observation: spaces.Space, action: spaces.Space) -> None:
        self.single_observation_space, self.single_action_space = observation, action
        self.observation_space = batch_space(observation, self.num_envs)
        self.action_space = batch_space(action, self.num_envs)

    def _query(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Query the architectures of envs ``rows``: their val, reward and the info arrays."""
        idx = self.space.indices(self.codes[rows])
        val, cost, reward = self.problem.query_batch(idx, self.np_random)
        rows_of = getattr(self.problem.backend, "rows", None)  # the row a single env's query reports
        columns = {"arch_index": idx if rows_of is None else rows_of(idx), "val": val, "cost_s": cost}
        answered = ~np.isnan(val)  # no result, no query (see SeqEnv / ContEnv)
        if len(rows) < self.num_envs:  # scatter to full length (the common case: every env queried)
            fills = {"arch_index": -1, "val": np.nan, "cost_s": np.nan}
            for key, column in columns.items():
                columns[key] = np.full(self.num_envs, fills[key], dtype=column.dtype)
                columns[key][rows] = column
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[rows] = answered
        else:
            mask = answered
        info: dict[str, np.ndarray] = {}
        for key, column in columns.items():
            info[key], info["_" + key] = column, mask
        return val, reward, info

    def _autoreset(self, done: np.ndarray, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Start new episodes in the ``done`` envs; the observation after it, final ones in info."""
        if not done.any():
            return obs
        info["final_obs"] = np.where(done[:, None], obs, 0.0).astype(np.float32)
        info["_final_obs"] = done.copy()
        rows = np.flatnonzero(done)
        self._clear(rows)
        return self._obs()

    def _clear(self, rows: np.ndarray | slice) -> None:
        self.codes[rows] = 0
        self.t[rows] = 0

    def _obs(self) -> np.ndarray:
        raise NotImplementedError

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._clear(slice(None))
        return self._obs(), {}

    def render(self) -> tuple[str, ...] | None:
        if self.render_mode != "ansi":
            return None
        return tuple(describe(self.space, c, self._decided(i)) for i, c in enumerate(self.codes))

    def _decided(self, i: int) -> int:
        return self._E


class SeqVectorEnv(NasVectorEnv):
    """N :class:`~nas_gym.envs.seq.SeqEnv` episodes as arrays (same observation, action, reward)."""

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        self._set_spaces(
            spaces.Box(0.0, 1.0, (seq_obs_size(self._E, self._O),), dtype=np.float32), spaces.Discrete(self._O)
        )
        self._n_opts = self.space.n_options
        self._rows = np.arange(self.num_envs)
        self._seq_obs = SeqObs(self.num_envs, self._E, self._O)

    def _clear(self, rows: np.ndarray | slice) -> None:
        super()._clear(rows)
        self._seq_obs.reset(rows)

    def _obs(self) -> np.ndarray:
        return self._seq_obs.buf.copy()

    def _decided(self, i: int) -> int:
        return int(self.t[i])

    def action_masks(self) -> np.ndarray:
        """``(N, O)``: the valid options of each env's current decision."""
        out = np.zeros((self.num_envs, self._O), dtype=bool)
        for t in np.unique(self.t):  # envs usually share their position
            rows = self.t == t
            out[rows] = self.problem.reach.seq_mask(self.codes[rows], int(t))
        return out

    def step(self, actions):
        a = integer_actions(actions, self.num_envs, self._O)
        options = a % self._n_opts[self.t]
        self.codes[self._rows, self.t] = options
        self._seq_obs.decide(self._rows, self.t, options)
        self.t += 1
        done = self.t >= self._E
        reward = np.zeros(self.num_envs)
        info: dict[str, Any] = {}
        if done.any():
            rows = np.flatnonzero(done)
            _, reward[rows], info = self._query(rows)
        obs = self._autoreset(done, self._obs(), info)
        return obs, reward, done, np.zeros(self.num_envs, dtype=bool), info


class ContVectorEnv(NasVectorEnv):
    """N :class:`~nas_gym.envs.cont.ContEnv` searches as arrays (same keywords and top-K state)."""

    def __init__(self, num_envs: int = 1, budget: int = 500, top_k: int = 64, obs: str = "topk", **kwargs: Any) -> None:
        budget, top_k = check_cont_args(budget, top_k, obs)
        super().__init__(num_envs, **kwargs)
        self.budget, self.top_k, self.obs_mode = budget, top_k, obs
        n = self._E * self._O
        self._set_spaces(spaces.Box(0.0, 1.0, (n,), dtype=np.float32), spaces.Box(-1.0, 1.0, (n,), dtype=np.float32))
        self._discretise = discretiser(self.space)
        self._top = TopK(self.num_envs, self.top_k, self._E, self._O)
        self._all = np.arange(self.num_envs)

    def _clear(self, rows: np.ndarray | slice) -> None:
        super()._clear(rows)
        self._top.clear(rows)

    def _obs(self) -> np.ndarray:
        if self.obs_mode == "previous":
            return one_hot_rows(self.codes, self._O) * (self.t > 0)[:, None].astype(np.float32)
        return self._top.mean_one_hot()

    def step(self, actions):
        actions = cont_action(actions, self.action_space.shape)
        self.codes = self._discretise(clip_action(actions, self._E, self._O))
        val, reward, info = self._query(self._all)
        self.t += 1
        self._top.add(val, self.codes)
        done = self.t >= self.budget
        obs = self._autoreset(done, self._obs(), info)
        return obs, reward, done, np.zeros(self.num_envs, dtype=bool), info
