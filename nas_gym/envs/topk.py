"""The K best architectures of each of n searches, and their mean one-hot (CADAM's state).

Kept as arrays so that one update serves a single env (n = 1) and a batched vector env alike.
Slot values ``(n, K)`` start at -inf, so while a search has fewer than K entries every new
query takes an empty slot; afterwards a query replaces the worst entry when it is strictly
better. Each search's worst slot is kept, so a query that changes nothing costs one comparison
(the common case late in a search). The one-hot counts ``(n, E, O)`` are updated incrementally;
an empty slot's codes point at a spare option column, so that replacing it needs no branch.
"""

from __future__ import annotations

import numpy as np


class TopK:
    def __init__(self, n: int, k: int, n_decisions: int, n_options: int) -> None:
        self.k, self._O = k, n_options
        self.vals = np.full((n, k), -np.inf)
        self.codes = np.full((n, k, n_decisions), n_options, dtype=np.int64)
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

    def mean_one_hot(self) -> np.ndarray:
        """``(n, E * O)`` float32: mean one-hot of each search's entries (zeros when empty)."""
        if self._mean is None:
            n = len(self._worst)
            counts = self._counts[:, :, : self._O].reshape(n, -1)
            self._mean = counts / np.maximum(self.size, 1)[:, None].astype(np.float32)
        return self._mean.copy()
