"""Numpy-batched vector envs for Seq and Cont: N searches stepped as arrays, one table lookup.

``gym.make_vec("NasGym/NB201-Seq-v0", num_envs=64)`` returns one of these (the ids' registered
``vector_entry_point``). Observations, actions, rewards and flags are the single env's, stacked;
the keyword arguments are the single env's. Differences from N single envs:

- autoreset is ``NEXT_STEP`` by default, as in Gymnasium's own vector envs (so that
  ``gym.make_vec`` steps alike in every ``vectorization_mode``, and RLlib, which reads the step
  after an episode's end as the next episode's reset, sees whole episodes): the ending step
  returns the last observation, and the next step resets those envs, ignoring their actions
  (reward 0). ``autoreset_mode="same_step"``: the step that ends an episode returns the first
  observation of the next one; the last observation is in ``info["final_obs"]`` and that step's
  info in ``info["final_info"]`` (rows flagged by ``"_final_obs"`` / ``"_final_info"``), where
  Gymnasium's own vector envs put them;
- ``max_episode_steps`` truncates episodes (``truncated=True``) after that many steps;
  ``reset(options={"reset_mask": mask})`` resets only the envs in ``mask``; ``reset(seed=[...])``
  takes one seed per env (they seed the vector env's one RNG together);
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

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi"]}

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        num_envs = whole_number("num_envs", num_envs)
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.max_episode_steps = (
            None if max_episode_steps is None
            else whole_number("max_episode_steps", max_episode_steps, meaning="steps before truncation")
        )
        self.problem = make_problem(**problem_kwargs(type(self), kwargs))
        self.render_mode = check_render_mode(render_mode, tuple(self.metadata["render_modes"]))
        self.num_envs = int(num_envs)
        self.space = self.problem.space
        self._E, self._O = self.space.n_decisions, self.space.max_options
        self.codes = np.zeros((self.num_envs, self._E), dtype=np.int64)
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self._pending = np.zeros(self.num_envs, dtype=bool)  # next-step mode: envs to reset on the next step

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

    def _finish(
        self, obs: np.ndarray, reward: np.ndarray, terminated: np.ndarray, info: dict[str, Any], skipped: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """The step's return value: truncation, then autoreset in the env's mode.

        ``skipped``: envs that were reset by this step (next-step mode) instead of stepping.
        """
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:
            truncated = ~terminated & ~skipped & (self.t >= self.max_episode_steps)
        done = terminated | truncated
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._pending = done
            return obs, reward, terminated, truncated, info
        if done.any():
            info["final_obs"] = np.where(done[:, None], obs, 0.0).astype(np.float32)
            info["_final_obs"] = done.copy()
            info["final_info"] = {k: v for k, v in info.items() if k not in ("final_obs", "_final_obs")}
            info["_final_info"] = done.copy()
            self._clear(np.flatnonzero(done))
            obs = self._obs()
        return obs, reward, terminated, truncated, info

    def _start_step(self) -> np.ndarray:
        """Next-step mode: reset the envs whose episode ended on the last step; the mask of them."""
        skipped = self._pending
        if skipped.any():
            self._clear(np.flatnonzero(skipped))
        self._pending = np.zeros(self.num_envs, dtype=bool)
        return skipped

    def _clear(self, rows: np.ndarray | slice) -> None:
        self.codes[rows] = 0
        self.t[rows] = 0

    def _obs(self) -> np.ndarray:
        raise NotImplementedError

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset every env, or those of ``options["reset_mask"]`` (a bool array, one per env).

        ``seed`` is one int or a list of one (int or None) per env; the list seeds the vector
        env's one RNG as a whole (the envs share it).
        """
        if isinstance(seed, (list, tuple, np.ndarray)):
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed must be an int or a list of {self.num_envs} seeds (one per env), got {seed!r}")
            given = [whole_number("seed", s, minimum=0) for s in seeds if s is not None]
            if given:
                super().reset(seed=None)
                self._np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(given)))
                self._np_random_seed = given[0]
        else:
            super().reset(seed=seed)
        mask = (options or {}).get("reset_mask")
        if mask is None:
            rows: np.ndarray | slice = slice(None)
            self._pending[:] = False
        else:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (self.num_envs,):
                raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},), got {mask!r}")
            rows = np.flatnonzero(mask)
            self._pending[rows] = False
        self._clear(rows)
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
        """``(N, O)``: the valid options of each env's current decision.

        An env whose episode has ended (next-step mode, before the step that resets it) ignores
        its action: every option is allowed.
        """
        out = np.ones((self.num_envs, self._O), dtype=bool)
        for t in np.unique(self.t[self.t < self._E]):  # envs usually share their position
            rows = self.t == t
            out[rows] = self.problem.reach.seq_mask(self.codes[rows], int(t))
        return out

    def step(self, actions):
        a = integer_actions(actions, self.num_envs, self._O)
        skipped = self._start_step()
        reward = np.zeros(self.num_envs)
        info: dict[str, Any] = {}
        act = self._rows if not skipped.any() else np.flatnonzero(~skipped)
        t = self.t[act]
        options = a[act] % self._n_opts[t]
        self.codes[act, t] = options
        self._seq_obs.decide(act, t, options)
        self.t[act] += 1
        done = self.t >= self._E
        done &= ~skipped
        if done.any():
            rows = np.flatnonzero(done)
            _, reward[rows], info = self._query(rows)
        return self._finish(self._obs(), reward, done, info, skipped)


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
        skipped = self._start_step()
        codes = self._discretise(clip_action(actions, self._E, self._O))
        if skipped.any():  # the envs reset by this step keep their cleared state and make no query
            act = np.flatnonzero(~skipped)
            self.codes[act] = codes[act]
            val, reward, info = self._query(act)
            full_val, full_reward = np.full(self.num_envs, np.nan), np.zeros(self.num_envs)
            full_val[act], full_reward[act] = val, reward
            val, reward = full_val, full_reward
            self.t[act] += 1
        else:
            self.codes = codes
            val, reward, info = self._query(self._all)
            self.t += 1
        self._top.add(val, self.codes)
        done = (self.t >= self.budget) & ~skipped
        return self._finish(self._obs(), reward, done, info, skipped)


def _autoreset_mode(mode: Any) -> AutoresetMode:
    """``mode`` as an :class:`AutoresetMode`: the enum, its value (``"SameStep"``) or its name in
    snake case (``"same_step"``); ValueError otherwise."""
    valid = (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP)
    for m in valid:
        if mode == m or (isinstance(mode, str) and mode.replace("_", "").lower() == m.value.lower()):
            return m
    raise ValueError(f"unknown autoreset_mode {mode!r}; valid: {['same_step', 'next_step']} (or AutoresetMode)")
