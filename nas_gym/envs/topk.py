"""The K best architectures of each of n searches, and their mean one-hot (CADAM's state).

Kept as arrays so that one update serves a single env (n = 1) and a batched vector env alike.
Slot values ``(n, slots)`` start at -inf, so while a search has fewer than K entries every new
query takes an empty slot; afterwards a query replaces the worst entry when it is strictly
better. Each search's worst slot is kept, so a query that changes nothing costs one comparison
(the common case late in a search). The one-hot counts ``(n, E, O)`` are updated incrementally;
an empty slot's codes point at a spare option column, so that replacing it needs no branch.

Memory follows the entries held, not K: slots are allocated as searches fill them (doubling,
up to K), so a huge K (or budget) costs nothing until that many architectures were queried.

:class:`SingleTopK` holds the same entries for one search in Python scalars: for a single
env, numpy's fancy indexing on arrays of one row costs ten times the update itself.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

FIRST_SLOTS = 64  # slots allocated at first (CADAM's K); more as the searches fill them


class TopK:
    def __init__(self, n: int, k: int, n_decisions: int, n_options: int) -> None:
        self.k, self._O = k, n_options
        slots = min(k, FIRST_SLOTS)
        self.vals = np.full((n, slots), -np.inf)
        self.codes = np.full((n, slots, n_decisions), n_options, dtype=np.int64)
        self._counts = np.zeros((n, n_decisions, n_options + 1), dtype=np.float32)
        self._worst_slot = np.zeros(n, dtype=np.int64)
        self._worst = np.full(n, -np.inf)
        self._dec = np.arange(n_decisions)
        self._mean: np.ndarray | None = None

    def clear(self, rows: np.ndarray | slice = slice(None)) -> None:
        """Empty the searches ``rows`` (all by default)."""
        self.vals[rows] = -np.inf
        self.codes[rows] = self._O
        self._counts[rows] = 0.0
        self._worst_slot[rows] = 0
        self._worst[rows] = -np.inf
        self._mean = None

    @property
    def worst(self) -> np.ndarray:
        """``(n,)``: the value a query must beat to enter each search (-inf while not full)."""
        return self._worst

    @property
    def size(self) -> np.ndarray:
        """Entries held by each search, ``(n,)``."""
        return np.sum(self.vals > -np.inf, axis=1)

    def add(self, val: np.ndarray, codes: np.ndarray) -> None:
        """Offer one queried architecture per search: ``val`` ``(n,)``, ``codes`` ``(n, E)``."""
        r = np.flatnonzero(val > self._worst)  # NaN never enters
        if not len(r):
            return
        s, rr = self._worst_slot[r], r[:, None]
        self._counts[rr, self._dec, self.codes[r, s]] -= 1.0
        self._counts[rr, self._dec, codes[r]] += 1.0
        self.vals[r, s] = val[r]
        self.codes[r, s] = codes[r]
        self._worst_slot[r] = s = self.vals[r].argmin(axis=1)
        self._worst[r] = self.vals[r, s]
        self._mean = None
        if self.vals.shape[1] < self.k and np.any(self._worst[r] > -np.inf):
            self._grow()

    def _grow(self) -> None:
        """Double the slots (up to K): a search that filled its slots has room again."""
        n, slots = self.vals.shape
        more = min(self.k, 2 * slots) - slots
        self.vals = np.concatenate([self.vals, np.full((n, more), -np.inf)], axis=1)
        self.codes = np.concatenate([self.codes, np.full((n, more, self.codes.shape[2]), self._O, np.int64)], axis=1)
        self._worst_slot = self.vals.argmin(axis=1)  # the first empty slot where there is one
        self._worst = self.vals[np.arange(n), self._worst_slot]

    def mean_one_hot(self) -> np.ndarray:
        """``(n, E * O)`` float32: mean one-hot of each search's entries (zeros when empty)."""
        if self._mean is None:
            n = len(self._worst)
            counts = self._counts[:, :, : self._O].reshape(n, -1)
            self._mean = counts / np.maximum(self.size, 1)[:, None].astype(np.float32)
        return self._mean.copy()


class SingleTopK:
    """The K best architectures of one search, entry for entry as :class:`TopK` with n = 1.

    The entries form a min-heap of ``(val, slot)``: once K are held, its root is the entry
    :class:`TopK` replaces (the lowest value, the first slot among equal values); before, each
    entry takes the next slot, as :class:`TopK` fills its empty slots in order. The one-hot
    counts are Python ints; the mean is rebuilt only when an entry changes, as float32 counts
    over a float32 size, as :class:`TopK` computes it.
    """

    def __init__(self, k: int, n_decisions: int, n_options: int) -> None:
        self.k, self._width = k, n_decisions * n_options
        self._offsets = list(range(0, self._width, n_options))  # flat column of each decision's option 0
        self.clear()

    def clear(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._flat: list[list[int]] = []  # one-hot columns of each slot's entry
        self._counts = [0] * self._width
        self.size = 0
        self._mean = np.zeros(self._width, dtype=np.float32)

    @property
    def worst(self) -> float:
        """The value a query must beat to enter (-inf while not full)."""
        return self._heap[0][0] if self.size == self.k else -math.inf

    def add(self, val: float, codes: np.ndarray) -> None:
        """Offer one queried architecture (NaN and -inf never enter)."""
        if not val > self.worst:
            return
        counts = self._counts
        new = list(map(int.__add__, self._offsets, codes.tolist()))
        if self.size < self.k:
            slot = self.size
            self.size += 1
            self._flat.append(new)
            heapq.heappush(self._heap, (val, slot))
        else:
            slot = self._heap[0][1]
            for f in self._flat[slot]:
                counts[f] -= 1
            self._flat[slot] = new
            heapq.heapreplace(self._heap, (val, slot))
        for f in new:
            counts[f] += 1
        mean = np.array(counts, dtype=np.float32)
        mean /= np.float32(self.size)
        self._mean = mean

    def mean_one_hot(self) -> np.ndarray:
        """``(E * O,)`` float32: mean one-hot of the entries (zeros when empty), a fresh array."""
        return self._mean.copy()
