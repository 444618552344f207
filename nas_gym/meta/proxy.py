"""Losses that train the learned loss network phi (LAMANAS, section 5).

- :func:`inner_product_proxy` (eq. 8, from the first-order expansion of eq. 6):
  CE - lam <grad_theta L_phi, grad_theta CE> - xi <grad_alpha L_phi, grad_alpha CE>.
  Minimising it over phi aligns the learned loss's gradients with cross-entropy's, so a step
  on L_phi lowers CE. Its gradient in phi goes through grad_theta L_phi (second order).
- :class:`InnerProductProxy`: the same value and phi-gradient at fixed (theta, alpha), computed
  once per task through the logits z: L_phi and CE read the network only through z, so
  <grad_theta L_phi, grad_theta CE> = <dL_phi/dz, J_theta grad_theta CE> with J_theta the
  Jacobian of z. The right-hand vector does not depend on phi: after one forward and two
  backward passes of the network, each step of phi costs a pass of the loss network alone.
- :func:`mse_proxy` (eq. 7): (L_phi - CE)^2, the learned loss's value against cross-entropy's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
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


def logit_direction(logits: Tensor, params: Sequence[Tensor], v: Sequence[Tensor | None]) -> Tensor:
    """J v: how ``logits`` move when ``params`` move along ``v`` (a Jacobian-vector product,
    taken as the gradient of the linear map u -> <J^T u, v>; the logits' graph is kept)."""
    u = torch.zeros_like(logits, requires_grad=True)
    vjp = torch.autograd.grad(
        logits, list(params), grad_outputs=u, create_graph=True, retain_graph=True, allow_unused=True
    )
    pairs = [(a, b) for a, b in zip(vjp, v) if a is not None and b is not None]
    if not pairs:
        return torch.zeros_like(logits)
    (jv,) = torch.autograd.grad([a for a, _ in pairs], [u], grad_outputs=[b for _, b in pairs], allow_unused=True)
    return torch.zeros_like(logits) if jv is None else jv.detach()


class InnerProductProxy:
    """Eq. 8 at fixed (theta, alpha) as a function of the learned loss alone (see the module doc).

    Built from one forward ``logits`` of the network and the ``labels``; ``self(loss_fn)`` is the
    proxy of the learned loss ``loss_fn(logits, labels)``, differentiable in its parameters, equal
    in value and phi-gradient to :func:`inner_product_proxy` at the same point.
    """

    def __init__(
        self, logits: Tensor, labels: Tensor, theta: Sequence[Tensor], alpha: Sequence[Tensor], lam: float, xi: float
    ) -> None:
        ce = F.cross_entropy(logits, labels)
        params = list(theta) + list(alpha)
        g_ce = torch.autograd.grad(ce, params, retain_graph=True, allow_unused=True)
        rates = [lam] * len(theta) + [xi] * len(alpha)
        # the direction the logits take along lam * grad_theta CE + xi * grad_alpha CE
        self.direction = logit_direction(logits, params, [None if g is None else r * g for r, g in zip(rates, g_ce)])
        self.logits, self.labels, self.ce = logits.detach(), labels, ce.detach()

    def __call__(self, loss_fn: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        z = self.logits.clone().requires_grad_(True)
        (g_z,) = torch.autograd.grad(loss_fn(z, self.labels), [z], create_graph=True)
        return self.ce - (g_z * self.direction).sum()


def mse_proxy(learned: Tensor, ce: Tensor) -> Tensor:
    """Eq. 7: squared difference of the learned loss and (constant) cross-entropy."""
    return (learned - ce.detach()) ** 2


__all__ = ["PROXIES", "InnerProductProxy", "inner_product_proxy", "logit_direction", "mse_proxy"]
