"""AdvantageNAS (Sato et al. 2021) on a supernet, with the first-order per-edge advantage of its
eq. 7 (Algorithm 1), and its REINFORCE ablation (the same code with the scalar reward, eq. 4).

The policy is a categorical distribution per edge, ``p(a_i) = softmax(theta_i)``. Weights train
on a sampled child (Algorithm 1, lines 2-5). An architecture step samples another child ``a``
and runs it with unit gates on its ops (:func:`~nas_gym.supernets.paths.gated`); the reward is
``r = -L(a; V)`` on a validation batch and the advantage of edge i is

    A_i = d r / d g_{i, a_i} = (d r / d O_i)^T O_i^{a_i}(x)                     (eq. 7)

the first-order estimate of ``r(a) - r(a with edge i set to zero)`` (eq. 6), read off the same
backward pass. theta_i then moves along ``A_i grad log p(a_i)`` by Adam (lines 8-10). Where the
zero op is searched (``include_none``) and sampled, footnote 4's worst moving-average advantage of
the edge's other ops replaces its (always zero) eq.-7 value. ``reinforce-supernet`` puts r in
place of every A_i, with no baseline, as eq. 4.

Defaults from the paper: theta = 0, Adam lr 1e-3, betas (0.9, 0.999) (section 5.1); theta fixed
for the first half of the search while the weights warm up (section 5.2: 50 of 100 epochs); the
zero op left out (section 5.2, footnote 5). Each round queries the child sampled for theta's last
step; the paper reports both the process best and the argmax, and finds the argmax better (Table 2).
The tabular agent with exact eq.-6 counterfactual queries is ``advantagenas``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path, gated, single_path
from ..advantage import worst_other
from ..base import register
from ..common import MovingAverage, masked_log_softmax, sample_index
from .loop import Batch, OneShotAgent, Supernet, arch_parameters, discretise, masked_softmax, one_hot, valid


def edge_advantages(d_reward_d_gate: Tensor, codes: np.ndarray) -> Tensor:
    """Eq. 7: the reward's derivative by the gate of each edge's chosen op, ``(E,)``."""
    return d_reward_d_gate[torch.arange(len(codes)), torch.as_tensor(codes)]


@register("advantagenas-supernet")
@dataclass
class AdvantageNASSupernet(OneShotAgent):
    """AdvantageNAS with eq. 7's first-order advantage (``advantage=False``: REINFORCE)."""

    name: ClassVar[str] = "advantagenas-supernet"

    advantage: bool = True
    a_lr: float = 1e-3
    a_betas: tuple[float, float] = (0.9, 0.999)
    warmup: float = 0.5
    zero_avg_coef: float = 0.05  # weight of a new advantage in footnote 4's moving average

    def setup(self, sn: Supernet) -> None:
        self.theta, self.a_opt = arch_parameters(sn, self.a_lr, self.a_betas)
        self.avg = MovingAverage(1.0 - self.zero_avg_coef, tuple(sn.mask.shape))

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        return single_path(sample_index(masked_softmax(self.theta, sn.mask), rng), sn.mask.shape[1])

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
        probs = masked_softmax(self.theta, sn.mask)
        codes = sample_index(probs, rng)
        gates = one_hot(codes, tuple(sn.mask.shape), sn.device).requires_grad_()
        reward = -sn.loss(gated(gates, active=gates.detach() > 0), x, y)
        (d_gate,) = torch.autograd.grad(reward, gates)
        if self.advantage:
            adv = edge_advantages(d_gate, codes).detach().double().cpu().numpy()
            adv = self._zero_op(adv, codes)
        else:
            adv = np.full(len(codes), float(reward.detach()))
        logp = masked_log_softmax(self.theta, sn.mask)[torch.arange(len(codes)), torch.as_tensor(codes)]
        self.a_opt.zero_grad(set_to_none=True)
        (-(torch.as_tensor(adv, dtype=logp.dtype, device=logp.device) * logp).sum()).backward()
        self.a_opt.step()
        return codes

    def _zero_op(self, adv: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Footnote 4: a sampled zero op gets the worst moving-average advantage of its edge's other ops."""
        zero = codes == 0
        hit = np.zeros(self.avg.value.shape, dtype=bool)
        hit[np.flatnonzero(~zero), codes[~zero]] = True
        self.avg.update(adv[:, None], where=hit)
        return np.where(zero, worst_other(self.avg.value, np.zeros(len(codes), dtype=np.int64)), adv)

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        return self.recommend(sn) if sampled is None else valid(sn, sampled, masked_softmax(self.theta, sn.mask))

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, masked_softmax(self.theta, sn.mask))


@register("reinforce-supernet")
@dataclass
class ReinforceSupernet(AdvantageNASSupernet):
    """The AdvantageNAS paper's REINFORCE baseline on a supernet: the scalar reward for every edge."""

    name: ClassVar[str] = "reinforce-supernet"

    advantage: bool = False
