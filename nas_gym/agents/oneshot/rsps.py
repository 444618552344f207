"""Random search with parameter sharing (Li and Talwalkar 2019): train the shared weights on
uniformly sampled single paths, and evaluate random architectures under those weights.

There are no architecture parameters: each weight step trains one uniform random child (one
op per edge, none excluded unless ``include_none``), and each round queries a fresh uniform
random valid architecture of the space through the env (on DARTS, the space's sampler). The
paper returns the best of the
architectures it evaluated with shared weights: the process best; it recommends nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...supernets.paths import Path, single_path
from ..base import register
from ..common import sample_index
from .loop import OneShotAgent, Supernet


@register("rsps")
@dataclass
class RSPS(OneShotAgent):
    """Random sampling with parameter sharing: uniform single-path training, random queries."""

    name: ClassVar[str] = "rsps"
    reports: ClassVar[str] = "process"

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        return single_path(sample_index(sn.mask.float(), rng), sn.mask.shape[1])

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        codes = sample_index(sn.mask.float(), rng)  # uniform over the searched ops of each edge
        # a DARTS cell needs exactly two inputs per node: draw from the space's own sampler there
        return codes if sn.space.is_valid(sn.space.index(codes)) else sn.space.sample(rng)
