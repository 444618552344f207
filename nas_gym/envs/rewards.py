"""Named reward functions of a query's validation metric (and, for ``constrained``, its costs).

All of them read validation metrics and costs only. ``val`` is the validation accuracy as a
fraction; ``cadam`` is the thesis's 100^acc (eq. 4.1, acc as a fraction) that stretches the top
of the range; ``regret`` is minus the distance to the table's optimum, as a fraction (a single
training seed can beat the optimum's seed mean, so it can be slightly positive); ``constrained``
is ``val`` inside a params / latency limit and ``penalty`` outside it. ``ddas`` is the thesis's
eq. 3.3 on a supernet: r_t = 1/2 (Acc(a_t) - Acc(OS)) + 1/2 (L_V(a_(t-1)) - L_V(a_t)), accuracies
as fractions, OS the warmed-up one-shot model; the first query of an episode compares its loss
with the one-shot model's. ``ddas-acc`` and ``ddas-loss`` keep only its accuracy or only its
loss term (the ablation of the thesis's Figure 3.2).

Each reward is one formula written with operators that work on Python floats and on numpy
arrays alike, so the single envs (one :class:`Record`) and the batched vector envs (arrays of
queries) share it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..benchmarks.table import Record
from .checks import real_number

REWARDS = ("val", "cadam", "regret", "constrained", "ddas", "ddas-acc", "ddas-loss")

Formula = Callable[[Any, Any, Any], Any]  # (val %, params, latency) -> reward, floats or arrays


# The formulas are module-level functions and small frozen dataclasses, not lambdas or
# closures, so that an env holding its reward pickles (vector envs in subprocesses, Ray, deep copies).
def _val(v: Any, p: Any, l: Any) -> Any:
    return v / 100.0


def _cadam(v: Any, p: Any, l: Any) -> Any:
    return 100.0 ** (v / 100.0)


def _zero(v: Any, p: Any, l: Any) -> Any:
    return 0.0 * v


def _half_loss_drop(before: float, now: float) -> float:
    return 0.5 * (before - now)


@dataclass(frozen=True)
class _Shifted:
    """``scale * (v - shift) / 100``: ``regret`` (scale 1, the optimum) and DDAS's accuracy term."""

    scale: float
    shift: float

    def __call__(self, v: Any, p: Any, l: Any) -> Any:
        return self.scale * (v - self.shift) / 100.0


@dataclass(frozen=True)
class _Constrained:
    """``val`` within the params / latency limits, ``penalty`` outside them."""

    max_params: float
    max_latency: float
    penalty: float

    def __call__(self, v: Any, p: Any, l: Any) -> Any:
        # NaN costs (a table without the column) compare False, so they count as within the limit.
        over = np.greater(p, self.max_params) | np.greater(l, self.max_latency)
        return np.where(over, self.penalty, v / 100.0)


@dataclass(frozen=True)
class Reward:
    """A named reward; ``uses_costs`` says whether it needs params / latency besides val.

    ``previous_loss`` (``ddas`` only) makes the reward read the validation loss of the query
    before: ``loss_term(loss before, loss now)`` is added to the formula, and ``start_loss``
    stands for the loss before the first query of an episode.
    """

    name: str
    formula: Formula
    uses_costs: bool = False
    loss_term: Callable[[float, float], float] | None = None
    start_loss: float = float("nan")

    def __call__(self, rec: Record, previous: Record | None = None) -> float:
        out = float(self.formula(rec.val, rec.params, rec.latency))
        if self.loss_term is not None:
            out += self.loss_term(self.start_loss if previous is None else previous.loss, rec.loss)
        return out

    def batch(self, val: np.ndarray, params: np.ndarray | None = None, latency: np.ndarray | None = None) -> np.ndarray:
        """Rewards of arrays of queries (``params``/``latency`` only when ``uses_costs``)."""
        return np.asarray(self.formula(val, params, latency), dtype=np.float64)


def make_reward(
    name: str,
    optimum: float | None = None,
    max_params: float | None = None,
    max_latency: float | None = None,
    penalty: float | None = None,
    oneshot: tuple[float, float] | None = None,
) -> Reward:
    """The reward called ``name``; ``optimum`` is needed by ``regret``, a limit by ``constrained``,
    ``oneshot`` (accuracy %, loss of the one-shot model) by ``ddas``."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; valid: {list(REWARDS)}")
    if name != "constrained":
        given = [
            k
            for k, v in (("max_params", max_params), ("max_latency", max_latency), ("penalty", penalty))
            if v is not None
        ]
        if given:
            raise ValueError(f"{given} only apply to reward='constrained', not {name!r}")
    if name == "val":
        return Reward(name, _val)
    if name == "cadam":
        return Reward(name, _cadam)
    if name.startswith("ddas"):
        if oneshot is None:
            raise ValueError(f"reward {name!r} needs the one-shot model's accuracy and loss (a supernet backend)")
        acc_os, loss_os = (float(x) for x in oneshot)
        acc: Formula = _Shifted(0.5, acc_os) if name != "ddas-loss" else _zero
        loss = _half_loss_drop if name != "ddas-acc" else None
        return Reward(name, acc, loss_term=loss, start_loss=loss_os)
    if name == "regret":
        if optimum is None:
            raise ValueError("reward 'regret' needs a backend with a known optimum")
        return Reward(name, _Shifted(1.0, float(optimum)))
    if max_params is None and max_latency is None:
        raise ValueError("reward 'constrained' needs max_params or max_latency")
    p_lim = math.inf if max_params is None else real_number("max_params", max_params)
    l_lim = math.inf if max_latency is None else real_number("max_latency", max_latency)
    out = 0.0 if penalty is None else real_number("penalty", penalty)

    return Reward(name, _Constrained(p_lim, l_lim, out), uses_costs=True)
