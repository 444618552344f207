"""The cell machinery both supernets share: liveness of a path, the plan of ops a cell runs, a
DAG cell that runs a plan, and the per-op accounting (parameters, multiply-accumulates).

A cell is a DAG: nodes ``0..n_inputs-1`` are its inputs, every edge ``(dst, src)`` holds one
module per real op (``nn.ModuleDict`` keyed by op name, so a child built with only its ops keeps
the supernet's parameter names). An op runs only where the path activates it *and* its edge is
on some input-to-output route: work on a dead end can never reach the loss.

Both networks keep weights and activations channels-last: oneDNN's convolutions with few
channels (these networks' case) ran 2-5x faster in that layout than in NCHW on the CPU (one
thread, torch 2.13), and GPUs prefer it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

Edge = tuple[int, int]  # (dst, src)


@dataclass(frozen=True)
class Plan:
    """The ops one cell runs for one path: ``steps`` in node order, each ``(edge, dst, src,
    ((option, op name), ...))``; ``live`` the ``(E, O)`` mask; ``uses[i]`` whether input i is read."""

    steps: tuple[tuple[int, int, int, tuple[tuple[int, str], ...]], ...]
    live: np.ndarray
    uses: tuple[bool, ...]


def liveness(active: np.ndarray, edges: Sequence[Edge], n_inputs: int, outputs: Sequence[int]) -> np.ndarray:
    """``active`` (E, O) restricted to edges whose source is reachable from an input and whose
    destination reaches an output, through edges with an active non-``none`` op."""
    on = np.any(active[:, 1:], axis=1)
    n_nodes = max(max(d for d, _ in edges), max(outputs)) + 1
    fwd = [i < n_inputs for i in range(n_nodes)]
    order = sorted(range(len(edges)), key=lambda e: edges[e][0])
    for e in order:  # by destination: a source's reachability is final before it is read
        d, s = edges[e]
        if on[e] and fwd[s]:
            fwd[d] = True
    bwd = [i in outputs for i in range(n_nodes)]
    for e in reversed(order):
        d, s = edges[e]
        if on[e] and bwd[d]:
            bwd[s] = True
    edge_live = np.array([bool(on[e] and fwd[s] and bwd[d]) for e, (d, s) in enumerate(edges)], dtype=np.bool_)
    live = active & edge_live[:, None]
    live[:, 0] = False
    return live


def make_plan(
    active: np.ndarray, edges: Sequence[Edge], n_inputs: int, outputs: Sequence[int], op_names: Sequence[str]
) -> Plan:
    """The plan of a cell for the (E, O') ``active`` mask (O' <= len(op_names))."""
    live = liveness(active, edges, n_inputs, outputs)
    steps = []
    for e in sorted(range(len(edges)), key=lambda e: edges[e][0]):
        ops = tuple((o, op_names[o]) for o in np.flatnonzero(live[e]).tolist())
        if ops:
            steps.append((e, edges[e][0], edges[e][1], ops))
    uses = tuple(any(s == i for _, _, s, _ in steps) for i in range(n_inputs))
    return Plan(tuple(steps), live, uses)


def pad_active(active: Tensor, n_edges: int, n_options: int) -> np.ndarray:
    """A path's CPU mask as an (E, O) numpy array; narrower single paths are padded with False."""
    a = active.detach().cpu().numpy().astype(bool)
    if a.ndim != 2 or a.shape[0] != n_edges or a.shape[1] > n_options:
        raise ValueError(f"path of shape {tuple(a.shape)} does not fit this network's ({n_edges}, {n_options})")
    if a.shape[1] < n_options:
        a = np.concatenate([a, np.zeros((n_edges, n_options - a.shape[1]), dtype=bool)], axis=1)
    return a


class DagCell(nn.Module):
    """Edges of one cell, each an ``nn.ModuleDict`` of op modules; runs a :class:`Plan`.

    ``keep`` (a set of ``(edge, option)``) builds only those ops: a child network's cell.
    """

    def __init__(
        self,
        edges: Sequence[Edge],
        op_names: Sequence[str],
        make_op: Callable[[int, str], nn.Module],
        keep: set[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__()
        self.edge_list = tuple(edges)
        self.op_names = tuple(op_names)
        self.edges = nn.ModuleList(
            nn.ModuleDict(
                {
                    name: make_op(e, name)
                    for o, name in enumerate(op_names)
                    if o > 0 and (keep is None or (e, o) in keep)
                }
            )
            for e in range(len(edges))
        )
        self._members: dict[nn.Module, tuple[nn.Module, ...]] = {}  # op -> its modules, for hook checks

    def run(self, states: list[Tensor | None], plan: Plan, weights: Tensor | None) -> list[Tensor | None]:
        """Fill the nodes of ``states`` (inputs given, the rest None) by ``plan``; a node no live
        edge reaches stays None (zero). ``weights`` (E, O) scales each op's output; None: unscaled.

        Without autograd (evaluation, recalibration), ops that start with a ReLU share one ReLU
        of their source node, and a node's sum accumulates in place in a tensor this call made
        (float addition commutes, so in either order): the same numbers with fewer passes over
        the activations. Ops a forward hook watches run as themselves, and keep their outputs."""
        quick = not torch.is_grad_enabled() and not hooked()
        made = [False] * len(states)  # states[i] is a tensor this call made: it may add into it
        relus: dict[int, Tensor] = {}  # source node -> its ReLU, shared by the ops that start with one
        for e, dst, src, ops in plan.steps:
            x, mods = states[src], cast(nn.ModuleDict, self.edges[e])
            assert x is not None  # a plan reads only nodes that a live edge has filled
            for o, name in ops:
                op = mods[name]
                own = quick and not self._watched(op)
                r = None
                if own and isinstance(op, FoldedSequential) and op.starts_with_relu:
                    r = relus.get(src)
                    if r is None:
                        r = relus[src] = F.relu(x)
                    y = op.after_relu(r)
                else:
                    y = op(x)
                own = own and y is not x and y is not r  # an input handed back is not ours to change
                if weights is not None:
                    y = weights[e, o] * y
                    own = quick
                prev = states[dst]
                if prev is None:
                    states[dst], made[dst] = y, own
                elif made[dst] and _adds_in_place(prev, y):
                    prev.add_(y)
                elif own and _adds_in_place(y, prev):
                    states[dst], made[dst] = y.add_(prev), True
                else:
                    states[dst], made[dst] = prev + y, quick
        return states

    def _watched(self, op: nn.Module) -> bool:
        """Whether a forward hook watches ``op`` or a module inside it (its modules listed once)."""
        members = self._members.get(op)
        if members is None:
            members = self._members[op] = tuple(op.modules())
        return hooked(*members)

    def op_params(self) -> np.ndarray:
        """(E, O) parameter count of each op (0 for ``none`` and ops not built)."""
        out = np.zeros((len(self.edges), len(self.op_names)), dtype=np.int64)
        for e, mods in enumerate(cast(list[nn.ModuleDict], self.edges)):
            for o, name in enumerate(self.op_names):
                if name in mods:
                    out[e, o] = sum(p.numel() for p in mods[name].parameters())
        return out

    def op_macs(self, macs: dict[nn.Module, int]) -> np.ndarray:
        """(E, O) multiply-accumulates of each op, from per-module counts of a traced forward."""
        out = np.zeros((len(self.edges), len(self.op_names)), dtype=np.int64)
        for e, mods in enumerate(cast(list[nn.ModuleDict], self.edges)):
            for o, name in enumerate(self.op_names):
                if name in mods:
                    out[e, o] = module_macs(mods[name], macs)
        return out


def module_macs(module: nn.Module, macs: dict[nn.Module, int]) -> int:
    """Multiply-accumulates of ``module`` and its children in a traced forward."""
    return int(sum(macs.get(m, 0) for m in module.modules()))


@torch.no_grad()
def trace_macs(net: nn.Module, run: Callable[[Tensor], object], shape: tuple[int, ...]) -> dict[nn.Module, int]:
    """Multiply-accumulates per image of every Conv2d and Linear in ``net`` during ``run`` on one
    zero image of ``shape`` (C, H, W), in eval mode so no batch-norm statistic moves."""
    macs: dict[nn.Module, int] = {}

    def hook(m: nn.Module, inp: tuple[Tensor, ...], out: Tensor) -> None:
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            macs[m] = macs.get(m, 0) + int(out[0].numel()) * k
        elif isinstance(m, nn.Linear):  # the only other module hooked
            macs[m] = macs.get(m, 0) + int(out[0].numel()) * m.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = net.training
    param = next(net.parameters())
    try:
        net.eval()
        run(torch.zeros((1, *shape), device=param.device, dtype=param.dtype))
    finally:
        net.train(was_training)
        for h in handles:
            h.remove()
    return macs


def hooked(*modules: nn.Module) -> bool:
    """Whether a forward hook watches these modules (their own hooks, or hooks on every module):
    fast paths that skip module calls step aside then, so hooks see every call they expect."""
    everywhere = torch.nn.modules.module
    if everywhere._global_forward_hooks or everywhere._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules)


def _adds_in_place(into: Tensor, other: Tensor) -> bool:
    """Whether ``into.add_(other)`` holds what ``into + other`` would (same shape and result type)."""
    return into.shape == other.shape and torch.result_type(into, other) == into.dtype


class FoldedSequential(nn.Sequential):
    """``nn.Sequential`` that, in inference (eval mode under ``torch.inference_mode``, what
    evaluation uses), runs each Conv2d followed by an eval-mode BatchNorm2d as one convolution
    with the batch norm folded into its weights and bias: the same outputs to float rounding,
    one pass over the activations fewer. Training, eval with autograd, and modules a forward
    hook watches (MAC tracing, data-flow tests) run the modules one by one as usual.

    The folded weights are kept until a weight or statistic they came from changes (an
    evaluation folds once and reuses them for every batch): the same numbers as folding anew."""

    def __init__(self, *args: nn.Module) -> None:
        super().__init__(*args)
        self._folds: dict[int, tuple[tuple | None, tuple[Tensor, Tensor]]] = {}  # conv index -> (key, fold)

    def forward(self, x: Tensor) -> Tensor:
        return self._run(x, 0)

    @property
    def starts_with_relu(self) -> bool:
        return len(self) > 1 and isinstance(self[0], nn.ReLU) and not self[0].inplace

    def after_relu(self, r: Tensor) -> Tensor:
        """The forward given ``r``, the output of its first module, a ReLU (what a cell shares
        between the ops that read the same node); the ReLU's hooks are the caller's to check."""
        return self._run(r, 1)

    def _run(self, x: Tensor, start: int) -> Tensor:
        mods = list(self)
        if self.training or not torch.is_inference_mode_enabled():
            for m in mods[start:]:
                x = m(x)
            return x
        i = start
        while i < len(mods):
            m = mods[i]
            bn = mods[i + 1] if i + 1 < len(mods) else None
            if isinstance(m, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and not bn.training and not hooked(m, bn):
                x = folded_conv_bn(m, bn, x, self._fold(i, m, bn))
                i += 2
            else:
                x = m(x)
                i += 1
        return x

    def _fold(self, i: int, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
        key = fold_key(conv, bn)
        hit = self._folds.get(i)
        if hit is None or key is None or hit[0] != key:
            hit = self._folds[i] = (key, fold_conv_bn(conv, bn))
        return hit[1]


def fold_key(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple | None:
    """What a fold of ``bn`` into ``conv`` depends on: each tensor's storage and version (an
    in-place change, an optimiser step or loaded weights, bumps the version), and ``eps``. A
    train-mode forward updates the running statistics inside its kernel without bumping their
    versions, but it bumps ``num_batches_tracked``'s. None where a tensor keeps no version (an
    inference tensor): then nothing is reused."""
    key: list = [bn.eps]
    stats = (bn.running_mean, bn.running_var, bn.num_batches_tracked)
    for t in (conv.weight, conv.bias, bn.weight, bn.bias, *stats):
        if t is None:
            key.append(None)
        elif t.is_inference():
            return None
        else:
            key.append((t.data_ptr(), t._version, t.dtype))
    return tuple(key)


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """The weight and bias of ``bn(conv(x))`` (``bn`` in eval mode) as one convolution:
    W' = W * s, b' = beta + (b - mu) * s, s = gamma / sqrt(var + eps)."""
    assert bn.running_var is not None and bn.running_mean is not None  # folded only with running statistics
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean if conv.bias is None else conv.bias - bn.running_mean
    bias = shift * scale if bn.bias is None else torch.addcmul(bn.bias, shift, scale)
    weight = (conv.weight * scale.view(-1, 1, 1, 1)).contiguous(memory_format=torch.channels_last)
    return weight, bias


def folded_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d, x: Tensor, fold: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """``bn(conv(x))`` with ``bn`` in eval mode, as one convolution (``fold``: the
    :func:`fold_conv_bn` of the two, when the caller has it)."""
    weight, bias = fold_conv_bn(conv, bn) if fold is None else fold
    return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


class CountAvgPool2d(nn.Module):
    """``nn.AvgPool2d(kernel, stride, padding, count_include_pad=False)``: on the CPU a depthwise
    convolution with weights ``1 / kernel**2``, then the border rows and columns, whose windows
    hold fewer real (unpadded) pixels, rescaled (the count of real pixels is a product of a
    row count and a column count, so two passes over the border fix every output).

    oneDNN's channels-last average pooling with these networks' few channels took 1.1-3.7x the
    CPU time of that convolution at 28x28 and 14x14, about the same at 7x7, and 1.8-3.7x with the
    backward pass (one thread, torch 2.13; ``scripts/bench_supernet.py --what pool``);
    values agree to float rounding and autograd's gradient is the pooling's. CUDA keeps the
    native kernel. No state: checkpoints are those of ``nn.AvgPool2d``.
    """

    def __init__(self, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = int(kernel), int(stride), int(padding)
        self._consts: dict[tuple, tuple] = {}

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}"

    def forward(self, x: Tensor) -> Tensor:
        if x.is_cuda:
            return F.avg_pool2d(x, self.kernel, self.stride, self.padding, count_include_pad=False)
        return self.as_conv(x)

    def as_conv(self, x: Tensor) -> Tensor:
        """The pooling as a depthwise convolution (what the CPU runs), on any device."""
        c, h, w = x.shape[1:]
        key = (c, h, w, x.dtype, x.device)
        if key not in self._consts:
            with torch.inference_mode(False):  # normal tensors: training saves them for the backward pass
                self._consts[key] = self._constants(c, h, w, x.dtype, x.device)
        weight, rows, cols, scale = self._consts[key]
        y = F.conv2d(x, weight, None, self.stride, self.padding, 1, c)
        if scale is None:
            return y
        if torch.is_grad_enabled() and x.requires_grad:  # autograd: one multiply (in-place slices backpropagate slowly)
            return y.mul_(scale)  # in place: the convolution's backward needs not y
        for i, f in rows:  # inference: only the border rows and columns, a fraction of the outputs
            y[:, :, i, :] *= f
        for j, f in cols:
            y[:, :, :, j] *= f
        return y

    def _constants(self, c: int, h: int, w: int, dtype: torch.dtype, device: torch.device) -> tuple:
        """The kernel, the (index, factor) rescaling of border rows and of columns, and their
        product as a (1, 1, H', W') map (None when no output needs one)."""
        weight = torch.full((c, 1, self.kernel, self.kernel), 1.0 / self.kernel**2, dtype=dtype, device=device)
        rows, cols = self._fixes(h), self._fixes(w)
        scale = None
        if rows or cols:
            fr, fc = torch.ones(self._size(h), dtype=torch.float64), torch.ones(self._size(w), dtype=torch.float64)
            for i, f in rows:
                fr[i] = f
            for j, f in cols:
                fc[j] = f
            scale = torch.outer(fr, fc).to(dtype=dtype, device=device)[None, None]
        return weight.contiguous(memory_format=torch.channels_last), rows, cols, scale

    def _size(self, n: int) -> int:
        return (n + 2 * self.padding - self.kernel) // self.stride + 1

    def _fixes(self, n: int) -> list[tuple[int, float]]:
        """(output index, kernel / real pixels) along one axis of ``n`` pixels, where fewer than ``kernel`` are real."""
        k, s, p = self.kernel, self.stride, self.padding
        real = [min(i * s - p + k, n) - max(i * s - p, 0) for i in range(self._size(n))]
        return [(i, k / r) for i, r in enumerate(real) if r < k]


def relu_conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1, affine: bool = True
) -> nn.Sequential:
    """ReLU - Conv (no bias) - BN, the unit of both spaces' convolutions."""
    return FoldedSequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out, affine=affine, track_running_stats=True),
    )


def image_hw(image_size: int | Sequence[int]) -> tuple[int, int]:
    """(height, width) from one side or a pair."""
    if isinstance(image_size, (int, np.integer)):
        return int(image_size), int(image_size)
    h, w = (int(v) for v in image_size)
    return h, w


@torch.no_grad()
def copy_into(child: nn.Module, supernet: nn.Module) -> None:
    """Load ``supernet``'s weights and buffers into ``child`` by name (the child's are a subset)."""
    src = supernet.state_dict()
    child.load_state_dict({k: src[k] for k in child.state_dict()})
