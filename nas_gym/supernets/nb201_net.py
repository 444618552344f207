"""The NAS-Bench-201 supernet: the benchmark's skeleton with every cell holding all four real
ops on each of its six edges, and the child of one cell as a plain network.

Skeleton (as NAS-Bench-201 builds it, so child parameter counts match its table): stem
Conv3x3+BN; three stages of N cells at C, 2C, 4C channels joined by ResNet basic-block
reductions; BN+ReLU, global average pool, linear classifier. Every cell uses the same path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..spaces.nb201 import NB201_EDGES, NB201_OPS, NB201Space
from .cells import (
    CountAvgPool2d,
    DagCell,
    FoldedSequential,
    Plan,
    copy_into,
    hooked,
    image_hw,
    make_plan,
    pad_active,
    relu_conv_bn,
    trace_macs,
)
from .paths import Path, as_path, mixed

NB201_SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(C=4, N=1),
    "small": dict(C=8, N=1),
    "nb201": dict(C=16, N=5),
}
_OUTPUTS = (3,)


def nb201_op(name: str, c: int) -> nn.Module:
    """One NAS-Bench-201 op on ``c`` channels at stride 1."""
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return relu_conv_bn(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return relu_conv_bn(c, c, 3, 1, 1)
    if name == "avg_pool_3x3":
        return CountAvgPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class ResBlock(nn.Module):
    """NAS-Bench-201's reduction: a stride-2 ResNet basic block with an avg-pool + 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2, 1)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(CountAvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        conv_b = self.conv_b
        if (
            torch.is_grad_enabled()
            or not isinstance(conv_b, FoldedSequential)
            or not conv_b.starts_with_relu
            or hooked(*self.modules())
        ):
            return self.downsample(x) + conv_b(self.conv_a(x))
        # no autograd, nobody watching: conv_a's and conv_b's outputs are this call's own tensors, so
        # conv_b's ReLU and the sum run in place (the sum in the other order: float addition commutes)
        h = conv_b.after_relu(torch.relu_(self.conv_a(x)))
        return h.add_(self.downsample(x))


class NB201Cell(DagCell):
    """Four nodes, six edges in NB201 order; node 3 is the output (zeros when cut off)."""

    def __init__(self, c: int, keep: set[tuple[int, int]] | None = None) -> None:
        super().__init__(NB201_EDGES, NB201_OPS, lambda e, name: nb201_op(name, c), keep)

    def forward(self, x: Tensor, plan: Plan, weights: Tensor | None) -> Tensor:
        out = self.run([x, None, None, None], plan, weights)[3]
        return torch.zeros_like(x) if out is None else out


class _NB201Body(nn.Module):
    """The skeleton with cells built by ``keep`` (None: every op); shared by supernet and child."""

    def __init__(self, C: int, N: int, in_channels: int, num_classes: int, keep: set[tuple[int, int]] | None) -> None:
        super().__init__()
        self.C, self.N, self.in_channels, self.num_classes = int(C), int(N), int(in_channels), int(num_classes)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c = C
        for stage in range(3):
            if stage:
                layers.append(ResBlock(c, 2 * c))
                c *= 2
            layers.extend(NB201Cell(c, keep) for _ in range(N))
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        # see channels_last in cells.py; Module.to accepts memory_format, its typed overloads omit it
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def _run(self, x: Tensor, plan: Plan, weights: Tensor | None) -> Tensor:
        return self._after_stem(self.stem_output(x), plan, weights)

    def stem_output(self, x: Tensor) -> Tensor:
        """The stem's output: what every path starts from."""
        return self.stem(x.contiguous(memory_format=torch.channels_last))  # see channels_last in cells.py

    def _after_stem(self, x: Tensor, plan: Plan, weights: Tensor | None) -> Tensor:
        for layer in self.cells:
            x = layer(x, plan, weights) if isinstance(layer, NB201Cell) else layer(x)
        return self.classifier(self.pool(self.lastact(x)).flatten(1))


class NB201Child(_NB201Body):
    """One NB201 cell's network as a plain module: only its live ops, a fixed plan, ``forward(x)``."""

    def __init__(
        self, codes: Sequence[int] | np.ndarray, C: int = 16, N: int = 5, in_channels: int = 3, num_classes: int = 10
    ) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        plan = _plan(_one_hot(codes))
        super().__init__(C, N, in_channels, num_classes, keep={(e, s[0][0]) for e, _, _, s in plan.steps})
        self.codes = codes
        self.plan = plan

    def forward(self, x: Tensor) -> Tensor:
        return self._run(x, self.plan, None)


class NB201Supernet(_NB201Body):
    """Weight-sharing NAS-Bench-201 network: ``forward(x, path)``; all cells share the path.

    ``image_size`` is the input resolution :meth:`flops` counts at (a forward takes any size).
    """

    mixes_none = True  # NAS-Bench-201's one-shot model mixes the zero op with the others

    def __init__(
        self, C: int = 16, N: int = 5, in_channels: int = 3, num_classes: int = 10, image_size: int | Sequence[int] = 32
    ) -> None:
        super().__init__(C, N, in_channels, num_classes, keep=None)
        self.space = NB201Space()
        self.image_size = image_hw(image_size)
        cells = [m for m in self.cells if isinstance(m, NB201Cell)]
        # per-op parameters summed over the cells that share a path: a count is then O(E)
        self._op_params = np.sum([c.op_params() for c in cells], axis=0)
        self._skeleton_params = sum(p.numel() for p in self.parameters()) - int(self._op_params.sum())
        self._macs: dict[tuple[int, int], tuple[int, np.ndarray]] = {}

    @property
    def n_options(self) -> int:
        return len(NB201_OPS)

    def plan(self, path: Path) -> Plan:
        """The cells' plan for ``path``, memoised on the path."""
        plan = path.cache.get("nb201")
        if plan is None:
            plan = path.cache["nb201"] = _plan(pad_active(path.active, len(NB201_EDGES), len(NB201_OPS)))
        return plan

    def forward(self, x: Tensor, path: Path) -> Tensor:
        return self.after_stem(self.stem_output(x), path)

    def after_stem(self, h: Tensor, path: Path) -> Tensor:
        """The forward from the stem's output ``h`` on: ``forward(x, path) == after_stem(stem_output(x), path)``."""
        plan = self.plan(path)
        weights = None if path.single else path.weights
        if weights is not None and tuple(weights.shape) != (len(NB201_EDGES), len(NB201_OPS)):
            raise ValueError(f"path weights must be {(len(NB201_EDGES), len(NB201_OPS))}, got {tuple(weights.shape)}")
        return self._after_stem(h, plan, weights)

    def live(self, path_or_codes: Any) -> np.ndarray:
        """(E, O) bool: the ops the path runs (active, non-``none``, on a live edge)."""
        return self.plan(as_path(path_or_codes)).live.copy()

    def param_count(self, codes: Any) -> int:
        """Parameters of the child as NAS-Bench-201 counts them: the skeleton plus every non-``none``
        op of the genotype, on a dead edge too (its table's model size)."""
        codes = _check_codes(codes)
        return int(self._skeleton_params + self._op_params[np.arange(len(codes)), codes].sum())

    def _mac_tables(self, image_size: tuple[int, int]) -> tuple[int, np.ndarray]:
        if image_size not in self._macs:
            all_ops = mixed(torch.ones(len(NB201_EDGES), len(NB201_OPS), device=next(self.parameters()).device))
            macs = trace_macs(self, lambda x: self(x, all_ops), (self.in_channels, *image_size))
            cells = [m for m in self.cells if isinstance(m, NB201Cell)]
            ops = np.sum([c.op_macs(macs) for c in cells], axis=0)
            self._macs[image_size] = (int(sum(macs.values())) - int(ops.sum()), ops)
        return self._macs[image_size]

    def flops(self, path_or_codes: Any, image_size: int | Sequence[int] | None = None) -> int:
        """Multiply-accumulates per image (convolutions and the classifier) of the live computation:
        skeleton plus the ops the path runs; a cut-off cell adds nothing."""
        skeleton, ops = self._mac_tables(self.image_size if image_size is None else image_hw(image_size))
        return int(skeleton + ops[self.live(path_or_codes)].sum())

    def child(self, codes: Any, copy_weights: bool = False) -> NB201Child:
        """The child ``codes`` as a plain network with only its live ops (fresh weights, or the
        supernet's with ``copy_weights``; parameter names are the supernet's)."""
        child = NB201Child(_check_codes(codes), self.C, self.N, self.in_channels, self.num_classes)
        if copy_weights:
            copy_into(child, self)
        return child.to(next(self.parameters()).device)


def _plan(active: np.ndarray) -> Plan:
    return make_plan(active, NB201_EDGES, 1, _OUTPUTS, NB201_OPS)


def _one_hot(codes: np.ndarray) -> np.ndarray:
    a = np.zeros((len(codes), len(NB201_OPS)), dtype=bool)
    a[np.arange(len(codes)), codes] = True
    a[:, 0] = False
    return a


def _check_codes(codes: Any) -> np.ndarray:
    arr = np.asarray(codes.detach().cpu() if isinstance(codes, Tensor) else codes, dtype=np.int64)
    if arr.shape != (len(NB201_EDGES),) or (arr < 0).any() or (arr >= len(NB201_OPS)).any():
        raise ValueError(f"NB201 codes are {len(NB201_EDGES)} options in 0..{len(NB201_OPS) - 1}, got {arr.tolist()}")
    return arr
