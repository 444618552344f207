"""How well a supernet ranks children: Kendall tau between its frozen estimates and the same
children trained alone on the same data (the quantity weight sharing is judged by)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau, spearmanr

from ..progress import Progress
from .backend import SupernetBackend, train_alone


@dataclass
class Ranking:
    """Frozen estimates and standalone accuracies (validation half, %) of the same cells."""

    cells: np.ndarray  # (n, E) codes
    supernet: np.ndarray  # (n,)
    alone: np.ndarray  # (n_seeds, n)

    @property
    def tau(self) -> float:
        """Kendall tau of the supernet's ranking against the standalone seed mean."""
        return float(kendalltau(self.supernet, self.alone.mean(0)).statistic)

    @property
    def spearman(self) -> float:
        return float(spearmanr(self.supernet, self.alone.mean(0)).statistic)

    @property
    def seed_tau(self) -> float | None:
        """Kendall tau between two standalone training seeds: how far ranking can agree at all."""
        return float(kendalltau(self.alone[0], self.alone[1]).statistic) if len(self.alone) > 1 else None


def distinct_cells(backend: SupernetBackend, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` cells computing different functions (isomorphic NB201 cells would tie trivially)."""
    space, seen = backend.space, set()
    out: list[np.ndarray] = []
    while len(out) < n:
        codes = space.sample(rng)
        key = space.canonical_index(space.index(codes)) if not space.big else space.index(codes)
        if key not in seen:
            seen.add(key)
            out.append(codes)
    return np.array(out)


def rank_children(
    backend: SupernetBackend, cells: np.ndarray, epochs: int, seeds: int = 1, progress: bool | None = None
) -> Ranking:
    """Query ``cells`` on the frozen ``backend`` and train each alone ``seeds`` times."""
    est = np.array([backend.query(c).val for c in cells])
    alone = np.zeros((seeds, len(cells)))
    with Progress(seeds * len(cells), f"children alone ({epochs} ep)", "child", enabled=progress) as report:
        for s in range(seeds):
            for i, c in enumerate(cells):
                alone[s, i] = train_alone(
                    backend.network, c, backend.train_data, backend.val_data, backend.recipe, epochs, s
                )[0]
                report.update(1, last=f"{alone[s, i]:.1f}%")
    return Ranking(np.asarray(cells), est, alone)
