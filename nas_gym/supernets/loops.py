"""The loops every supernet use shares: device choice, batches on the device, a training step,
batch-norm recalibration and evaluation.

Images stay uint8 on the device and are normalised per batch, so a data set is copied to a GPU
once (CIFAR-10 as float32 would be four times larger). On CUDA the loops run in bf16 autocast
with channels-last tensors; on the CPU in float32.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DEVICES = ("auto", "cpu", "cuda")
# Images per evaluation forward: at 200 a batch's activations stay in a core's cache; 500 took
# 1.2x (tiny) to 1.4x (nb201) the CPU time for the same images (one thread, 2 MB L2).
EVAL_BATCH = 200


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU; ValueError for a device that is not there."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind = name.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; valid: {list(DEVICES)} (or cuda:N)")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} is not available on this machine (no CUDA); valid here: ['auto', 'cpu']")
    return torch.device(name)


@dataclass(frozen=True)
class DeviceData:
    """One split of an image set on the device: uint8 images, labels, and the normalisation."""

    x: torch.Tensor  # (n, C, H, W) uint8
    y: torch.Tensor  # (n,) int64
    mean: torch.Tensor  # (1, C, 1, 1) float32, in [0, 1] units
    std: torch.Tensor

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, mean: np.ndarray, std: np.ndarray, device: torch.device) -> DeviceData:
        c = x.shape[1]
        x = np.ascontiguousarray(x)
        if not x.flags.writeable:  # a memory-mapped cache file: torch wants memory it may write
            x = x.copy()
        return cls(
            torch.as_tensor(x, device=device),
            torch.as_tensor(np.array(y, dtype=np.int64), device=device),
            torch.as_tensor(np.array(mean, dtype=np.float32).reshape(1, c, 1, 1), device=device),
            torch.as_tensor(np.array(std, dtype=np.float32).reshape(1, c, 1, 1), device=device),
        )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def batch(self, idx: np.ndarray | torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float images and labels of the rows ``idx``."""
        if isinstance(idx, np.ndarray):
            idx = torch.as_tensor(idx, device=self.x.device)
        x = (self.x[idx].float().div_(255.0) - self.mean) / self.std
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.y[idx]

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A minibatch drawn uniformly (without replacement within the batch) from ``rng``."""
        n = len(self)
        return self.batch(rng.choice(n, size=min(batch_size, n), replace=False))

    def epoch(self, rng: np.random.Generator, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass in a random order; the last partial batch is dropped (BN dislikes tiny batches)."""
        order = rng.permutation(len(self))
        for k in range(len(self) // batch_size):
            yield self.batch(order[k * batch_size : (k + 1) * batch_size])

    def in_order(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self), batch_size):
            yield self.batch(slice(start, start + batch_size))


def autocast(device: torch.device):
    """bf16 autocast on CUDA (halves activation memory and uses tensor cores), nothing on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def train_step(
    net: nn.Module,
    path: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    opt: torch.optim.Optimizer,
    grad_clip: float | None = 5.0,
) -> float:
    """One SGD step of ``net`` on ``path`` (``path=None`` for a plain child module); the loss.

    Gradients are set to None first, so parameters the path does not use keep ``grad is None``
    and the optimiser skips them: their momentum and weight decay stay untouched.
    """
    net.train()
    opt.zero_grad(set_to_none=True)
    with autocast(x.device):
        logits = net(x) if path is None else net(x, path)
        loss = F.cross_entropy(logits.float(), y)
    loss.backward()
    if grad_clip:
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        nn.utils.clip_grad_norm_(params, grad_clip)
    opt.step()
    return float(loss.detach())


@torch.inference_mode()
def evaluate(
    net: nn.Module,
    path: Any,
    data: DeviceData | Sequence[tuple[torch.Tensor, torch.Tensor]],
    batch_size: int = EVAL_BATCH,
) -> tuple[float, float]:
    """(accuracy %, mean cross-entropy) of ``net`` on ``path`` over all of ``data`` (or over the
    given ``(input, label)`` batches), in eval mode."""
    net.eval()
    batches = data.in_order(batch_size) if isinstance(data, DeviceData) else data
    correct, loss_sum, n = 0, 0.0, 0
    for x, y in batches:
        with autocast(x.device):
            logits = net(x) if path is None else net(x, path)
        logits = logits.float()
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
    n = max(n, 1)
    return 100.0 * correct / n, loss_sum / n


def batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def _bn_buffers(net: nn.Module) -> list[torch.Tensor]:
    """Every batch-norm statistic of ``net`` (tracked running statistics: none of them is None)."""
    bufs = [b for m in batch_norms(net) for b in (m.running_mean, m.running_var, m.num_batches_tracked)]
    return [b for b in bufs if b is not None]


@contextmanager
def fresh_statistics(net: nn.Module) -> Iterator[None]:
    """``net`` in train mode with every batch norm's running statistics reset and accumulated as a
    cumulative average over the forwards of the block (momentum None); momenta are put back after."""
    bns = batch_norms(net)
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    net.train()
    try:
        yield
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom


@torch.inference_mode()
def recalibrate(net: nn.Module, path: Any, batches: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Re-estimate the batch-norm running statistics for ``path`` from ``batches``.

    Statistics shared across every path of a supernet describe none of them; a child's own,
    averaged over a few training batches, make its accuracy meaningful. Only the BNs the path
    runs change; the caller saves and restores the buffers (:func:`bn_state`) when the network
    must not change.
    """
    with fresh_statistics(net):
        for x, _ in batches:
            with autocast(x.device):
                net(x) if path is None else net(x, path)


def bn_state(net: nn.Module) -> list[torch.Tensor]:
    """Copies of every batch-norm buffer, to put back with :func:`restore_bn_state`."""
    return [b.clone() for b in _bn_buffers(net)]


@torch.no_grad()
def restore_bn_state(net: nn.Module, state: list[torch.Tensor]) -> None:
    for b, saved in zip(_bn_buffers(net), state):
        b.copy_(saved)
