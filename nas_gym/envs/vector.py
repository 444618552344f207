"""Numpy-batched vector envs for Seq and Cont: N searches stepped as arrays, one table lookup.

``gym.make_vec("NasGym/NB201-Seq-v0", num_envs=64)`` returns one of these (the ids' registered
``vector_entry_point``). It steps exactly as ``gym.make_vec(..., vectorization_mode="sync")``
over N single envs does: the same observations, rewards and flags, and the same ``info``
(every key of the single envs' ``info``, as arrays over the envs with their ``"_key"`` masks,
the same dtypes, the search-wide totals per env; under same-step autoreset ``final_obs`` and
``final_info`` where Gymnasium puts them), with Gymnasium's ``call``, ``get_attr`` and
``set_attr``, and ``ansi`` and ``rgb_array`` rendering (a tuple, one entry per env). The
keyword arguments are the single env's, and also:

- ``autoreset_mode``: ``"next_step"`` (default, as Gymnasium's own vector envs: the ending step
  returns the last observation, and the next step resets those envs, ignoring their actions,
  reward 0) or ``"same_step"`` (the ending step returns the next episode's first observation;
  the last one is in ``info["final_obs"]``, that step's info in ``info["final_info"]``). It is a
  keyword, not a ``vector_kwargs`` entry, because Gymnasium's ``make_vec`` refuses
  ``vector_kwargs`` for a vector entry point; ``vectorization_mode="sync"``/``"async"`` take it
  in ``vector_kwargs`` as usual;
- ``max_episode_steps``: truncation after that many steps, as Gymnasium's ``TimeLimit`` (the
  spec's value, Seq's decisions, unless given);
- ``reset(options={"reset_mask": mask})`` resets only the envs in ``mask`` (Gymnasium's
  option); ``reset(seed=[...])`` takes one seed per env (they seed the vector env's one RNG
  together).

What differs from N single envs: the table's training-seed draws come from the vector env's
one ``np_random`` (under ``noise="seed"`` values differ from the single envs' own draws, not
in distribution), and there is no per-query search log (a batched search keeps its own
arrays); the per-env totals that each single env's log puts in ``info`` are kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .checks import cont_action, integer_actions, whole_number
from .cont import check_cont_args, with_budget_left
from .core import arch_string, check_render_mode, make_problem, problem_kwargs, unanswered_string
from .encoding import SeqObs, clip_action, discretiser, one_hot_rows, seq_obs_size
from .mask_obs import dict_obs_keys, mask_space
from .render import describe, draw_architecture
from .search_log import info_defaults
from .topk import TopK

# the per-query entries of a step's info (the rest of INFO_DEFAULTS are the search-wide totals)
QUERY_KEYS = ("arch", "arch_index", "val", "cost_s", "no_result")


def _column(default: Any, n: int) -> np.ndarray:
    """``n`` copies of ``default`` in the array Gymnasium's vector envs stack such values into."""
    return np.full(n, default, dtype=object if isinstance(default, str) else type(default))


class SearchTotals:
    """Per env, the search-wide entries its SearchLog would put in ``info`` (n_queries,
    sim_time_s, best_val, best_arch, best_index, and regret when opted in)."""

    def __init__(self, n: int, defaults: dict[str, Any]) -> None:
        self._defaults = {k: v for k, v in defaults.items() if k not in QUERY_KEYS}
        self.columns = {key: _column(value, n) for key, value in self._defaults.items()}

    def clear(self, rows: np.ndarray | slice) -> None:
        for key, value in self._defaults.items():
            self.columns[key][rows] = value

    def add(
        self,
        rows: np.ndarray,
        index: np.ndarray,
        val: np.ndarray,
        cost: np.ndarray,
        arch: np.ndarray | None,
        regret: Any,
    ) -> None:
        """Envs ``rows`` each made one query (of table row ``index``, observed ``val``, string
        ``arch``); ``regret(index)``: the regret of a best architecture."""
        c = self.columns
        c["n_queries"][rows] += 1
        c["sim_time_s"][rows] += cost
        better = val > c["best_val"][rows]  # strictly, as the search log's
        if better.any():
            won = rows[better]
            c["best_val"][won], c["best_index"][won] = val[better], index[better]
            if "best_arch" in c:
                assert arch is not None  # given whenever strings are kept
                c["best_arch"][won] = arch[better]
            if "regret" in c:
                c["regret"][won] = [regret(int(i)) for i in index[better]]


class NasVectorEnv(VectorEnv):
    """Base of the batched envs: the problem, the architectures ``codes`` ``(N, E)``, queries, ``info``."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi", "rgb_array"]}
    # attributes holding one row per env: get_attr gives each env its row
    PER_ENV = ("codes", "t")

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        oracle_info: bool = False,
        info_strings: bool = True,
        **kwargs: Any,
    ) -> None:
        num_envs = whole_number("num_envs", num_envs)
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.max_episode_steps = (
            None
            if max_episode_steps is None
            else whole_number("max_episode_steps", max_episode_steps, meaning="steps before truncation")
        )
        for name, value in (("oracle_info", oracle_info), ("info_strings", info_strings)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        self.problem = make_problem(**problem_kwargs(type(self), kwargs))
        self.render_mode = check_render_mode(render_mode, tuple(self.metadata["render_modes"]))
        self.num_envs = int(num_envs)
        self.space = self.problem.space
        self._E, self._O = self.space.n_decisions, self.space.max_options
        self.codes = np.zeros((self.num_envs, self._E), dtype=np.int64)
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self._pending = np.zeros(self.num_envs, dtype=bool)  # next-step mode: envs to reset on the next step
        self._last_val = np.full(self.num_envs, np.nan)  # each env's last query (NaN: none), for rendering
        self._strings = info_strings
        defaults = info_defaults(oracle=oracle_info and self.problem.optimum is not None, strings=info_strings)
        self._query_defaults = {k: v for k, v in defaults.items() if k in QUERY_KEYS}
        self._no_queries = {k: _column(v, self.num_envs) for k, v in self._query_defaults.items()}
        self._totals = SearchTotals(self.num_envs, defaults)
        self._everyone = np.ones(self.num_envs, dtype=bool)

    def _set_spaces(self, observation: spaces.Space, action: spaces.Space) -> None:
        self.single_observation_space, self.single_action_space = observation, action
        self.observation_space = batch_space(observation, self.num_envs)
        self.action_space = batch_space(action, self.num_envs)

    # ---------------------------------------------------------------- queries and info
    def _no_query(self) -> dict[str, np.ndarray]:
        """A step's per-query columns for envs that made no query (fresh arrays, to fill in)."""
        return {key: column.copy() for key, column in self._no_queries.items()}

    def _query(self, rows: np.ndarray, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Query the architectures of envs ``rows``: their val and reward; fills their rows of
        ``columns`` and the search totals as each env's query and search log would."""
        idx = self.space.indices(self.codes[rows])
        val, cost, reward = self.problem.query_batch(idx, self.np_random)
        rows_of = getattr(self.problem.backend, "rows", None)  # the row a single env's query reports
        index = idx if rows_of is None else rows_of(idx)
        answered = ~np.isnan(val)  # no result, no query (see SeqEnv / ContEnv)
        hit, miss = rows[answered], rows[~answered]
        arch = None
        if self._strings:
            arch = np.array([arch_string(self.space, int(i)) for i in index[answered]], dtype=object)
            columns["arch"][hit] = arch
            columns["arch"][miss] = [unanswered_string(self.space, int(i)) for i in idx[~answered]]
        columns["arch_index"][hit], columns["val"][hit], columns["cost_s"][hit] = (
            index[answered],
            val[answered],
            cost[answered],
        )
        columns["no_result"][miss] = True
        self._totals.add(hit, index[answered], val[answered], cost[answered], arch, self._regret)
        self._last_val[rows] = val
        return val, reward

    def _regret(self, index: int) -> float:
        """Optimum minus the seed-mean validation of the architecture at table row ``index`` (as SearchLog.regret)."""
        assert self.problem.optimum is not None  # regret is only reported with a known optimum
        return self.problem.optimum - self.problem.mean_val(index)

    def _info(self, columns: dict[str, np.ndarray], present: np.ndarray | None = None) -> dict[str, Any]:
        """The step's info: ``columns`` (taken as they are), copies of the search totals and the
        family's extras, each with its ``"_key"`` mask (``present``: the envs this info speaks
        for; default all)."""
        mask = self._everyone if present is None else present
        info: dict[str, Any] = {}
        for key, column in columns.items():
            info[key], info["_" + key] = column, mask.copy()
        for key, column in self._totals.columns.items():
            info[key], info["_" + key] = column.copy(), mask.copy()
        for key, column in self._extra_info().items():
            info[key], info["_" + key] = column, mask.copy()
        return info

    def _extra_info(self) -> dict[str, np.ndarray]:
        """Per-env info entries of the family (Seq: ``action_mask``)."""
        return {}

    # ---------------------------------------------------------------- autoreset
    def _finish(
        self, reward: np.ndarray, terminated: np.ndarray, columns: dict[str, np.ndarray], skipped: np.ndarray
    ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """The step's return value: truncation, then autoreset in the env's mode.

        ``skipped``: envs that were reset by this step (next-step mode) instead of stepping.
        """
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:  # as Gymnasium's TimeLimit: also on a terminating step
            truncated = ~skipped & (self.t >= self.max_episode_steps)
        done = terminated | truncated
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._pending = done
            return self._obs(), reward, terminated, truncated, self._info(columns)
        if not done.any():
            return self._obs(), reward, terminated, truncated, self._info(columns)
        final = self._info({k: v.copy() for k, v in columns.items()}, present=done)
        last = self._obs()
        final_obs = np.full(self.num_envs, None, dtype=object)
        rows = np.flatnonzero(done)
        for i in rows.tolist():
            final_obs[i] = _row(last, i)
        self._clear(rows)
        for key, value in self._query_defaults.items():  # the reset's info replaces the ended step's
            columns[key][rows] = value
        info = self._info(columns)
        info["final_obs"], info["_final_obs"] = final_obs, done.copy()
        info["final_info"], info["_final_info"] = final, done.copy()
        return self._obs(), reward, terminated, truncated, info

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
        self._last_val[rows] = np.nan

    def _obs(self) -> Any:
        raise NotImplementedError

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset every env, or those of ``options["reset_mask"]`` (a bool array, one per env).

        ``seed`` is one int or a list of one (int or None) per env; the list seeds the vector
        env's one RNG as a whole (the envs share it). A seeded env starts a new search, as a
        single env's seeded reset clears its search log.
        """
        seeded = np.zeros(self.num_envs, dtype=bool)
        if isinstance(seed, (list, tuple, np.ndarray)):
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed must be an int or a list of {self.num_envs} seeds (one per env), got {seed!r}")
            given = [whole_number("seed", s, minimum=0) for s in seeds if s is not None]
            if given:
                super().reset(seed=None)
                self._np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(given)))
                self._np_random_seed = given[0]
            seeded = np.array([s is not None for s in seeds])
        else:
            super().reset(seed=seed)
            seeded[:] = seed is not None
        mask = (options or {}).get("reset_mask")
        if mask is None:
            present = None
            rows: np.ndarray | slice = slice(None)
            self._pending[:] = False
        else:
            present = np.asarray(mask)
            if present.dtype != bool or present.shape != (self.num_envs,):
                raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},), got {mask!r}")
            rows = np.flatnonzero(present)
            self._pending[rows] = False
            seeded &= present
        self._totals.clear(np.flatnonzero(seeded))
        self._clear(rows)
        return self._obs(), self._info(self._no_query(), present)

    # ---------------------------------------------------------------- Gymnasium's VectorEnv API
    def get_attr(self, name: str) -> tuple[Any, ...]:
        """Each env's value of attribute ``name``, as Gymnasium's vector envs give it: its row
        of a per-env array (``codes``, ``t``), the single env's space for ``observation_space``
        and ``action_space``, otherwise the value all envs share (``space``, ``backend``,
        ``render_mode``, ...). AttributeError for a name no env has."""
        if name in self.PER_ENV:
            return tuple(np.array(row) for row in getattr(self, name))
        if name in ("observation_space", "action_space"):
            return (getattr(self, f"single_{name}"),) * self.num_envs
        if not hasattr(self, name):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return (getattr(self, name),) * self.num_envs

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Each env's result of calling its method ``name`` (or its attribute, as :meth:`get_attr`).

        ``render`` and ``action_masks`` give each env its own; any other method belongs to the
        problem the envs share (``encode``, ``decode``, ...): it runs once, and every env gets
        the result.
        """
        if name == "render":
            out = self.render(*args, **kwargs)
            return (None,) * self.num_envs if out is None else out
        if name == "action_masks" and hasattr(self, "action_masks"):
            return tuple(self.action_masks(*args, **kwargs))
        values = self.get_attr(name)
        if callable(values[0]):
            return (values[0](*args, **kwargs),) * self.num_envs
        return values

    def set_attr(self, name: str, values: Any) -> None:
        """Set attribute ``name`` of every env: ``values`` is one value, or a list or tuple of
        one per env. The envs of a batched env share their attributes, so a list must hold
        one value N times (ValueError otherwise)."""
        if isinstance(values, (list, tuple)):
            if len(values) != self.num_envs:
                raise ValueError(
                    f"set_attr({name!r}): give one value or {self.num_envs} (one per env), got {len(values)}"
                )
            if not all(_same(v, values[0]) for v in values[1:]):
                raise ValueError(
                    f"set_attr({name!r}): the {self.num_envs} envs of a {type(self).__name__} share their "
                    f"attributes; got different values {list(values)[:3]}..."
                )
            values = values[0]
        if name in self.PER_ENV or not hasattr(self, name):
            raise AttributeError(f"{type(self).__name__}: {name!r} is not a shared attribute that can be set")
        setattr(self, name, values)

    def render(self) -> tuple[Any, ...] | None:
        """One entry per env, as its single env renders it: a line of text or an RGB image."""
        if self.render_mode == "ansi":
            return tuple(
                describe(self.space, c, self._decided(i), None if np.isnan(v) else float(v)) + "\n"
                for i, (c, v) in enumerate(zip(self.codes, self._last_val))
            )
        if self.render_mode == "rgb_array":
            return tuple(draw_architecture(self.space, c, self._decided(i)) for i, c in enumerate(self.codes))
        return None

    def _decided(self, i: int) -> int:
        return self._E


class SeqVectorEnv(NasVectorEnv):
    """N :class:`~nas_gym.envs.seq.SeqEnv` episodes as arrays (same observation, action, reward, info)."""

    def __init__(self, num_envs: int = 1, dict_obs: Any = False, **kwargs: Any) -> None:
        self._dict_keys = dict_obs_keys(dict_obs)
        super().__init__(num_envs, **kwargs)
        obs_space: spaces.Space = spaces.Box(0.0, 1.0, (seq_obs_size(self._E, self._O),), dtype=np.float32)
        if self._dict_keys is not None:
            obs_space = spaces.Dict({self._dict_keys[0]: obs_space, self._dict_keys[1]: mask_space(self._O)})
        self._set_spaces(obs_space, spaces.Discrete(self._O))
        self._n_opts = self.space.n_options
        self._rows = np.arange(self.num_envs)
        self._seq_obs = SeqObs(self.num_envs, self._E, self._O)

    def _clear(self, rows: np.ndarray | slice) -> None:
        super()._clear(rows)
        self._seq_obs.reset(rows)

    def _obs(self) -> Any:
        obs = self._seq_obs.buf.copy()
        if self._dict_keys is None:
            return obs
        return {self._dict_keys[0]: obs, self._dict_keys[1]: self.action_masks()}

    def _extra_info(self) -> dict[str, np.ndarray]:
        return {"action_mask": self.action_masks()}

    def _decided(self, i: int) -> int:
        return int(self.t[i])

    def action_masks(self) -> np.ndarray:
        """``(N, O)``: the valid options of each env's current decision; every option for an
        env whose episode has ended (its action is ignored: see :meth:`SeqEnv.action_masks`)."""
        fixed = self.problem.reach.fixed_seq_masks  # masks that depend on the position alone: one lookup
        if fixed is not None:
            return fixed[self.t]
        out = np.ones((self.num_envs, self._O), dtype=bool)
        for t in np.unique(self.t[self.t < self._E]):  # envs usually share their position
            rows = self.t == t
            out[rows] = self.problem.reach.seq_mask(self.codes[rows], int(t))
        return out

    def step(self, actions):
        a = integer_actions(actions, self.num_envs, self._O)
        skipped = self._start_step()
        reward = np.zeros(self.num_envs)
        columns = self._no_query()
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
            _, reward[rows] = self._query(rows, columns)
        return self._finish(reward, done, columns, skipped)


class ContVectorEnv(NasVectorEnv):
    """N :class:`~nas_gym.envs.cont.ContEnv` searches as arrays (same keywords, top-K state and info)."""

    def __init__(
        self,
        num_envs: int = 1,
        budget: int = 500,
        top_k: int = 64,
        obs: str = "topk",
        budget_in_obs: bool = False,
        **kwargs: Any,
    ) -> None:
        budget, top_k = check_cont_args(budget, top_k, obs, budget_in_obs)
        super().__init__(num_envs, **kwargs)
        self.budget, self.top_k, self.obs_mode, self.budget_in_obs = budget, top_k, obs, budget_in_obs
        n = self._E * self._O
        self._set_spaces(
            spaces.Box(0.0, 1.0, (n + int(budget_in_obs),), dtype=np.float32),
            spaces.Box(-1.0, 1.0, (n,), dtype=np.float32),
        )
        self._discretise = discretiser(self.space)
        self._top = TopK(self.num_envs, self.top_k, self._E, self._O)
        self._all = np.arange(self.num_envs)

    def _clear(self, rows: np.ndarray | slice) -> None:
        super()._clear(rows)
        self._top.clear(rows)

    def _obs(self) -> np.ndarray:
        if self.obs_mode == "previous":
            obs = one_hot_rows(self.codes, self._O) * (self.t > 0)[:, None].astype(np.float32)
        else:
            obs = self._top.mean_one_hot()
        return with_budget_left(obs, self.t, self.budget) if self.budget_in_obs else obs

    def step(self, actions):
        actions = cont_action(actions, self.action_space.shape)
        skipped = self._start_step()
        codes = self._discretise(clip_action(actions, self._E, self._O))
        columns = self._no_query()
        if skipped.any():  # the envs reset by this step keep their cleared state and make no query
            act = np.flatnonzero(~skipped)
            self.codes[act] = codes[act]
            val, reward = self._query(act, columns)
            full_val, full_reward = np.full(self.num_envs, np.nan), np.zeros(self.num_envs)
            full_val[act], full_reward[act] = val, reward
            val, reward = full_val, full_reward
            self.t[act] += 1
        else:
            self.codes = codes
            val, reward = self._query(self._all, columns)
            self.t += 1
        self._top.add(val, self.codes)
        done = (self.t >= self.budget) & ~skipped
        return self._finish(reward, done, columns, skipped)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):  # arrays compare elementwise
        return bool(np.array_equal(a, b))


def _row(obs: Any, i: int) -> Any:
    """Env ``i``'s observation out of a batched one (a dict of arrays, or an array)."""
    if isinstance(obs, dict):
        return {k: v[i].copy() for k, v in obs.items()}
    return obs[i].copy()


def _autoreset_mode(mode: Any) -> AutoresetMode:
    """``mode`` as an :class:`AutoresetMode`: the enum, its value (``"SameStep"``) or its name in
    snake case (``"same_step"``); ValueError otherwise."""
    valid = (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP)
    for m in valid:
        if mode == m or (isinstance(mode, str) and mode.replace("_", "").lower() == m.value.lower()):
            return m
    raise ValueError(f"unknown autoreset_mode {mode!r}; valid: {['same_step', 'next_step']} (or AutoresetMode)")
