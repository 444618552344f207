"""A small tabular benchmark for env tests: uneven option counts, missing seeds, a test column."""

from __future__ import annotations

import numpy as np

from nas_gym.benchmarks import TabularBenchmark
from nas_gym.spaces.base import Space

TEST_SENTINEL = 4321.5  # test metrics are 4321.5 + index / 1000: values no other column can take


def toy_space() -> Space:
    """3 decisions with 2, 3 and 3 options (the first decision's third column is padding)."""
    return Space("toy", ("a", "b", "c"), (("x", "y"), ("p", "q", "r"), ("u", "v", "w")))


def held_out_column(n: int) -> np.ndarray:
    return TEST_SENTINEL + np.arange(n, dtype=np.float64) / 1000


ABSENT = ("a=x,b=q,c=u", "a=x,b=q,c=v", "a=x,b=q,c=w", "a=y,b=p,c=u")  # rows of gappy tables


def toy_benchmark(seed: int = 0, test: np.ndarray | None = None, gappy: bool = False) -> TabularBenchmark:
    """The toy table; ``gappy`` leaves out the ``ABSENT`` architectures (no prefix a=x,b=q remains)."""
    space = toy_space()
    rng = np.random.default_rng(seed)
    n = space.size
    val = rng.uniform(40.0, 95.0, (n, 3))
    val[::4, 2] = np.nan  # some architectures have only two training seeds
    if gappy:
        val[[space.parse(a) for a in ABSENT]] = np.nan
    return TabularBenchmark(
        name="toy",
        dataset="toy",
        space=space,
        val=val,
        cost_s=rng.uniform(100.0, 200.0, n),
        latency=rng.uniform(0.001, 0.01, n),
        params=rng.uniform(1e5, 1e6, n),
        test=held_out_column(n) if test is None else test,
    )
