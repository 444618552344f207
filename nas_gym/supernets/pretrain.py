"""Supernet pretraining: the recipe, and a resumable, locked, checkpointed training loop.

Two recipes of the thesis: ``sampling="uniform"`` trains one uniformly sampled child per
minibatch (CADAM, section 4.1.3, after Li & Talwalkar: a random alpha discretised by the
space's rule, so only architectures of the search space are trained); ``sampling="all"`` trains
every op at once with all alphas equal (DDAS's warm-up, section 3.1.2). SGD with momentum and a
cosine learning rate from ``lr`` to ``lr_min`` as in both chapters.

Each epoch draws its batch order and paths from a generator seeded by ``(seed, epoch)`` and
ends with a checkpoint, so a killed run resumes at its last epoch and ends with the weights an
uninterrupted run would have had. A finished checkpoint is read without a lock (writes are
atomic renames), so a read-only cache serves its checkpoints; a file lock keeps two processes
from training the same key. Where the cache folder cannot be written, the network trains in
memory with a warning, as the table cache does.

A run that cannot train (a batch larger than the data: zero steps per epoch) is refused before
it starts; one that diverges (a non-finite loss or weight) stops with ValueError, and nothing of
that epoch is cached.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from ..envs.checks import finite_number, whole_number
from ..progress import Progress
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
    grad_clip: float | None = 5.0
    sampling: str = "uniform"

    def __post_init__(self) -> None:
        if not isinstance(self.sampling, str) or self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown recipe sampling {self.sampling!r}; valid: {list(SAMPLINGS)}")
        checked = {
            "epochs": whole_number(
                "recipe epochs", self.epochs, minimum=0, meaning="passes over the weight-training half"
            ),
            "batch_size": whole_number("recipe batch_size", self.batch_size),
            "lr": finite_number("recipe lr", self.lr, above=0.0),
            "lr_min": finite_number("recipe lr_min", self.lr_min, minimum=0.0),
            "momentum": finite_number("recipe momentum", self.momentum, minimum=0.0, below=1.0),
            "weight_decay": finite_number("recipe weight_decay", self.weight_decay, minimum=0.0),
        }
        if self.grad_clip is not None:  # None or 0: no clipping
            checked["grad_clip"] = finite_number(
                "recipe grad_clip (0 or None: no clipping)", self.grad_clip, minimum=0.0
            )
        for name, value in checked.items():  # plain ints and floats: the checkpoint key hashes them
            object.__setattr__(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lr_at(self, step: int, total: int) -> float:
        """Cosine annealing without restarts, ``lr`` at step 0 to ``lr_min`` at ``total``."""
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * step / max(total, 1)))


def make_optimizer(net: nn.Module, recipe: Recipe, lr: float | None = None) -> torch.optim.SGD:
    return torch.optim.SGD(
        net.parameters(),
        lr=recipe.lr if lr is None else lr,
        momentum=recipe.momentum,
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
    seen = _identity(path)
    ckpt = read_checkpoint(path, spec)
    if ckpt is not None and int(ckpt["epoch"]) >= recipe.epochs:  # finished: no lock, nothing written
        _load_weights(net, ckpt, path)
        return {**ckpt, "trained_steps": 0}
    if recipe.epochs and len(data) < recipe.batch_size:
        raise ValueError(
            f"recipe batch_size {recipe.batch_size} exceeds the {len(data)} weight-training images: pretraining "
            f"would run no step; valid: batch_size <= {len(data)} (or more images: n_train)"
        )
    lock = _lock(path)
    try:
        if lock is not None and _identity(path) != seen:  # another process wrote it while this one waited
            ckpt = read_checkpoint(path, spec)
        opt = make_optimizer(net, recipe)
        if ckpt is not None:
            _load_weights(net, ckpt, path)
            if ckpt["epoch"] < recipe.epochs:
                opt.load_state_dict(ckpt["optimizer"])
        else:
            ckpt = {"spec": spec, "epoch": 0, "seconds": [], "loss": []}
        save = _Saver(path, writable=lock is not None)
        ckpt, ran = _train(net, data, recipe, ckpt, opt, save, sample_path, seed, progress)
        if "model" not in ckpt:  # zero epochs: the initial weights are the checkpoint
            ckpt = {**ckpt, "model": net.state_dict(), "optimizer": opt.state_dict()}
            save(ckpt)
    finally:
        if lock is not None:
            lock.release()
    return {**ckpt, "trained_steps": ran}


def _train(
    net: nn.Module,
    data: DeviceData,
    recipe: Recipe,
    ckpt: dict[str, Any],
    opt: torch.optim.Optimizer,
    save: _Saver,
    sample_path: Callable[[np.random.Generator], Any],
    seed: int,
    progress: bool | None,
) -> tuple[dict[str, Any], int]:
    """The epochs from ``ckpt["epoch"]`` to ``recipe.epochs``, each saved; the last checkpoint and the steps run."""
    start, spec = int(ckpt["epoch"]), ckpt["spec"]
    steps_per_epoch = len(data) // recipe.batch_size
    total = steps_per_epoch * recipe.epochs
    ran = 0
    what = " ".join(str(spec[k]) for k in ("space", "size", "dataset") if k in spec)
    report = Progress(
        total,
        f"pretrain {what}",
        "step",
        initial=start * steps_per_epoch,
        enabled=start < recipe.epochs and progress is not False,
    )
    with report:
        for epoch in range(start, recipe.epochs):
            rng = np.random.default_rng([seed, epoch])
            t0, losses = time.perf_counter(), []
            for k, (x, y) in enumerate(data.epoch(rng, recipe.batch_size)):
                for g in opt.param_groups:
                    g["lr"] = recipe.lr_at(epoch * steps_per_epoch + k, total)
                losses.append(train_step(net, sample_path(rng), x, y, opt, recipe.grad_clip))
                ran += 1
                if not math.isfinite(losses[-1]):
                    _diverged(f"the loss of step {k + 1} of epoch {epoch + 1} is {losses[-1]}", recipe, save.path)
                report.update(1, epoch=f"{epoch + 1}/{recipe.epochs}", loss=float(np.mean(losses[-20:])))
            bad = [name for name, p in net.named_parameters() if not bool(torch.isfinite(p).all())]
            if bad:
                _diverged(f"epoch {epoch + 1} left non-finite weights in {bad[:3]}", recipe, save.path)
            ckpt = {
                "spec": spec,
                "epoch": epoch + 1,
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "seconds": [*ckpt["seconds"], time.perf_counter() - t0],
                "loss": [*ckpt["loss"], float(np.mean(losses))],
            }
            save(ckpt)
    return ckpt, ran


class _Saver:
    """Writes checkpoints to ``path`` while it can; after a failed write (a full disk) it warns
    once and the training goes on in memory."""

    def __init__(self, path: Path, writable: bool) -> None:
        self.path, self.writable = path, writable

    def __call__(self, ckpt: dict[str, Any]) -> None:
        if not self.writable:
            return
        try:
            write_checkpoint(self.path, ckpt)
        except OSError as e:
            self.writable = False
            warnings.warn(
                f"cannot write supernet checkpoint {str(self.path)!r} ({e}): training on in memory", stacklevel=2
            )


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of a file from another (a rename puts a new inode in place)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _load_weights(net: nn.Module, ckpt: dict[str, Any], path: Path) -> None:
    """Load the checkpoint's weights into ``net``; ValueError naming the file when they do not fit."""
    try:
        net.load_state_dict(ckpt["model"])
    except RuntimeError as e:  # tensors of another size (or names): a file of another network
        raise ValueError(
            f"supernet checkpoint {str(path)!r} does not fit this network ({str(e).splitlines()[0]} ...); "
            "delete it to train again"
        ) from None


def _lock(path: Path) -> FileLock | None:
    """The held training lock of ``path``, or None (with a warning) when its folder cannot be written."""
    lock = FileLock(str(path) + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as e:
        warnings.warn(
            f"supernet cache folder {str(path.parent)!r} cannot be written ({e}): training in memory; "
            "the checkpoint is not saved",
            stacklevel=3,
        )
        return None
    return lock


def _diverged(what: str, recipe: Recipe, path: Path) -> None:
    raise ValueError(
        f"supernet pretraining diverged: {what} (recipe lr={recipe.lr:g}, batch_size={recipe.batch_size}); "
        f"nothing of this epoch was cached in {str(path)!r}: lower the learning rate"
    )
