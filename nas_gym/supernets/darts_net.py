"""The DARTS search network as a weight-sharing supernet, and one genotype's network as a plain
module.

As in DARTS's search model (Liu et al., 2019, section 2 and appendix): stem Conv3x3 (3C) + BN;
``layers`` cells, reduction cells (channels doubled, stride 2 on edges from the cell inputs)
at ``layers//3`` and ``2*layers//3``; each cell preprocesses its two inputs (the two previous
cells' outputs) to C channels, has 4 intermediate nodes reading every earlier node (14 edges)
and outputs their concatenation; global average pool; linear classifier. Cell batch norms are
``affine=False`` as in the search model; pools are followed by a BN in the mixed op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..spaces.darts import DARTS_OPS, EDGES, N_NODES, DartsSpace
from .cells import (
    CountAvgPool2d,
    DagCell,
    FoldedSequential,
    Plan,
    copy_into,
    image_hw,
    make_plan,
    module_macs,
    pad_active,
    relu_conv_bn,
    trace_macs,
)
from .paths import Path, as_path, mixed

DARTS_SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(C=4, layers=3),
    "ddas": dict(C=16, layers=6),
    "darts": dict(C=16, layers=8),
}
N_EDGES = len(EDGES)  # per cell
_OUTPUTS = tuple(range(2, 2 + N_NODES))
AFFINE = False


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing pixels: two stride-2 1x1 convs, one shifted by a pixel,
    concatenated (for odd sizes the shifted branch is zero-padded so both halves agree)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = AFFINE) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _sep_conv(c: int, k: int, stride: int) -> nn.Sequential:
    """Two stacked ReLU - depthwise kxk - pointwise - BN (the first one strided)."""
    layers: list[nn.Module] = []
    for s in (stride, 1):
        layers += [
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, k, s, k // 2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=AFFINE, track_running_stats=True),
        ]
    return FoldedSequential(*layers)


def _dil_conv(c: int, k: int, stride: int) -> nn.Sequential:
    """ReLU - depthwise kxk dilation 2 - pointwise - BN."""
    return FoldedSequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c, c, k, stride, k - 1, dilation=2, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c, affine=AFFINE, track_running_stats=True),
    )


def darts_op(name: str, c: int, stride: int) -> nn.Module:
    """One op of the DARTS mixed op on ``c`` channels (pools with their BN, as in the search model)."""
    if name == "max_pool_3x3":
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False, track_running_stats=True))
    if name == "avg_pool_3x3":
        return nn.Sequential(CountAvgPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False, track_running_stats=True))
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        return _sep_conv(c, int(name[-1]), stride)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        return _dil_conv(c, int(name[-1]), stride)
    raise ValueError(f"unknown DARTS op {name!r}")


class DartsCell(DagCell):
    """A normal or reduction cell; inputs are preprocessed only when a live edge reads them."""

    def __init__(
        self,
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
        keep: set[tuple[int, int]] | None = None,
        uses: Sequence[bool] = (True, True),
    ) -> None:
        super().__init__(
            EDGES, DARTS_OPS, lambda e, name: darts_op(name, c, 2 if reduction and EDGES[e][1] < 2 else 1), keep
        )
        self.c, self.reduction = int(c), bool(reduction)
        pre0 = FactorizedReduce(c_pp, c) if reduction_prev else relu_conv_bn(c_pp, c, 1, 1, 0, affine=AFFINE)
        self.preprocess0 = pre0 if uses[0] else None
        self.preprocess1 = relu_conv_bn(c_p, c, 1, 1, 0, affine=AFFINE) if uses[1] else None

    def forward(self, s0: Tensor, s1: Tensor, plan: Plan, weights: Tensor | None) -> Tensor:
        states: list[Tensor | None] = [
            self.preprocess0(s0) if self.preprocess0 is not None and plan.uses[0] else None,
            self.preprocess1(s1) if self.preprocess1 is not None and plan.uses[1] else None,
            *([None] * N_NODES),
        ]
        nodes = self.run(states, plan, weights)[2:]
        if all(n is not None for n in nodes):
            return torch.cat(nodes, dim=1)  # type: ignore[arg-type]
        # a node no live edge reaches is zero: build it at the cell's output resolution
        h, w = s1.shape[-2:]
        if self.reduction:
            h, w = (h + 1) // 2, (w + 1) // 2
        ref = next((n for n in nodes if n is not None), s1)
        zeros = ref.new_zeros((s1.shape[0], self.c, h, w))
        return torch.cat([zeros if n is None else n for n in nodes], dim=1)


class _DartsBody(nn.Module):
    """Stem, cells (built by ``keep``/``uses`` per cell kind) and head; shared by supernet and child."""

    def __init__(
        self,
        C: int,
        layers: int,
        in_channels: int,
        num_classes: int,
        keep: dict[bool, set[tuple[int, int]]] | None,
        uses: dict[bool, tuple[bool, bool]] | None,
    ) -> None:
        super().__init__()
        self.C, self.layers, self.in_channels, self.num_classes = (
            int(C),
            int(layers),
            int(in_channels),
            int(num_classes),
        )
        c_curr = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c = c_curr, c_curr, C
        cells: list[DartsCell] = []
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cells.append(
                DartsCell(
                    c_pp,
                    c_p,
                    c,
                    reduction,
                    reduction_prev,
                    keep=None if keep is None else keep[reduction],
                    uses=(True, True) if uses is None else uses[reduction],
                )
            )
            reduction_prev = reduction
            c_pp, c_p = c_p, N_NODES * c
        self.cells = nn.ModuleList(cells)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)
        # see channels_last in cells.py; Module.to accepts memory_format, its typed overloads omit it
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def _run(self, x: Tensor, plans: tuple[Plan, Plan], weights: Tensor | None) -> Tensor:
        return self._after_stem(self.stem_output(x), plans, weights)

    def stem_output(self, x: Tensor) -> Tensor:
        """The stem's output: what every path starts from."""
        return self.stem(x.contiguous(memory_format=torch.channels_last))  # see channels_last in cells.py

    def _after_stem(self, h: Tensor, plans: tuple[Plan, Plan], weights: Tensor | None) -> Tensor:
        halves = (None, None) if weights is None else (weights[:N_EDGES], weights[N_EDGES:])
        s0 = s1 = h
        for cell in cast(list[DartsCell], self.cells):
            r = int(cell.reduction)
            s0, s1 = s1, cell(s0, s1, plans[r], halves[r])
        return self.classifier(self.pool(s1).flatten(1))


class DartsChild(_DartsBody):
    """One DARTS genotype's network as a plain module: only its live ops, fixed plans, ``forward(x)``."""

    def __init__(
        self,
        codes: Sequence[int] | np.ndarray,
        C: int = 16,
        layers: int = 8,
        in_channels: int = 3,
        num_classes: int = 10,
    ) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        plans = _plans(_one_hot(codes))
        keep = {bool(r): {(e, ops[0][0]) for e, _, _, ops in plans[r].steps} for r in (0, 1)}
        uses = {bool(r): plans[r].uses for r in (0, 1)}
        super().__init__(C, layers, in_channels, num_classes, keep, uses)  # type: ignore[arg-type]
        self.codes, self.plans = codes, plans

    def forward(self, x: Tensor) -> Tensor:
        return self._run(x, self.plans, None)


class DartsSupernet(_DartsBody):
    """Weight-sharing DARTS search network: ``forward(x, path)`` with a (28, 8) path; normal cells
    take rows 0..13, reduction cells rows 14..27. ``image_size``: the resolution :meth:`flops` counts at."""

    mixes_none = False  # DARTS's one-shot model leaves the zero op out of the mixture (as the thesis)

    def __init__(
        self,
        C: int = 16,
        layers: int = 8,
        in_channels: int = 3,
        num_classes: int = 10,
        image_size: int | Sequence[int] = 32,
    ) -> None:
        super().__init__(C, layers, in_channels, num_classes, keep=None, uses=None)
        self.space = DartsSpace()
        self.image_size = image_hw(image_size)
        self._op_params = np.concatenate(
            [sum(c.op_params() for c in cast(list[DartsCell], self.cells) if c.reduction == r) for r in (False, True)]
        )
        self._skeleton_params = sum(p.numel() for p in self.parameters()) - int(self._op_params.sum())
        self._macs: dict[tuple[int, int], tuple[int, np.ndarray, np.ndarray]] = {}

    @property
    def n_options(self) -> int:
        return len(DARTS_OPS)

    def plans(self, path: Path) -> tuple[Plan, Plan]:
        """(normal, reduction) cell plans for ``path``, memoised on the path."""
        plans = path.cache.get("darts")
        if plans is None:
            plans = path.cache["darts"] = _plans(pad_active(path.active, 2 * N_EDGES, len(DARTS_OPS)))
        return plans

    def forward(self, x: Tensor, path: Path) -> Tensor:
        return self.after_stem(self.stem_output(x), path)

    def after_stem(self, h: Tensor, path: Path) -> Tensor:
        """The forward from the stem's output ``h`` on: ``forward(x, path) == after_stem(stem_output(x), path)``."""
        plans = self.plans(path)
        weights = None if path.single else path.weights
        if weights is not None and tuple(weights.shape) != (2 * N_EDGES, len(DARTS_OPS)):
            raise ValueError(f"path weights must be {(2 * N_EDGES, len(DARTS_OPS))}, got {tuple(weights.shape)}")
        return self._after_stem(h, plans, weights)

    def live(self, path_or_codes: Any) -> np.ndarray:
        """(28, 8) bool: the ops the path runs (active, non-``none``, on a live edge)."""
        return np.concatenate([p.live for p in self.plans(as_path(path_or_codes))])

    def param_count(self, codes: Any) -> int:
        """Parameters of the genotype's network: stem, preprocessing, classifier and every
        non-``none`` op of each cell (DARTS search-model ops: BN without affine parameters)."""
        codes = _check_codes(codes)
        return int(self._skeleton_params + self._op_params[np.arange(len(codes)), codes].sum())

    def _mac_tables(self, image_size: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
        if image_size not in self._macs:
            all_ops = mixed(torch.ones(2 * N_EDGES, len(DARTS_OPS), device=next(self.parameters()).device))
            macs = trace_macs(self, lambda x: self(x, all_ops), (self.in_channels, *image_size))
            ops = np.concatenate(
                [
                    sum(c.op_macs(macs) for c in cast(list[DartsCell], self.cells) if c.reduction == r)
                    for r in (False, True)
                ]
            )
            pre = np.array(
                [
                    [
                        sum(module_macs(getattr(c, f"preprocess{i}"), macs) for c in self.cells if c.reduction == r)
                        for i in (0, 1)
                    ]
                    for r in (False, True)
                ],
                dtype=np.int64,
            )
            self._macs[image_size] = (int(sum(macs.values())) - int(ops.sum()) - int(pre.sum()), ops, pre)
        return self._macs[image_size]

    def flops(self, path_or_codes: Any, image_size: int | Sequence[int] | None = None) -> int:
        """Multiply-accumulates per image (convolutions and the classifier) of the live computation:
        stem, head, the preprocessing a live edge reads and the ops the path runs."""
        skeleton, ops, pre = self._mac_tables(self.image_size if image_size is None else image_hw(image_size))
        plans = self.plans(as_path(path_or_codes))
        used = np.array([p.uses for p in plans], dtype=bool)
        return int(skeleton + ops[np.concatenate([p.live for p in plans])].sum() + pre[used].sum())

    def child(self, codes: Any, copy_weights: bool = False) -> DartsChild:
        """The genotype ``codes`` as a plain network with only its live ops (fresh weights, or the
        supernet's with ``copy_weights``; parameter names are the supernet's)."""
        child = DartsChild(_check_codes(codes), self.C, self.layers, self.in_channels, self.num_classes)
        if copy_weights:
            copy_into(child, self)
        return child.to(next(self.parameters()).device)


def _plans(active: np.ndarray) -> tuple[Plan, Plan]:
    return tuple(  # type: ignore[return-value]
        make_plan(active[r * N_EDGES : (r + 1) * N_EDGES], EDGES, 2, _OUTPUTS, DARTS_OPS) for r in (0, 1)
    )


def _one_hot(codes: np.ndarray) -> np.ndarray:
    a = np.zeros((len(codes), len(DARTS_OPS)), dtype=bool)
    a[np.arange(len(codes)), codes] = True
    a[:, 0] = False
    return a


def _check_codes(codes: Any) -> np.ndarray:
    arr = np.asarray(codes.detach().cpu() if isinstance(codes, Tensor) else codes, dtype=np.int64)
    if arr.shape != (2 * N_EDGES,) or (arr < 0).any() or (arr >= len(DARTS_OPS)).any():
        raise ValueError(f"DARTS codes are {2 * N_EDGES} options in 0..{len(DARTS_OPS) - 1}, got {arr.tolist()}")
    return arr
