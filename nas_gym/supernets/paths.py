"""What selects a supernet's computation: a :class:`Path`, passed to ``forward`` with the input.

Three constructors cover the weight-sharing methods:

- :func:`single_path` - one op per edge, outputs taken as they are (uniform sampling, ENAS, DDAS, CADAM);
- :func:`mixed` - DARTS's continuous relaxation, every op weighted by its (softmaxed) alpha;
- :func:`gated` - hard gates that carry gradients (GDAS's straight-through sample, ProxylessNAS's
  binary gates, AdvantageNAS eq. 7): only ``active`` ops run, each scaled by its gate.

Column ``o`` of every ``(E, O)`` array is option ``o`` of the space (column 0 = ``none``, which
never runs). A network runs only the active ops on live edges; the rest get no gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True, eq=False)
class Path:
    """Ops to run (``active``, CPU bool ``(E, O)``) and their output multipliers (``weights``).

    ``single``: outputs are used unscaled (``weights`` is then only the one-hot of the codes).
    The network memoises its liveness plan in ``cache`` (keyed by cell graph), so reusing one
    Path over many batches computes it once.
    """

    weights: Tensor
    active: Tensor
    single: bool
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.active.shape)  # type: ignore[return-value]


def _codes(codes: Any) -> np.ndarray:
    """Codes as a 1-d int64 array (from numpy, lists or tensors on any device)."""
    arr = codes.detach().cpu().numpy() if isinstance(codes, Tensor) else np.asarray(codes)
    if arr.ndim != 1 or (arr.size and not np.array_equal(arr, np.round(arr))):
        raise ValueError(f"codes must be a 1-d array of option indices, got {arr!r}")
    arr = arr.astype(np.int64)
    if (arr < 0).any():
        raise ValueError(f"codes must be >= 0, got {arr.tolist()}")
    return arr


def single_path(codes: Any, n_options: int | None = None) -> Path:
    """The child ``codes`` (``(E,)`` option indices): each live edge outputs ``op(x)`` unscaled.

    ``n_options`` pads the arrays to ``(E, n_options)``; by default they are as wide as the
    largest code needs (networks accept narrower single paths).
    """
    arr = _codes(codes)
    width = int(n_options) if n_options is not None else max(int(arr.max(initial=0)) + 1, 2)
    if (arr >= width).any():
        raise ValueError(f"codes {arr.tolist()} exceed n_options={width}")
    active = torch.zeros(len(arr), width, dtype=torch.bool)
    active[torch.arange(len(arr)), torch.as_tensor(arr)] = True
    active[:, 0] = False  # none never runs
    return Path(active.float(), active, True)


def mixed(weights: Tensor) -> Path:
    """DARTS's relaxation: every non-``none`` op of every edge runs, edge = sum_o w[e,o]*op_o(x).

    ``weights`` ``(E, O)`` (already softmaxed, on the network's device, may require grad); the
    ``none`` column contributes zero whatever its weight.
    """
    w = torch.as_tensor(weights)
    if w.ndim != 2:
        raise ValueError(f"mixed weights must be (E, O), got shape {tuple(w.shape)}")
    active = torch.ones(w.shape, dtype=torch.bool)
    active[:, 0] = False
    return Path(w, active, False)


def gated(gates: Tensor, active: Tensor | np.ndarray | None = None) -> Path:
    """Hard gates: run the ``active`` ops (default ``gates != 0``), edge = sum_active g[e,o]*op_o(x).

    Every active op gets d loss / d g[e,o] = <d loss/d edge, op_o(x)>, also one whose gate is 0
    (it runs but adds nothing), which eq. 7 of AdvantageNAS and ProxylessNAS need.
    """
    g = torch.as_tensor(gates)
    if g.ndim != 2:
        raise ValueError(f"gates must be (E, O), got shape {tuple(g.shape)}")
    if active is None:
        act = (g.detach() != 0).cpu()
    else:
        act = active.detach().cpu() if isinstance(active, Tensor) else torch.as_tensor(np.asarray(active))
    act = act.to(torch.bool).clone()
    if act.shape != g.shape:
        raise ValueError(f"active {tuple(act.shape)} and gates {tuple(g.shape)} differ in shape")
    act[:, 0] = False
    return Path(g, act, False)


def as_path(path_or_codes: Any) -> Path:
    """A Path unchanged, or the single path of codes."""
    return path_or_codes if isinstance(path_or_codes, Path) else single_path(path_or_codes)


__all__ = ["Path", "single_path", "mixed", "gated", "as_path"]
