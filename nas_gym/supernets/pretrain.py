"""Supernet pretraining: the recipe, and a resumable, locked, checkpointed training loop.

Two recipes of the thesis: ``sampling="uniform"`` trains one uniformly sampled child per
minibatch (CADAM, section 4.1.3, after Li & Talwalkar: a random alpha discretised by the
space's rule, so only architectures of the search space are trained); ``sampling="all"`` trains
every op at once with all alphas equal (DDAS's warm-up, section 3.1.2). SGD with momentum and a
cosine learning rate from ``lr`` to ``lr_min`` as in both chapters.

Each epoch draws its batch order and paths from a generator seeded by ``(seed, epoch)`` and
ends with a checkpoint, so a killed run resumes at its last epoch and ends with the weights an
uninterrupted run would have had. A file lock keeps two processes from training the same key.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from .checkpoint import read_checkpoint, write_checkpoint
from .loops import DeviceData, train_step

SAMPLINGS = ("uniform", "all")


@dataclass(frozen=True)
class Recipe:
    """How a supernet is pretrained (the thesis's settings; epochs scaled to the machine)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    sampling: str = "uniform"

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown sampling {self.sampling!r}; valid: {list(SAMPLINGS)}")
        if int(self.epochs) < 0 or int(self.batch_size) < 1:
            raise ValueError(f"epochs must be >= 0 and batch_size >= 1, got {self.epochs}, {self.batch_size}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lr_at(self, step: int, total: int) -> float:
        """Cosine annealing without restarts, ``lr`` at step 0 to ``lr_min`` at ``total``."""
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * step / max(total, 1)))


def make_optimizer(net: nn.Module, recipe: Recipe, lr: float | None = None) -> torch.optim.SGD:
    return torch.optim.SGD(
        net.parameters(), lr=recipe.lr if lr is None else lr, momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
    )


def pretrain(
    net: nn.Module,
    data: DeviceData,
    recipe: Recipe,
    spec: dict[str, Any],
    path: Path,
    sample_path: Callable[[np.random.Generator], Any],
    seed: int = 0,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Train ``net`` by ``recipe`` on ``data`` unless ``path`` already holds it; the checkpoint.

    ``sample_path(rng)`` gives the path of one minibatch. Returns the finished checkpoint
    (``epoch == recipe.epochs``) with ``net`` holding its weights; ``ckpt["trained_steps"]`` is
    the number of steps this call ran (0 when the checkpoint was cached).
    """
    from tqdm.auto import tqdm

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        ckpt = read_checkpoint(path, spec)
        start = 0
        if ckpt is not None:
            net.load_state_dict(ckpt["model"])
            start = int(ckpt["epoch"])
            if start >= recipe.epochs:  # finished: no optimiser (its first use imports torch._dynamo, ~1-3 s)
                return {**ckpt, "trained_steps": 0}
        opt = make_optimizer(net, recipe)
        if ckpt is not None:
            opt.load_state_dict(ckpt["optimizer"])
        else:
            ckpt = {"spec": spec, "epoch": 0, "seconds": [], "loss": []}
        steps_per_epoch = len(data) // recipe.batch_size
        total = steps_per_epoch * recipe.epochs
        ran = 0
        bar = tqdm(
            total=total, initial=start * steps_per_epoch, desc=f"pretrain {spec.get('space', '')}",
            unit="step", disable=None if progress is None else not progress,
        )  # disable=None: a bar on a terminal only, never carriage returns in a log
        for epoch in range(start, recipe.epochs):
            rng = np.random.default_rng([seed, epoch])
            t0, losses = time.perf_counter(), []
            for k, (x, y) in enumerate(data.epoch(rng, recipe.batch_size)):
                for g in opt.param_groups:
                    g["lr"] = recipe.lr_at(epoch * steps_per_epoch + k, total)
                losses.append(train_step(net, sample_path(rng), x, y, opt, recipe.grad_clip))
                ran += 1
                bar.update(1)
                if k % 20 == 0:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses[-20:]):.3f}")
            ckpt = {
                "spec": spec, "epoch": epoch + 1, "model": net.state_dict(), "optimizer": opt.state_dict(),
                "seconds": [*ckpt["seconds"], time.perf_counter() - t0],
                "loss": [*ckpt["loss"], float(np.mean(losses)) if losses else float("nan")],
            }
            write_checkpoint(path, ckpt)
        bar.close()
        if "model" not in ckpt:  # zero epochs: the initial weights are the checkpoint
            ckpt = {**ckpt, "model": net.state_dict(), "optimizer": opt.state_dict()}
            write_checkpoint(path, ckpt)
    return {**ckpt, "trained_steps": ran}
