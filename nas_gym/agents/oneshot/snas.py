"""SNAS (Xie et al. 2019): a relaxed Gumbel-softmax sample of the architecture per step, and one
loss for weights and architecture.

Each step draws ``Z = softmax((log p + g) / tau)`` per edge (``p = softmax(alpha)``), runs every op
weighted by Z (:func:`~nas_gym.supernets.paths.mixed`) on a training batch, and steps both the
weights and alpha on that loss: SNAS is single-level, so it reads no validation batch. The
paper leaves the temperature schedule open and its authors published no code; we start at
tau = 1 and anneal it exponentially to 0.33 at the end of the search (our choice). alpha: Adam
3e-4, betas (0.5, 0.999), weight decay 1e-3 as DARTS, whose settings SNAS follows. The resource
constraint of the paper is left out. Each round queries alpha's discretisation, which the paper
derives as its final architecture (``reports="argmax"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path, mixed
from ..base import register
from ..common import masked_log_softmax
from .loop import (
    Batch,
    OneShotAgent,
    Supernet,
    arch_parameters,
    clip_and_step,
    discretise,
    gumbel_softmax,
    masked_softmax,
)


@register("snas")
@dataclass
class SNAS(OneShotAgent):
    """SNAS: relaxed Gumbel-softmax samples, weights and alpha on the same training loss."""

    name: ClassVar[str] = "snas"
    arch_on_val: ClassVar[bool] = False

    tau: tuple[float, float] = field(default=(1.0, 0.33))
    a_lr: float = 3e-4
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3
    init_scale: float = 1e-3

    def setup(self, sn: Supernet) -> None:
        self.alpha, self.a_opt = arch_parameters(sn, self.a_lr, self.a_betas, self.a_weight_decay, self.init_scale)

    def temperature(self, t: float) -> float:
        return self.tau[0] * (self.tau[1] / self.tau[0]) ** t

    def relaxed_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        """A relaxed sample Z of the architecture, every op weighted by it (differentiable in alpha)."""
        return mixed(gumbel_softmax(masked_log_softmax(self.alpha, sn.mask), sn.mask, self.temperature(t), rng))

    def train_step(self, sn, opt, x, y, rng, t) -> None:
        self.joint_step(sn, opt, x, y, rng, t)

    def arch_step(
        self,
        sn: Supernet,
        x: Tensor,
        y: Tensor,
        rng: np.random.Generator,
        t: float,
        train: Batch | None = None,
        w_opt: torch.optim.SGD | None = None,
    ) -> None:
        """The joint step without a weight update: alpha alone on ``(x, y)`` (the toy task's fixed
        weights; the search never calls it, as SNAS reads no validation batch)."""
        self.joint_step(sn, None, x, y, rng, t)

    def joint_step(
        self, sn: Supernet, opt: torch.optim.Optimizer | None, x: Tensor, y: Tensor, rng: np.random.Generator, t: float
    ) -> None:
        """One relaxed sample, one loss, one backward: a step of the weights (``opt``, if given) and of alpha."""
        path = self.relaxed_path(sn, rng, t)
        if opt is not None:
            opt.zero_grad(set_to_none=True)
        self.a_opt.zero_grad(set_to_none=True)
        sn.loss(path, x, y).backward()
        if opt is not None:
            clip_and_step(opt, self.grad_clip)
        self.a_opt.step()

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, masked_softmax(self.alpha, sn.mask))
