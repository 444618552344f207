"""Adam as torch's fused CPU kernel called directly: the floats of ``torch.optim.Adam(fused=True)``.

The agents' networks are small (a few thousand to ~70k weights) and take one step per query or
more; at that size ``torch.optim.Adam.step`` spends three quarters of its time on bookkeeping
(parameter groups, state lookups, profiler hooks) around the one kernel call that does the work.
Where torch has no fused CPU kernel (before 2.4) the step is torch's single-tensor Adam, what
``torch.optim.Adam`` runs on CPU then.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import torch
from torch.optim.adam import adam as single_tensor_adam


@lru_cache(maxsize=1)
def fused_adam_available() -> bool:
    """Whether this torch has the fused CPU Adam kernel."""
    if not hasattr(torch, "_fused_adam_"):
        return False
    try:
        torch.optim.Adam([torch.zeros(1)], fused=True)
    except (RuntimeError, TypeError):
        return False
    return True


class Adam:
    """Adam over ``params`` (eps 1e-8, no weight decay: torch's defaults otherwise).

    Used as an optimiser (:meth:`zero_grad`, ``loss.backward()``, :meth:`step`), or given the
    gradients to step on (:class:`~nas_gym.agents.manual_mlp.ManualMLP`, which computes its own).
    Every parameter is stepped at every step, so one step counter serves all of them.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.params = list(params)
        self.lr, self.betas = float(lr), (float(betas[0]), float(betas[1]))
        self._exp_avg = [torch.zeros_like(p) for p in self.params]
        self._exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self._fused = fused_adam_available()
        # the fused kernel only reads the counts (one shared tensor); the single-tensor path adds to each
        counter = torch.zeros((), dtype=torch.float32)
        self._steps = [counter if self._fused else torch.zeros((), dtype=torch.float32) for _ in self.params]

    def zero_grad(self) -> None:
        """Drop the gradients (as ``torch.optim``'s ``zero_grad()``: the next backward writes new ones)."""
        for p in self.params:
            p.grad = None

    def step(self, grads: list[torch.Tensor] | None = None) -> None:
        """One Adam step on ``grads`` (default: the parameters' ``.grad``, which must all be set)."""
        if grads is None:
            grads = [p.grad for p in self.params if p.grad is not None]
            if len(grads) != len(self.params):
                raise RuntimeError("Adam.step(): a parameter has no gradient (every parameter is stepped)")
        with torch.no_grad():
            if self._fused:
                # the step count goes first, as in torch.optim.Adam(fused=True).step()
                self._steps[0].add_(1)
                torch._fused_adam_(
                    self.params, grads, self._exp_avg, self._exp_avg_sq, [], self._steps, amsgrad=False,
                    lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0, eps=1e-8, maximize=False,
                )  # fmt: skip
            else:
                single_tensor_adam(
                    self.params, grads, self._exp_avg, self._exp_avg_sq, [], self._steps, foreach=False,
                    amsgrad=False, beta1=self.betas[0], beta2=self.betas[1], lr=self.lr, weight_decay=0.0, eps=1e-8,
                    maximize=False,
                )  # fmt: skip
