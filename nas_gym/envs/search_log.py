"""Search-wide log: every query in order, best-so-far by validation, simulated clock, regret.

It lives in a wrapper rather than in the env because it spans episodes (an RL agent on Seq makes
one query per episode), and an env's ``info`` must not carry cross-episode counters. The log
covers the wrapper's lifetime; :meth:`SearchLog.clear` starts a new search.

What a search observes in ``info`` is what retraining the architectures it queried would show:
observed validation values and totals derived from them. Figures that need the table's
noise-free seed means or its optimum (``regret``) would tell an agent more than a real search
could know, so they reach ``info`` only with ``gym.make(..., oracle_info=True)``; the log's
:attr:`SearchLog.regret` and the results files keep them for evaluation either way.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass
class QueryLog:
    """Columns of the queries of one search (compact typed arrays: a search can run for millions;
    ``arch_index`` is a list of Python ints in spaces whose indices exceed int64, DARTS's)."""

    arch_index: array | list = field(default_factory=lambda: array("q"))
    val: array = field(default_factory=lambda: array("d"))
    cost_s: array = field(default_factory=lambda: array("d"))
    best_val: float = -np.inf
    best_index: int = -1
    sim_time_s: float = 0.0

    def add(self, arch_index: int, val: float, cost_s: float) -> bool:
        """Append one query; True when it is the new best by (observed) validation."""
        self.arch_index.append(arch_index)
        self.val.append(val)
        self.cost_s.append(cost_s)
        self.sim_time_s += cost_s
        if val > self.best_val:
            self.best_val, self.best_index = val, arch_index
            return True
        return False

    def __len__(self) -> int:
        return len(self.val)


# Every step and reset of a logged env returns these keys (Tianshou's buffers and other batched
# collectors need one key set throughout); the values stand for "no query" / "no best yet".
INFO_DEFAULTS: dict[str, Any] = {
    "arch": "",
    "arch_index": -1,
    "val": -math.inf,
    "cost_s": 0.0,
    "no_result": False,
    "n_queries": 0,
    "sim_time_s": 0.0,
    "best_val": -math.inf,
    "best_arch": "",
    "best_index": -1,
}
# the entries that are strings (and, in spaces whose indices exceed int64, the indices too)
STRING_KEYS = ("arch", "best_arch")
INDEX_KEYS = ("arch_index", "best_index")


def info_defaults(big: bool = False, oracle: bool = False, strings: bool = True) -> dict[str, Any]:
    """:data:`INFO_DEFAULTS` as an env reports them: indices as decimal strings where the space's
    indices exceed int64 (``big``), ``regret`` (inf) when ``oracle``, no strings unless ``strings``."""
    out = dict(INFO_DEFAULTS)
    if big:
        out.update({key: "-1" for key in INDEX_KEYS})
    if oracle:
        out["regret"] = math.inf
    for key in dropped_keys(big, strings):
        del out[key]
    return out


def dropped_keys(big: bool, strings: bool) -> tuple[str, ...]:
    """The keys ``info_strings=False`` leaves out: the string entries (with the indices, where they are strings)."""
    return () if strings else STRING_KEYS + (INDEX_KEYS if big else ())


class SearchLog(gym.Wrapper):
    """Adds ``n_queries``, ``sim_time_s``, ``best_val``, ``best_arch``, ``best_index`` (and, opted
    in, ``regret``) to ``info``.

    ``best_val`` is the best validation value the search observed (one training seed per query
    under ``noise="seed"``); ``regret`` is the table's optimum minus the seed-mean validation of
    that best architecture, so it measures the architecture found, not the luck of its seed, and
    is never negative. It exists where the backend knows its optimum, and goes into ``info``
    only when ``oracle_info`` is True (see the module docstring).

    Every ``info`` has the same keys, :data:`INFO_DEFAULTS` (plus ``regret`` when opted in, and
    the env's own per-step entries such as ``action_mask``):
    a step that makes no query reports ``arch_index`` -1, ``val`` -inf and ``arch`` ``""`` (not
    NaN, which compares unequal to itself and would fail determinism checks); ``best_val`` is
    -inf and ``regret`` inf before the first query. In spaces whose indices exceed int64 (DARTS)
    ``arch_index`` and ``best_index`` are decimal strings (``"-1"`` for none): no int64 array
    holds them when a vector env stacks the infos. ``info_strings=False`` leaves every string
    entry out (``arch``, ``best_arch``, and such indices), for libraries that read each entry
    into a tensor (TorchRL's vectorised ``GymEnv``).
    A seeded ``reset(seed=...)`` starts a new search (the log is cleared), so that a seeded
    reset reproduces everything, as Gymnasium's checks expect; unseeded resets continue it.
    The log is also reachable from the env itself, as ``env.unwrapped.search_log``.
    """

    def __init__(self, env: gym.Env, oracle_info: bool = False, info_strings: bool = True) -> None:
        super().__init__(env)
        for name, value in (("oracle_info", oracle_info), ("info_strings", info_strings)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        self.oracle_info, self.info_strings = oracle_info, info_strings
        base: Any = self.env.unwrapped
        space = getattr(base, "space", None)
        self._big = space is not None and space.big
        self._defaults = info_defaults(
            self._big, oracle_info and getattr(base, "optimum", None) is not None, info_strings
        )
        self._drop = dropped_keys(self._big, info_strings)
        self.clear()

    def clear(self) -> None:
        """Forget every query: the next one starts a new search (in a new :class:`QueryLog`; the
        old one stays as it was for whoever holds it, e.g. a finished search's result)."""
        self.log = QueryLog(arch_index=[] if self._big else array("q"))
        base: Any = self.env.unwrapped
        base.search_log = self.log
        # the search-wide entries as they stand, under every key of an info: each info is a copy
        # of it updated with the env's own entries (a step without a query adds none)
        self._current = dict(self._defaults)

    def _augment(self, info: dict[str, Any]) -> dict[str, Any]:
        current = self._current
        if "arch_index" in info:
            log = self.log
            index = info["arch_index"]
            if log.add(int(index) if self._big else index, info["val"], info["cost_s"]):
                current["best_val"] = log.best_val
                if not self._drop:
                    current["best_arch"], current["best_index"] = info["arch"], index
                elif not self._big:
                    current["best_index"] = index
                if "regret" in current:
                    current["regret"] = self.regret
            current["n_queries"], current["sim_time_s"] = len(log), log.sim_time_s
        if not info:
            return current.copy()
        out = {**current, **info}
        for key in self._drop:
            out.pop(key, None)
        return out

    @property
    def regret(self) -> float | None:
        """Optimum minus the seed-mean validation of the best architecture so far (None: unknown)."""
        base: Any = self.env.unwrapped
        if base.optimum is None or not len(self.log):
            return None
        return base.optimum - base.problem.mean_val(self.log.best_index)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None and len(self.log):  # an empty log is kept: agents hold it from new_search()
            self.clear()
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._augment(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._augment(info)
