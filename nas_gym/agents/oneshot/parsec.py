"""PARSEC (Casale, Gordon and Fusi 2019): probabilistic architecture search by empirical Bayes.

The architecture is a random variable with a categorical prior per edge, ``p(a_i) = softmax(pi_i)``.
Weights train on a child sampled from the prior. An architecture step samples K children,
scores each by the likelihood of a validation batch, ``exp(-sum of its cross-entropies)``, and
moves pi along ``sum_k w_k grad log p(a_k)`` with self-normalised importance weights
``w_k = softmax_k(log-likelihood_k)``: the Monte Carlo gradient of the log marginal likelihood
of the data under the prior. Defaults: K = 8 samples and Adam lr 1e-3, betas (0.9, 0.999), pi = 0
(our choices; the AdvantageNAS paper compares PARSEC with the same optimiser). Each round queries
the child of highest likelihood in the last step; the paper reports the prior's argmax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path, single_path
from ..base import register
from ..common import sample_index
from .loop import Batch, OneShotAgent, Supernet, arch_parameters, discretise, masked_softmax, valid


@register("parsec")
@dataclass
class PARSEC(OneShotAgent):
    """PARSEC: K sampled children per step, importance-weighted prior gradient."""

    name: ClassVar[str] = "parsec"

    samples: int = 8
    a_lr: float = 1e-3
    a_betas: tuple[float, float] = (0.9, 0.999)

    def setup(self, sn: Supernet) -> None:
        self.pi, self.a_opt = arch_parameters(sn, self.a_lr, self.a_betas)

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        return single_path(sample_index(masked_softmax(self.pi, sn.mask), rng), sn.mask.shape[1])

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
        probs = masked_softmax(self.pi, sn.mask)
        children = [sample_index(probs, rng) for _ in range(self.samples)]
        with torch.no_grad():  # log p(V | a, w), summed over the batch
            loglik = [-float(sn.loss(single_path(c, sn.mask.shape[1]), x, y)) * len(y) for c in children]
        w = torch.softmax(torch.tensor(loglik, dtype=torch.float64), 0).to(probs.dtype)
        logp = torch.log(probs.clamp_min(1e-30))
        rows = torch.arange(probs.shape[0])
        total = sum(wk * logp[rows, torch.as_tensor(c)].sum() for wk, c in zip(w, children))
        self.a_opt.zero_grad(set_to_none=True)
        (-total).backward()
        self.a_opt.step()
        return children[int(np.argmax(loglik))]

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        return self.recommend(sn) if sampled is None else valid(sn, sampled, masked_softmax(self.pi, sn.mask))

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, masked_softmax(self.pi, sn.mask))
