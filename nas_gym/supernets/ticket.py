"""Lottery-ticket retraining of a derived child: train, prune the smallest weights, rewind, repeat.

LNAS's variant 1 (and the second half of its generalised Algorithm 3) retrains the cell a search
derived as a plain network with fresh weights theta_0 and prunes its weights by magnitude, as
Frankle & Carbin find winning tickets: ``epochs`` are split into ``rounds + 1`` segments; after
each of the first ``rounds`` the smallest-|w| surviving weights are pruned (global unstructured
L1 over every convolution and linear weight, :mod:`torch.nn.utils.prune`; batch norm and biases
are never pruned) and every parameter and batch-norm statistic is rewound to theta_0; the last
segment trains the ticket. Each segment is a fresh training run (new optimiser, its own cosine
schedule), as a lottery-ticket round is.

Round ``k`` keeps ``(1 - sparsity) ** (k / rounds)`` of the prunable weights, so ``rounds``
rounds reach ``sparsity`` whatever their number (the paper's "prune p^(1/n)" per round, read as
the lottery-ticket paper's rate; see docs/agents.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from .backend import train_epochs
from .loops import DeviceData, bn_state, evaluate, restore_bn_state
from .pretrain import Recipe


@dataclass
class Ticket:
    """What a lottery-ticket retraining measured: validation accuracy (%) after every epoch."""

    val: list[float]  # after each epoch, in order
    sparsity: float  # fraction of the prunable weights that are zero at the end
    prunable: int  # convolution and linear weights
    rounds: int
    prune_epochs: list[int] = field(default_factory=list)  # epochs (1-based) after which a round pruned
    train_images: int = 0  # images trained on, for the simulated clock
    eval_images: int = 0  # images the per-epoch validation passes ran

    @property
    def final_val(self) -> float:
        return self.val[-1]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "final_val": self.final_val}


def kept_fraction(sparsity: float, rounds: int, k: int) -> float:
    """The fraction of the prunable set left after round ``k`` of ``rounds`` (geometric: each
    round keeps the same share of the survivors, and round ``rounds`` leaves ``1 - sparsity``)."""
    check_sparsity(sparsity)
    return (1.0 - sparsity) ** (k / rounds) if rounds else 1.0


def check_sparsity(sparsity: float) -> None:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be a number in [0, 1) (the fraction pruned), got {sparsity!r}")


def prunable(net: nn.Module) -> list[tuple[nn.Module, str]]:
    """The ``(module, "weight")`` pairs pruning may touch: every convolution and linear layer."""
    return [(m, "weight") for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def weight_of(module: nn.Module, name: str) -> torch.Tensor:
    """The weight the next forward pass will use: ``<name>_orig * <name>_mask`` once pruned
    (the ``<name>`` attribute is only refreshed by a forward pass, so it lags a rewind)."""
    if prune.is_pruned(module) and hasattr(module, f"{name}_mask"):
        return (getattr(module, f"{name}_orig") * getattr(module, f"{name}_mask")).detach()
    return getattr(module, name).detach()


def zero_fraction(pairs: list[tuple[nn.Module, str]]) -> float:
    """Fraction of the weights of ``pairs`` that are zero (as the forward pass uses them)."""
    weights = [weight_of(m, n) for m, n in pairs]
    return sum(int((w == 0).sum()) for w in weights) / max(sum(w.numel() for w in weights), 1)


def prune_to(pairs: list[tuple[nn.Module, str]], keep: int) -> None:
    """Prune the smallest-|w| surviving weights of ``pairs`` (one global ranking) until ``keep`` survive.

    The masks live where :mod:`torch.nn.utils.prune` keeps them (``<name>_mask``, applied by a
    forward pre-hook to ``<name>_orig``), so pruned entries stay zero however the optimiser moves
    the weights. The ranking is ours rather than ``prune.global_unstructured``, which flattens
    with ``view`` and so refuses the networks' channels-last weights.
    """
    masks = [getattr(m, f"{n}_mask") if prune.is_pruned(m) else torch.ones_like(weight_of(m, n)) for m, n in pairs]
    scores = torch.cat(
        [
            torch.where(mask.bool(), weight_of(m, n).abs(), torch.full_like(mask, float("inf"))).reshape(-1)
            for (m, n), mask in zip(pairs, masks)
        ]
    )
    alive = sum(int(mask.sum()) for mask in masks)
    if keep >= alive:
        return
    flat = torch.cat([mask.reshape(-1) for mask in masks])
    flat[torch.topk(scores, alive - int(keep), largest=False).indices] = 0.0
    start = 0
    for (m, n), mask in zip(pairs, masks):
        new = flat[start : start + mask.numel()].view(mask.shape)  # reshape(-1) read the logical order
        start += mask.numel()
        if prune.is_pruned(m):
            mask.copy_(new)
        else:
            prune.custom_from_mask(m, n, new.contiguous(memory_format=_layout(mask)))


def _layout(t: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last
        if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)
        else torch.contiguous_format
    )


def rewind(params: list[nn.Parameter], init: list[torch.Tensor]) -> None:
    """Put the parameters back to their initial values (pruned entries stay masked)."""
    with torch.no_grad():
        for p, p0 in zip(params, init):
            p.copy_(p0)


def train_ticket(
    child: nn.Module,
    train: DeviceData,
    val: DeviceData,
    recipe: Recipe,
    epochs: int,
    sparsity: float,
    rounds: int,
    seed: int = 0,
) -> Ticket:
    """Retrain ``child`` (fresh weights) for ``epochs`` epochs with ``rounds`` rounds of magnitude
    pruning and rewinding to ``sparsity``; ``child`` ends as the trained ticket (pruned in place).

    ``rounds=0`` is plain training. Validation accuracy is measured on ``val`` after every epoch.
    """
    check_sparsity(sparsity)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ValueError(f"rounds must be an int >= 0 (0: no pruning), got {rounds!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < rounds + 1:
        raise ValueError(f"epochs must be an int >= rounds + 1 = {rounds + 1} (one epoch per segment), got {epochs!r}")
    pairs = prunable(child)
    total = sum(weight_of(m, n).numel() for m, n in pairs)
    params = list(child.parameters())  # the same objects survive pruning (renamed <name>_orig)
    init, init_bn = [p.detach().clone() for p in params], bn_state(child)
    ends = [epochs * (k + 1) // (rounds + 1) for k in range(rounds + 1)]  # segment k ends after epoch ends[k]
    ticket = Ticket(val=[], sparsity=0.0, prunable=total, rounds=rounds)

    def measure(epoch: int) -> None:
        ticket.val.append(evaluate(child, None, val)[0])
        ticket.eval_images += len(val)

    start = 0
    for k, end in enumerate(ends):
        if k:  # round k: prune the survivors of the last segment's weights, rewind to theta_0
            prune_to(pairs, round(total * kept_fraction(sparsity, rounds, k)))
            rewind(params, init)
            restore_bn_state(child, init_bn)
            ticket.prune_epochs.append(start)
        ticket.train_images += train_epochs(child, train, recipe, end - start, seed, start, measure)
        start = end
    ticket.sparsity = zero_fraction(pairs)
    return ticket
