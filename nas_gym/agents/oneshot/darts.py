"""DARTS (Liu, Simonyan and Yang 2019) on a supernet env: continuous relaxation, bilevel descent.

Every edge mixes all its ops weighted by ``softmax(alpha)`` (:func:`~nas_gym.supernets.paths.mixed`);
alpha descends the validation loss and the shared weights the training loss, alternately, the
architecture step first in each round, as the authors' ``train_search.py``. First order
(``order=1``, the paper's faster variant) takes alpha's gradient at the current weights; second
order (``order=2``) at the weights after one virtual step of the weights' own SGD (its learning
rate, momentum buffer and weight decay, as the authors' ``architect.py``), with the
Hessian-vector product by finite differences (eqs. 7-8 of the paper). Defaults are the paper's
search settings: alpha ~ 1e-3 N(0, 1), Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3;
weights as the shared loop (SGD 0.025 cosine to 0.001, momentum 0.9, wd 3e-4). Each round
queries the current discretisation; the paper reports that argmax architecture (``reports="argmax"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

import numpy as np
import torch
from torch import Tensor

from ...supernets.paths import Path, mixed
from ..base import register
from .loop import Batch, OneShotAgent, Supernet, arch_parameters, discretise, masked_softmax


@register("darts")
@dataclass
class DARTS(OneShotAgent):
    """DARTS, first order by default; ``order=2`` for the unrolled (second-order) gradient."""

    name: ClassVar[str] = "darts"
    arch_first: ClassVar[bool] = True

    order: int = 1
    a_lr: float = 3e-4
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3
    init_scale: float = 1e-3

    def setup(self, sn: Supernet) -> None:
        if self.order not in (1, 2):
            raise ValueError(f"darts order must be 1 or 2, got {self.order}")
        self.alpha, self.a_opt = arch_parameters(sn, self.a_lr, self.a_betas, self.a_weight_decay, self.init_scale)

    def weights(self, sn: Supernet) -> Tensor:
        return masked_softmax(self.alpha, sn.mask)

    def mix(self, weights: Tensor) -> Path:
        """The relaxed path of architecture ``weights``: every op mixed (LNAS leaves pruned ops out)."""
        return mixed(weights)

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        return self.mix(self.weights(sn).detach())

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
        self.a_opt.zero_grad(set_to_none=True)
        if self.order == 1:
            sn.loss(self.mix(self.weights(sn)), x, y).backward()
        else:
            if train is None or w_opt is None:
                raise ValueError("second-order darts needs the round's training batch and weight optimiser")
            self.alpha.grad = self.unrolled_grad(sn, (x, y), train, w_opt)
        self.a_opt.step()

    def unrolled_grad(self, sn: Supernet, val: Batch, train: Batch, w_opt: torch.optim.SGD) -> Tensor:
        """d L_val(w', alpha) / d alpha at the virtual step ``w' = w - xi (mu m + dL_train/dw + lambda w)``
        of ``w_opt`` (learning rate xi, momentum mu with buffer m, weight decay lambda), by eqs. 7-8:
        the Hessian-vector product by central differences of dL_train/dalpha around w."""
        (xt, yt), (xv, yv) = train, val
        group = w_opt.param_groups[0]
        xi, mu, decay = group["lr"], group["momentum"], group["weight_decay"]
        params = [p for p in sn.net.parameters() if p.requires_grad]
        saved = [p.detach().clone() for p in params]
        w_path = self.mix(self.weights(sn).detach())
        g_train = torch.autograd.grad(sn.loss(w_path, xt, yt), params, allow_unused=True)
        with torch.no_grad():  # the virtual step; parameters without a gradient are skipped, as SGD skips them
            for p, g in zip(params, g_train):
                if g is not None:
                    buf = w_opt.state.get(p, {}).get("momentum_buffer")
                    p.sub_(xi * (g + decay * p + (0.0 if buf is None else mu * buf)))
        grads = torch.autograd.grad(
            sn.loss(self.mix(self.weights(sn)), xv, yv), [self.alpha, *params], allow_unused=True
        )
        d_alpha, d_w = grads[0], grads[1:]
        norm = torch.sqrt(cast(Tensor, sum((g * g).sum() for g in d_w if g is not None)))
        eps = 0.01 / (float(norm) + 1e-12)
        hess = []
        for sign in (1.0, -1.0):  # finite-difference Hessian-vector product around w
            with torch.no_grad():
                for p, w0, g in zip(params, saved, d_w):
                    p.copy_(w0 if g is None else w0 + sign * eps * g)
            hess.append(torch.autograd.grad(sn.loss(self.mix(self.weights(sn)), xt, yt), self.alpha)[0])
        with torch.no_grad():
            for p, w0 in zip(params, saved):
                p.copy_(w0)
        return d_alpha - xi * (hess[0] - hess[1]) / (2 * eps)

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, self.weights(sn))
