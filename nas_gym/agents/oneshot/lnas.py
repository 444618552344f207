"""LNAS (lottery-ticket NAS), variant 2: DARTS with magnitude pruning of the architecture parameters.

At ``n_prunes`` evenly spaced points of the search the smallest-|alpha| searched ops are masked out
of the mixed op, growing the pruned fraction linearly to ``sparsity``. A pruned op is removed from
the path itself (not just given weight 0), so it never runs and its weights get no gradient again.
Each edge always keeps at least its largest-|alpha| op so the derived cell stays valid. Variant 1
(retraining the derived child with weight pruning and rewinding) is not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path
from ..base import register
from .darts import DARTS
from .loop import Supernet, discretise, masked_softmax


@register("lnas")
@dataclass
class LNAS(DARTS):
    """DARTS whose searched ops are pruned by |alpha| to ``sparsity`` over ``n_prunes`` rounds."""

    name: ClassVar[str] = "lnas"

    sparsity: float = 0.5  # fraction of the searched (edge, op) pairs pruned by the end
    n_prunes: int = 4

    def setup(self, sn: Supernet) -> None:
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"lnas sparsity must be in [0, 1), got {self.sparsity}")
        super().setup(sn)
        self.keep = sn.mask.clone().to(sn.device)  # searched ops not yet pruned
        self._rounds_done = 0

    def _path(self, w: Tensor) -> Path:
        # the active mask (not only a zero weight) is what stops a pruned op from running
        active = self.keep.cpu().clone()
        active[:, 0] = False
        return Path(w, active, False)

    def weights(self, sn: Supernet) -> Tensor:
        return masked_softmax(self.alpha, self.keep)

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        self._maybe_prune(sn, t)
        return self._path(self.weights(sn).detach())

    def arch_step(self, sn: Supernet, x: Tensor, y: Tensor, rng: np.random.Generator, t: float) -> None:
        self._maybe_prune(sn, t)
        self.a_opt.zero_grad(set_to_none=True)
        sn.loss(self._path(self.weights(sn)), x, y).backward()  # first order only
        self.a_opt.step()

    def _maybe_prune(self, sn: Supernet, t: float) -> None:
        # round k (1..n_prunes) fires once the search is k/(n_prunes+1) of the way through, so the
        # last round still leaves time to train the survivors
        due = min(self.n_prunes, int(t * (self.n_prunes + 1)))
        while self._rounds_done < due:
            self._rounds_done += 1
            self._prune_to(sn, self.sparsity * self._rounds_done / self.n_prunes)

    def _prune_to(self, sn: Supernet, target: float) -> None:
        searched = sn.mask.to(self.keep.device)
        n_prune = int(round(target * int(searched.sum())))
        mag = self.alpha.detach().abs().masked_fill(~searched, float("inf"))
        best = mag.masked_fill(~searched, -1.0).argmax(dim=1)
        mag[torch.arange(mag.shape[0]), best] = float("inf")  # every edge keeps one op
        order = torch.argsort(mag.flatten())[:n_prune]
        keep = searched.clone().flatten()
        keep[order[torch.isfinite(mag.flatten()[order])]] = False
        self.keep = keep.view_as(searched)

    def pruned_fraction(self, sn: Supernet) -> float:
        searched = sn.mask.to(self.keep.device)
        return 1.0 - float(self.keep.sum()) / float(searched.sum())

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, self.weights(sn))
