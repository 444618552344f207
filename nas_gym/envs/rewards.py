"""Named reward functions of a query's validation metric (and, for ``constrained``, its costs).

All of them read validation metrics and costs only. ``val`` is the validation accuracy as a
fraction; ``cadam`` is the thesis's 100^acc (eq. 4.1, acc as a fraction) that stretches the top
of the range; ``regret`` is minus the distance to the table's optimum, as a fraction (a single
training seed can beat the optimum's seed mean, so it can be slightly positive); ``constrained``
is ``val`` inside a params / latency limit and ``penalty`` outside it.

Each reward is one formula written with operators that work on Python floats and on numpy
arrays alike, so the single envs (one :class:`Record`) and the batched vector envs (arrays of
queries) share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..benchmarks.table import Record
from .checks import real_number

REWARDS = ("val", "cadam", "regret", "constrained")

Formula = Callable[[Any, Any, Any], Any]  # (val %, params, latency) -> reward, floats or arrays


@dataclass(frozen=True)
class Reward:
    """A named reward; ``uses_costs`` says whether it needs params / latency besides val."""

    name: str
    formula: Formula
    uses_costs: bool = False

    def __call__(self, rec: Record) -> float:
        return float(self.formula(rec.val, rec.params, rec.latency))

    def batch(self, val: np.ndarray, params: np.ndarray | None = None, latency: np.ndarray | None = None) -> np.ndarray:
        """Rewards of arrays of queries (``params``/``latency`` only when ``uses_costs``)."""
        return np.asarray(self.formula(val, params, latency), dtype=np.float64)


def make_reward(
    name: str,
    optimum: float | None = None,
    max_params: float | None = None,
    max_latency: float | None = None,
    penalty: float | None = None,
) -> Reward:
    """The reward called ``name``; ``optimum`` is needed by ``regret``, a limit by ``constrained``."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; valid: {list(REWARDS)}")
    if name != "constrained":
        given = [k for k, v in (("max_params", max_params), ("max_latency", max_latency), ("penalty", penalty)) if v is not None]
        if given:
            raise ValueError(f"{given} only apply to reward='constrained', not {name!r}")
    if name == "val":
        return Reward(name, lambda v, p, l: v / 100.0)
    if name == "cadam":
        return Reward(name, lambda v, p, l: 100.0 ** (v / 100.0))
    if name == "regret":
        if optimum is None:
            raise ValueError("reward 'regret' needs a backend with a known optimum")
        opt = float(optimum)
        return Reward(name, lambda v, p, l: (v - opt) / 100.0)
    if max_params is None and max_latency is None:
        raise ValueError("reward 'constrained' needs max_params or max_latency")
    p_lim = math.inf if max_params is None else real_number("max_params", max_params)
    l_lim = math.inf if max_latency is None else real_number("max_latency", max_latency)
    out = 0.0 if penalty is None else real_number("penalty", penalty)

    def constrained(v: Any, p: Any, l: Any) -> Any:
        # NaN costs (a table without the column) compare False, so they count as within the limit.
        over = np.greater(p, p_lim) | np.greater(l, l_lim)
        return np.where(over, out, v / 100.0)

    return Reward(name, constrained, uses_costs=True)
