"""Losses that train the learned loss network phi (LAMANAS, section 5).

- :func:`inner_product_proxy` (eq. 8, from the first-order expansion of eq. 6):
  CE - lam <grad_theta L_phi, grad_theta CE> - xi <grad_alpha L_phi, grad_alpha CE>.
  Minimising it over phi aligns the learned loss's gradients with cross-entropy's, so a step
  on L_phi lowers CE. Its gradient in phi goes through grad_theta L_phi (second order).
- :func:`mse_proxy` (eq. 7): (L_phi - CE)^2, the learned loss's value against cross-entropy's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

PROXIES = ("inner", "mse")


def _dot(a: Sequence[Tensor | None], b: Sequence[Tensor | None]) -> Tensor | None:
    """Sum of elementwise products over the pairs where both gradients exist."""
    terms = [(x * y).sum() for x, y in zip(a, b) if x is not None and y is not None]
    return torch.stack(terms).sum() if terms else None


def inner_product_proxy(
    learned: Tensor, ce: Tensor, theta: Sequence[Tensor], alpha: Sequence[Tensor], lam: float, xi: float
) -> Tensor:
    """Eq. 8 for one batch: ``learned`` = L_phi and ``ce`` computed from the same forward of
    (``theta``, ``alpha``); differentiable in phi. ``lam``, ``xi``: the task learning rates."""
    params = list(theta) + list(alpha)
    g_learned = torch.autograd.grad(learned, params, create_graph=True, allow_unused=True)
    g_raw = torch.autograd.grad(ce, params, retain_graph=True, allow_unused=True)
    # cross-entropy's gradient is a constant target: only L_phi's gradient depends on phi
    g_ce = [None if g is None else g.detach() for g in g_raw]
    n = len(theta)
    proxy = ce.detach()
    for rate, part in ((lam, slice(0, n)), (xi, slice(n, None))):
        dot = _dot(g_learned[part], g_ce[part])
        if dot is not None:
            proxy = proxy - rate * dot
    return proxy


def mse_proxy(learned: Tensor, ce: Tensor) -> Tensor:
    """Eq. 7: squared difference of the learned loss and (constant) cross-entropy."""
    return (learned - ce.detach()) ** 2


__all__ = ["PROXIES", "inner_product_proxy", "mse_proxy"]
