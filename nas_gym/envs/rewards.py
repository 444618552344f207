"""Named reward functions: a query's Record in, a Python float out.

All of them read validation metrics and costs only. ``val`` is the validation accuracy as a
fraction; ``cadam`` is the thesis's 100^acc (eq. 4.1, acc as a fraction) that stretches the top
of the range; ``regret`` is minus the distance to the table's optimum; ``constrained`` is ``val``
inside a params / latency limit and ``penalty`` outside it.
"""

from __future__ import annotations

import math
from typing import Callable

from ..benchmarks.table import Record

RewardFn = Callable[[Record], float]
REWARDS = ("val", "cadam", "regret", "constrained")


def make_reward(
    name: str,
    optimum: float | None = None,
    max_params: float | None = None,
    max_latency: float | None = None,
    penalty: float = 0.0,
) -> RewardFn:
    """The reward function called ``name``; ``optimum`` is needed by ``regret``."""
    if name == "val":
        return lambda r: r.val / 100.0
    if name == "cadam":
        return lambda r: 100.0 ** (r.val / 100.0)
    if name == "regret":
        if optimum is None:
            raise ValueError("reward 'regret' needs a backend with a known optimum")
        return lambda r: (r.val - optimum) / 100.0
    if name == "constrained":
        if max_params is None and max_latency is None:
            raise ValueError("reward 'constrained' needs max_params or max_latency")
        p_lim = math.inf if max_params is None else float(max_params)
        l_lim = math.inf if max_latency is None else float(max_latency)

        def constrained(r: Record) -> float:
            ok = not (r.params > p_lim or r.latency > l_lim)  # NaN costs count as within the limit
            return r.val / 100.0 if ok else float(penalty)

        return constrained
    raise ValueError(f"unknown reward {name!r}; valid: {list(REWARDS)}")
