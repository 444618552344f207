"""ProxylessNAS (Cai, Zhu and Han 2019): binary gates, two sampled paths per architecture step.

Weights train on one op per edge drawn from ``p = softmax(alpha)``. An architecture step draws,
per edge, two distinct ops from p and one of them from p renormalised over the pair; the gate of
the drawn op is 1 and the other's 0, and both run (:func:`~nas_gym.supernets.paths.gated`),
so d loss / d g is known for both. Then ``d loss / d alpha_i = sum_j d loss / d g_j p_j (delta_ij - p_i)``
over the pair (the paper's eq. 4 restricted to the two paths), and after the update the pair's
alphas are shifted so that their total probability is unchanged, as the authors' code does.
Defaults from the authors' code: alpha ~ 1e-3 N(0, 1), Adam lr 1e-3, betas (0, 0.999), no
weight decay. Each round
queries alpha's argmax, which the paper reports; it never evaluates one-hot children while
searching (so the AdvantageNAS paper gives it no process best).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path, gated, single_path
from ..base import register
from ..common import sample_index
from .loop import Batch, OneShotAgent, Supernet, arch_parameters, discretise, masked_softmax, one_hot


@register("proxyless")
@dataclass
class ProxylessNAS(OneShotAgent):
    """ProxylessNAS's gradient-based binary gates (two sampled paths per update)."""

    name: ClassVar[str] = "proxyless"

    a_lr: float = 1e-3
    a_betas: tuple[float, float] = (0.0, 0.999)
    init_scale: float = 1e-3

    def setup(self, sn: Supernet) -> None:
        self.alpha, self.a_opt = arch_parameters(sn, self.a_lr, self.a_betas, init_scale=self.init_scale)

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        return single_path(sample_index(masked_softmax(self.alpha, sn.mask), rng), sn.mask.shape[1])

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
        p = masked_softmax(self.alpha, sn.mask).detach().double().cpu().numpy()
        E, O = p.shape
        rows = np.arange(E)[:, None]
        pairs = two_distinct(p, rng)  # (E, 2) op indices
        pair_p = p[rows, pairs] / p[rows, pairs].sum(1, keepdims=True)
        chosen = pairs[np.arange(E), sample_index(pair_p, rng)]
        active = torch.zeros(E, O, dtype=torch.bool)
        active[torch.as_tensor(rows), torch.as_tensor(pairs)] = True
        gates = one_hot(chosen, (E, O), sn.device).requires_grad_()
        (d_gate,) = torch.autograd.grad(sn.loss(gated(gates, active), x, y), gates)
        d_gate = d_gate.cpu().double().numpy()[rows, pairs]  # (E, 2)
        # eq. 4 over the pair: dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i)
        grad_pair = pair_p * (d_gate - (d_gate * pair_p).sum(1, keepdims=True))
        grad = np.zeros((E, O))
        grad[rows, pairs] = grad_pair
        old = self.alpha.detach().clone()
        self.a_opt.zero_grad(set_to_none=True)
        self.alpha.grad = torch.as_tensor(grad, dtype=self.alpha.dtype, device=self.alpha.device)
        self.a_opt.step()
        with torch.no_grad():  # keep the pair's total probability: only the relative odds move
            r, c = torch.as_tensor(np.repeat(np.arange(E), 2)), torch.as_tensor(pairs.ravel())
            new_pair, old_pair = self.alpha[r, c].view(E, 2), old[r, c].view(E, 2)
            shift = torch.logsumexp(new_pair, 1) - torch.logsumexp(old_pair, 1)
            self.alpha[r, c] = (new_pair - shift[:, None]).ravel()

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, masked_softmax(self.alpha, sn.mask))


def two_distinct(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two distinct options per row of ``p`` ``(E, O)``, drawn from ``p`` without replacement
    (the first from ``p``, the second from the rest renormalised); a row with one allowed option
    gets it twice."""
    first = sample_index(p, rng)
    rest = p.copy()
    rest[np.arange(len(p)), first] = 0.0
    alone = rest.sum(1) <= 0
    rest[alone] = p[alone]  # drawn, then replaced by ``first``: one uniform per row either way
    return np.stack([first, np.where(alone, first, sample_index(rest, rng))], axis=1)
