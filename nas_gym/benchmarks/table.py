"""The tabular backend: arrays indexed by dense architecture index, one query protocol.

A query behaves like retraining the architecture once: it draws one of the table's training
seeds from the caller's RNG (``noise="seed"``) or returns the mean over seeds
(``noise="mean"``), and charges the table's training cost in simulated seconds. Test metrics
live in the same table but only :meth:`TabularBenchmark.evaluate` reads them, so nothing a
search sees (rewards, ``info``) can depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from ..spaces.base import ArchLike, Space

Noise = Literal["seed", "mean"]
NOISES = ("seed", "mean")


@dataclass(slots=True)
class Record:
    """What one query returns: validation metric (percent) and the costs of the architecture."""

    arch_index: int
    val: float
    cost_s: float
    latency: float = float("nan")
    params: float = float("nan")
    flops: float = float("nan")
    curve: np.ndarray | None = None
    extra: dict[str, float] | None = None


@dataclass(eq=False)
class TabularBenchmark:
    """A benchmark table over ``space``. Every array's first axis is the dense index.

    ``val`` is ``(space.size, n_seeds)`` with NaN for missing seeds and for indices the table
    does not hold (those are reached through ``space.canonical_index``). ``test`` is the held-out
    metric, never returned by :meth:`query`. ``curves`` maps a name to ``(size, n_epochs)``
    validation curves. ``extra`` holds further per-architecture objectives (analog accuracies).
    """

    name: str
    dataset: str
    space: Space
    val: np.ndarray
    cost_s: np.ndarray
    latency: np.ndarray | None = None
    params: np.ndarray | None = None
    flops: np.ndarray | None = None
    test: np.ndarray | None = None
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    metric: str = "accuracy"

    # --------------------------------------------------------------- derived
    @cached_property
    def n_seeds(self) -> np.ndarray:
        """Number of recorded training seeds per index (0 where the table has no entry)."""
        return np.sum(~np.isnan(self.val), axis=1).astype(np.int64)

    @cached_property
    def val_mean(self) -> np.ndarray:
        """Mean validation metric per index (NaN where the table has no entry)."""
        with np.errstate(invalid="ignore"):
            out = np.nanmean(np.where(self.n_seeds[:, None] > 0, self.val, 0.0), axis=1)
        out[self.n_seeds == 0] = np.nan
        return out

    @cached_property
    def present(self) -> np.ndarray:
        """Dense indices the table holds, ascending."""
        return np.flatnonzero(self.n_seeds > 0)

    @cached_property
    def _lookup(self) -> np.ndarray:
        """Index -> row holding its numbers (its canonical form's row when it has none itself)."""
        lookup = np.arange(self.space.size, dtype=np.int64)
        missing = np.flatnonzero(self.n_seeds == 0)
        for i in missing:
            lookup[i] = self.space.canonical_index(int(i))
        return lookup

    @cached_property
    def _seeds_filled(self) -> np.ndarray:
        """``val`` with each missing seed replaced by a recorded one, for branch-free draws."""
        v = np.array(self.val, dtype=np.float64)
        first = v[np.arange(len(v)), np.argmax(~np.isnan(v), axis=1)]
        return np.where(np.isnan(v), first[:, None], v)

    def __len__(self) -> int:
        return int(len(self.present))

    def __repr__(self) -> str:
        return f"TabularBenchmark({self.name!r}, dataset={self.dataset!r}, n_arch={len(self)})"

    # ----------------------------------------------------------------- query
    def row(self, arch: ArchLike) -> int:
        """Row holding ``arch``'s numbers; ValueError when the table has none for it."""
        i = self.space.parse(arch)
        r = int(self._lookup[i])
        if self.n_seeds[r] == 0:
            raise ValueError(
                f"{self.name}/{self.dataset}: architecture {self.space.to_string(i)!r} is not in the table "
                f"(invalid in this space)"
            )
        return r

    def query(self, arch: ArchLike, rng: np.random.Generator | None = None, noise: Noise = "seed") -> Record:
        """Validation metric and costs of one architecture, as one (simulated) training run."""
        r = self.row(arch)
        if noise == "seed":
            if rng is None:
                raise ValueError("noise='seed' draws a training seed and needs rng=np.random.Generator")
            val = float(self._seeds_filled[r, int(rng.random() * self.n_seeds[r])])
        elif noise == "mean":
            val = float(self.val_mean[r])
        else:
            raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
        return Record(
            arch_index=r,
            val=val,
            cost_s=float(self.cost_s[r]),
            latency=_at(self.latency, r),
            params=_at(self.params, r),
            flops=_at(self.flops, r),
            curve=self.curves["val"][r] if "val" in self.curves else None,
            extra={k: float(v[r]) for k, v in self.extra.items()} or None,
        )

    def query_batch(
        self, indices: np.ndarray, rng: np.random.Generator | None = None, noise: Noise = "seed"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised query of dense indices: ``(val, cost_s)`` arrays, NaN val where absent."""
        rows = self._lookup[np.asarray(indices, dtype=np.int64)]
        if noise == "mean":
            return self.val_mean[rows], self.cost_s[rows]
        if noise != "seed":
            raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
        if rng is None:
            raise ValueError("noise='seed' draws a training seed and needs rng=np.random.Generator")
        seed = (rng.random(len(rows)) * np.maximum(self.n_seeds[rows], 1)).astype(np.int64)
        return self._seeds_filled[rows, seed], self.cost_s[rows]

    # ------------------------------------------------------------ evaluation
    @property
    def has_test(self) -> bool:
        return self.test is not None

    def evaluate(self, arch: ArchLike) -> float:
        """Held-out test metric (mean over seeds) of ``arch``: for final reports only."""
        if self.test is None:
            raise ValueError(f"{self.name}/{self.dataset} has no test metric")
        r = self.row(arch)
        t = np.asarray(self.test[r], dtype=np.float64)
        return float(np.nanmean(t)) if t.ndim else float(t)

    # ------------------------------------------------------------ statistics
    def optimum(self) -> tuple[int, float]:
        """(dense index, mean validation) of the best architecture in the table."""
        m = np.where(np.isnan(self.val_mean), -np.inf, self.val_mean)
        i = int(np.argmax(m))
        return i, float(m[i])

    @cached_property
    def _sorted_means(self) -> np.ndarray:
        return np.sort(self.val_mean[self.present])

    def rank(self, arch: ArchLike) -> int:
        """1-based rank of ``arch`` by mean validation among the table's architectures."""
        v = self.val_mean[self.row(arch)]
        return int(len(self._sorted_means) - np.searchsorted(self._sorted_means, v, side="right") + 1)

    def percentile(self, arch: ArchLike) -> float:
        """Share of the table's architectures with mean validation <= that of ``arch``."""
        v = self.val_mean[self.row(arch)]
        return float(np.searchsorted(self._sorted_means, v, side="right") / len(self._sorted_means))

    def regret(self, val: float) -> float:
        """Optimum mean validation minus ``val``."""
        return self.optimum()[1] - float(val)

    def summary(self) -> dict:
        """Size, optimum and available columns, for ``nas-gym benchmarks``."""
        i, v = self.optimum()
        return {
            "name": self.name,
            "dataset": self.dataset,
            "space": self.space.name,
            "n_arch": len(self),
            "n_seeds": int(self.n_seeds.max()),
            "metric": self.metric,
            "optimum_arch": self.space.to_string(i),
            "optimum_val": round(v, 4),
            "has_test": self.has_test,
            "columns": [
                c for c in ("latency", "params", "flops") if getattr(self, c) is not None
            ] + sorted(self.curves) + sorted(self.extra),
        }


def _at(a: np.ndarray | None, r: int) -> float:
    return float("nan") if a is None else float(a[r])
