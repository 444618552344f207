"""What the three env families share: the backend, the named reward, one query per architecture.

A backend is anything with ``space``, ``query(index, rng=, noise=) -> Record`` and, when the
best architecture is known, ``optimum() -> (index, val)``: the tabular benchmarks now, the
supernets later. The env owns the backend and queries it with its own ``np_random``, so a
seeded reset makes an episode reproducible.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np

from ..benchmarks import NOISES, TabularBenchmark, load_benchmark
from ..benchmarks.table import Record
from ..spaces.base import Space
from .rewards import make_reward

RENDER_MODES = ["ansi", "rgb_array"]


@lru_cache(maxsize=None)
def _cached_benchmark(name: str, dataset: str | None, path: str | None) -> TabularBenchmark:
    return load_benchmark(name, dataset=dataset, path=path)


def resolve_backend(benchmark: Any, dataset: str | None = None, path: str | None = None) -> Any:
    """A backend object from a benchmark name (loaded once per process) or the object itself."""
    if isinstance(benchmark, str):
        return _cached_benchmark(benchmark, dataset, None if path is None else str(path))
    if not hasattr(benchmark, "query") or not hasattr(benchmark, "space"):
        raise ValueError(f"benchmark must be a name or an object with .space and .query(), got {benchmark!r}")
    return benchmark


class NasEnv(gym.Env):
    """Base of the Seq, Cont and Edit envs: backend, reward and the query of one architecture."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(
        self,
        benchmark: Any = "nb201",
        dataset: str | None = None,
        path: str | None = None,
        reward: str = "val",
        noise: str = "seed",
        max_params: float | None = None,
        max_latency: float | None = None,
        penalty: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        if noise not in NOISES:
            raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: {RENDER_MODES}")
        self.backend = resolve_backend(benchmark, dataset, path)
        self.space: Space = self.backend.space
        self.noise = noise
        self.optimum: float | None = self.backend.optimum()[1] if hasattr(self.backend, "optimum") else None
        self.reward_name = reward
        self.reward_fn = make_reward(
            reward, optimum=self.optimum, max_params=max_params, max_latency=max_latency, penalty=penalty
        )
        self.render_mode = render_mode
        self._E = self.space.n_decisions
        self._O = self.space.max_options
        self._n_opts = self.space.n_options
        self._weights = self.space._weights
        self.codes = np.zeros(self._E, dtype=np.int64)  # the current (or last) architecture
        self.last_record: Record | None = None

    # ---------------------------------------------------------------- query
    def query(self, codes: np.ndarray) -> tuple[Record, dict[str, Any]]:
        """Query one architecture; the record and its per-query ``info`` entries."""
        index = int(codes @ self._weights)
        rec = self.backend.query(index, rng=self.np_random, noise=self.noise)
        self.last_record = rec
        return rec, {
            "arch": self.space.to_string(rec.arch_index),
            "arch_index": rec.arch_index,
            "val": rec.val,
            "cost_s": rec.cost_s,
        }

    def one_hot_flat(self, codes: np.ndarray) -> np.ndarray:
        out = np.zeros(self._E * self._O, dtype=np.float32)
        out[np.arange(self._E) * self._O + codes] = 1.0
        return out

    # --------------------------------------------------------------- render
    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            text = self.space.to_string(self.codes)
            if self.last_record is not None:
                text += f"  val={self.last_record.val:.2f}"
            return text + "\n"
        if self.render_mode == "rgb_array":
            from .render import draw_architecture

            return draw_architecture(self.space, self.codes)
        return None
