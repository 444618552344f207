"""GDAS (Dong and Yang 2019): one differentiable sampled path per step.

Each step draws, per edge, a hard Gumbel-max sample of ``softmax(alpha)``; only the sampled op
runs (:func:`~nas_gym.supernets.paths.gated`), and the straight-through estimator (forward the
one-hot, backward the Gumbel-softmax) gives every logit of the edge a gradient. Weights train on
a sample on the training batch, alpha on another sample on the validation batch. Defaults from
the paper: temperature annealed linearly from 10 to 0.1 over the search; alpha as DARTS (Adam
3e-4, betas (0.5, 0.999), weight decay 1e-3). Each round queries the last architecture sampled
for alpha's step; the recommendation is alpha's discretisation, which GDAS's code derives (the
AdvantageNAS paper also reports its process best).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path, gated
from ..base import register
from .loop import (
    Batch,
    OneShotAgent,
    Supernet,
    arch_parameters,
    discretise,
    gumbel_softmax,
    masked_softmax,
    straight_through,
    valid,
)


@register("gdas")
@dataclass
class GDAS(OneShotAgent):
    """GDAS: hard Gumbel samples with straight-through gradients, temperature 10 -> 0.1."""

    name: ClassVar[str] = "gdas"

    tau: tuple[float, float] = field(default=(10.0, 0.1))
    a_lr: float = 3e-4
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3
    init_scale: float = 1e-3

    def setup(self, sn: Supernet) -> None:
        self.alpha, self.a_opt = arch_parameters(sn, self.a_lr, self.a_betas, self.a_weight_decay, self.init_scale)

    def temperature(self, t: float) -> float:
        return self.tau[0] - (self.tau[0] - self.tau[1]) * t

    def sample(self, sn: Supernet, rng: np.random.Generator, t: float) -> tuple[Path, np.ndarray]:
        """A hard sampled path whose gates carry the straight-through gradient, and its codes."""
        gates, codes = straight_through(gumbel_softmax(self.alpha, sn.mask, self.temperature(t), rng))
        return gated(gates, active=gates.detach() > 0.5), codes

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        path, _ = self.sample(sn, rng, t)
        return gated(path.weights.detach(), path.active)

    def arch_step(
        self,
        sn: Supernet,
        x: Tensor,
        y: Tensor,
        rng: np.random.Generator,
        t: float,
        train: Batch | None = None,
        w_opt: torch.optim.SGD | None = None,
    ) -> np.ndarray:
        path, codes = self.sample(sn, rng, t)
        self.a_opt.zero_grad(set_to_none=True)
        sn.loss(path, x, y).backward()
        self.a_opt.step()
        return codes

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        return self.recommend(sn) if sampled is None else valid(sn, sampled, masked_softmax(self.alpha, sn.mask))

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, masked_softmax(self.alpha, sn.mask))
