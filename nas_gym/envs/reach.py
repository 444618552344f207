"""Which architectures the backend can answer, and which partial choices can still reach one.

Most tables answer every architecture of their space (NAS-Bench-201: all 15,625 cells). Some do
not: NAS-Bench-Graph has no result for the cells whose four ops are all ``skip`` (invalid in its
space). The envs never query those. Their masks leave them out (Seq: options after which no
answerable architecture remains; Edit: edits that lead to one), and an agent that ignores the
masks is handled by each family as its docstring says. The scan is one ``query_batch`` over
the whole space at construction. A space that is too large, or a backend without
``query_batch`` (a supernet, which computes any cell), answers exactly the space's valid
architectures: the masks then come from the space's own rules (DARTS: two inputs per node).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spaces.base import Space

MAX_SCAN = 1 << 24  # dense indices scanned at most (NAS-Bench-Graph: 157,464)


def index_steps(space: Space) -> np.ndarray:
    """``(E,)``: how much the dense index changes when decision e's option code grows by one."""
    return space.indices(np.eye(space.n_decisions, dtype=np.int64))


class Reach:
    def __init__(self, backend: Any, space: Space) -> None:
        self._radix = space.n_options
        self._real = space.option_mask  # (E, O): real, not padded, options
        self.ok: np.ndarray | None = None  # None: no scan (see structural)
        self._fixed: np.ndarray | None = None
        self.space = space
        # no scan: the valid architectures of the space are the answerable ones
        self.structural = getattr(space, "big", False) or space.size > MAX_SCAN or not hasattr(backend, "query_batch")
        if self.structural:
            return
        val, _ = backend.query_batch(np.arange(space.size), noise="mean")
        ok = ~np.isnan(val)
        if ok.all():
            return
        self.ok = ok
        self._steps = index_steps(space)
        grid = ok.reshape(tuple(int(r) for r in self._radix))
        E = space.n_decisions
        # _prefix[t][flat index of codes[:t+1]]: some answerable architecture starts with them
        self._prefix = [grid.any(axis=tuple(range(t + 1, E))).ravel() for t in range(E)]

    def answerable(self, index: int) -> bool:
        if self.structural:
            return self.space.is_valid(index)
        return self.ok is None or bool(self.ok[index])

    def seq_mask(self, codes: np.ndarray, t: int) -> np.ndarray:
        """``(n, O)``: options of decision ``t`` after which an answerable architecture remains,
        for each prefix ``codes[:, :t]`` of a batch ``(n, >= t)``."""
        if self.structural:
            return self.space.prefix_mask(codes, t)
        if self.ok is None:
            return np.repeat(self._real[t][None], len(codes), axis=0)
        real = np.broadcast_to(self._real[t], (len(codes), len(self._real[t])))
        base = np.ravel_multi_index(tuple(codes[:, :t].T), self._radix[:t]) if t else np.zeros(len(codes), np.int64)
        options = np.minimum(np.arange(real.shape[1]), self._radix[t] - 1)
        return real & self._prefix[t][base[:, None] * self._radix[t] + options]

    @property
    def fixed_seq_masks(self) -> np.ndarray | None:
        """``(E + 1, O)``: Seq's mask at each position when it depends on nothing else (every
        architecture answerable, no structural rule), the last row (a finished episode) all
        True; None otherwise."""
        if self.ok is not None or self.structural:
            return None
        if self._fixed is None:
            self._fixed = np.vstack([self._real, np.ones((1, self._real.shape[1]), dtype=bool)])
        return self._fixed

    def seq_mask_one(self, codes: np.ndarray, t: int) -> np.ndarray:
        """:meth:`seq_mask` of one prefix ``codes[:t]`` (a Seq env asks at every step: no batch of one)."""
        if self.ok is None and not self.structural:
            return self._real[t].copy()
        return self.seq_mask(codes[None], t)[0]

    def edit_mask(self, codes: np.ndarray, index: int) -> np.ndarray:
        """``(E * O,)``: the one-decision edits of the architecture ``codes`` (dense ``index``)
        that change it into an answerable architecture."""
        if self.structural:
            return self.space.edit_mask(codes).ravel()
        mask = self._real.copy()
        mask[np.arange(len(codes)), codes] = False
        if self.ok is not None:
            options = np.minimum(np.arange(mask.shape[1]), self._radix[:, None] - 1)
            targets = index + (options - codes[:, None]) * self._steps[:, None]
            mask &= self.ok[targets]
        return mask.ravel()
