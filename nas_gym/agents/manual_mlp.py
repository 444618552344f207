"""An MLP trained without autograd: a hand-written backward and a direct Adam step.

CADAM trains two MLPs of ~70k weights on batches of 8, ten times per query; DDAS two of ~140k
on batches of 64 once per query. At these sizes a training step is mostly overhead (module calls,
building and walking the autograd graph, zeroing gradients, optimiser bookkeeping) rather than
arithmetic. :class:`ManualMLP` does the same arithmetic with a fraction of the torch calls: its
backward calls the ATen kernels autograd calls for ``Linear``, ``ReLU`` and ``Sigmoid``, in the
same order and on operands of the same layout, so gradients and updated weights are the same
floats as ``loss.backward(); adam.step()`` on the :func:`~nas_gym.agents.common.mlp` it copies.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, overload

import torch
import torch.nn.functional as F
from torch import nn

from .adam import Adam


def mean_grad(x: torch.Tensor) -> torch.Tensor:
    """``d mean(x) / dx`` as autograd computes it: ``1 / x.numel()`` (a float32 division) everywhere.

    One tensor per shape, made once and shared (a training step asks for it twice): read it, never
    write to it.
    """
    return _mean_grad(tuple(x.shape), x.dtype)


@lru_cache(maxsize=64)
def _mean_grad(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    n = 1
    for size in shape:
        n *= size
    return torch.full(shape, float(torch.ones((), dtype=dtype) / n), dtype=dtype)


class ManualMLP:
    """The weights of an :func:`~nas_gym.agents.common.mlp` network (ReLU between layers, an
    optional final sigmoid), a forward that keeps what the backward needs, and Adam.

    The weights are copied from ``net`` (so a seeded ``mlp(...)`` initialises both the same way);
    ``lr`` and ``betas`` are Adam's, with torch's defaults otherwise (eps 1e-8, no weight decay).
    """

    def __init__(self, net: nn.Sequential, lr: float, betas: tuple[float, float]) -> None:
        linears = [m for m in net if isinstance(m, nn.Linear)]
        others = [type(m).__name__ for m in net if not isinstance(m, (nn.Linear, nn.ReLU))]
        if others not in ([], ["Sigmoid"]) or (others and not isinstance(net[-1], nn.Sigmoid)):
            raise ValueError(
                f"ManualMLP takes Linear layers with ReLU between and an optional final Sigmoid, got {others}"
            )
        self.sigmoid_out = bool(others)
        self.weights = [lin.weight.detach().clone() for lin in linears]
        self.biases = [lin.bias.detach().clone() for lin in linears]
        self.params = [t for pair in zip(self.weights, self.biases) for t in pair]
        self.grads = [torch.zeros_like(p) for p in self.params]
        self.adam = Adam(self.params, lr, betas)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output for ``x``, and every layer's input followed by the output (for :meth:`backward`)."""
        acts = [x]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = F.linear(x, w, b)
            if i < last:
                x = torch.relu(x)
            elif self.sigmoid_out:
                x = torch.sigmoid(x)
            acts.append(x)
        return x, acts

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)[0]

    @overload
    def backward(self, acts: list[torch.Tensor], grad: torch.Tensor, weights: Literal[True] = ...) -> None: ...

    @overload
    def backward(self, acts: list[torch.Tensor], grad: torch.Tensor, weights: Literal[False]) -> torch.Tensor: ...

    def backward(self, acts: list[torch.Tensor], grad: torch.Tensor, weights: bool = True) -> torch.Tensor | None:
        """Back-propagate ``grad``, the loss gradient of the output of the batch that gave ``acts``.

        ``weights=True`` writes the parameter gradients into ``grads`` for :meth:`step` and
        returns None (the input is data: like autograd, no gradient is computed for it);
        ``weights=False`` computes only the input's gradient and returns it (a frozen network
        between the trained one and the loss).
        """
        if self.sigmoid_out:
            grad = torch.ops.aten.sigmoid_backward(grad, acts[-1])
        for i in reversed(range(len(self.weights))):
            if weights:
                # autograd's addmm backward: weight grad = grad^T @ input, bias grad = batch sum
                torch.mm(grad.t(), acts[i], out=self.grads[2 * i])
                torch.sum(grad, 0, out=self.grads[2 * i + 1])
                if i == 0:
                    return None
            grad = grad.mm(self.weights[i])
            if i > 0:
                grad = torch.ops.aten.threshold_backward(grad, acts[i], 0)
        return grad

    def track(self, source: ManualMLP, tau: float) -> None:
        """Polyak averaging towards ``source``: ``w <- tau * w_source + (1 - tau) * w`` (a target network)."""
        torch._foreach_mul_(self.params, 1.0 - tau)
        torch._foreach_add_(self.params, source.params, alpha=tau)

    def step(self) -> None:
        """One Adam step on the gradients the last :meth:`backward` wrote."""
        self.adam.step(self.grads)
