"""What every one-shot agent shares: the alternating weight / architecture loop on an env's
supernet, and the small pieces several of them use (Gumbel noise, masked softmax, sampling).

A one-shot agent subclasses :class:`OneShotAgent` and fills in five hooks: ``setup`` (its
architecture parameters), ``weight_path`` (the path the shared weights train on),
``arch_step`` (one architecture update on a validation minibatch; it returns the child it
sampled, if any), ``propose`` (the architecture it submits through the env after each round,
given that child) and ``recommend`` (its argmax architecture, or None). What one hook needs from
another passes through the loop as an argument, not through the agent. The loop trains
``backend.network`` in place with SGD (DARTS's
defaults) and queries one architecture per round through ``env.step`` so the search log, the
budget and the scores see it. Hooks run the network only through the :class:`Supernet` view,
whose forward charges its multiply-accumulates to the simulated clock, and whose backward
charges itself when it runs (paid by the next query): no agent charges by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...supernets.backend import TRAIN_PASSES, SupernetBackend, SupernetNet, simulated_seconds
from ...supernets.loops import autocast
from ...supernets.paths import Path
from ..base import Budget, SearchResult, new_search
from ..common import masked_logits, seed_all, step_cont, torch_threads

Batch = tuple[Tensor, Tensor]  # images and labels


@dataclass
class Supernet:
    """The white-box view an agent's hooks get: network, space, search mask, device, and the
    only way they run the network: :meth:`logits` (and :meth:`loss`, :meth:`reward` on it),
    which charge every forward and backward pass to the simulated clock as it happens."""

    backend: SupernetBackend
    mask: Tensor  # (E, O) bool: the options the search chooses among (``none`` off by default)
    batch_size: int

    @property
    def net(self) -> SupernetNet:
        return self.backend.network

    @property
    def space(self) -> Any:
        return self.backend.space

    @property
    def device(self) -> torch.device:
        return self.backend.device

    def logits(self, path: Path, x: Tensor) -> Tensor:
        """The network's outputs on ``path`` in train mode (batch statistics), with graph where
        grad is enabled. Charges the forward now and, through a hook on the outputs, each
        backward pass through them when it runs (``TRAIN_PASSES - 1`` forwards' worth)."""
        self.net.train()
        with autocast(x.device):
            out = self.net(x, path)
        forward_s = simulated_seconds(float(self.net.flops(path)), len(x), backward=False)
        self.backend.charge(forward_s)
        if out.requires_grad:
            out.register_hook(lambda _: self.backend.charge((TRAIN_PASSES - 1) * forward_s))
        return out.to(torch.promote_types(out.dtype, torch.float32))

    def loss(self, path: Path, x: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy of ``path`` on a batch (see :meth:`logits`)."""
        return F.cross_entropy(self.logits(path, x), y)

    def reward(self, path: Path, x: Tensor, y: Tensor) -> float:
        """ENAS's reward of a child: its accuracy (a fraction) on the batch, without a graph."""
        with torch.no_grad():
            return float((self.logits(path, x).argmax(1) == y).float().mean())


def search_mask(backend: SupernetBackend, include_none: bool) -> Tensor:
    """The options a search chooses among: the space's, without ``none`` unless asked for.

    AdvantageNAS (section 5.2, footnote 5) and DARTS's search leave the zero op out, and a
    sampled ``none`` cuts an edge's gradient; NB201's DARTS/GDAS baselines keep it (``include_none``).
    """
    mask = torch.as_tensor(np.asarray(backend.space.option_mask, dtype=bool)).clone()
    if not include_none:
        mask[:, 0] = False
    return mask


def masked_softmax(logits: Tensor, mask: Tensor, tau: float = 1.0) -> Tensor:
    """Softmax over the allowed options of each row (masked ones exactly 0)."""
    return torch.softmax(masked_logits(logits / tau, mask), dim=-1)


def gumbel(like: Tensor, rng: np.random.Generator) -> Tensor:
    """Standard Gumbel noise of ``like``'s shape, dtype and device, drawn from the agent's numpy
    RNG (so a seed fixes the search)."""
    u = rng.random(tuple(like.shape)).clip(1e-10, 1.0 - 1e-10)
    return torch.as_tensor(-np.log(-np.log(u)), dtype=like.dtype, device=like.device)


def gumbel_softmax(logits: Tensor, mask: Tensor, tau: float, rng: np.random.Generator) -> Tensor:
    """A relaxed sample ``softmax((logits + g) / tau)`` per row over the allowed options."""
    return masked_softmax(logits + gumbel(logits, rng), mask, tau)


def straight_through(soft: Tensor) -> tuple[Tensor, np.ndarray]:
    """GDAS's hard sample of relaxed ``soft`` rows: the one-hot of each row's argmax in the
    forward pass, ``soft``'s gradient in the backward (``hard - soft.detach() + soft``); and its codes."""
    codes = soft.detach().argmax(1).cpu().numpy().astype(np.int64)
    hard = one_hot(codes, tuple(soft.shape), soft.device)
    return hard - soft.detach() + soft, codes


def one_hot(codes: np.ndarray, shape: tuple[int, ...], device: torch.device | str = "cpu") -> Tensor:
    out = torch.zeros(shape, device=device)
    out[torch.arange(shape[0]), torch.as_tensor(codes)] = 1.0
    return out


def arch_parameters(
    sn: Supernet, lr: float, betas: tuple[float, float], weight_decay: float = 0.0, init_scale: float = 0.0
) -> tuple[Tensor, torch.optim.Adam]:
    """Architecture logits ``(E, O)`` and their Adam: zeros (a uniform distribution) or, with
    ``init_scale``, DARTS's small Gaussian start."""
    if init_scale:
        logits = (init_scale * torch.randn(sn.mask.shape)).to(sn.device).requires_grad_()
    else:
        logits = torch.zeros(sn.mask.shape, device=sn.device, requires_grad=True)
    return logits, torch.optim.Adam([logits], lr=lr, betas=betas, weight_decay=weight_decay)


def discretise(sn: Supernet, weights: Tensor) -> np.ndarray:
    """The space's discretisation of architecture weights ``(E, O)``: argmax per edge on NB201,
    DARTS's top-2 incoming edges per node on DARTS; masked options never win."""
    w = torch.where(sn.mask.to(weights.device), weights.detach().float(), torch.zeros_like(weights))
    return np.asarray(sn.space.discretise(w.cpu().numpy()), dtype=np.int64)


def valid(sn: Supernet, codes: np.ndarray, weights: Tensor) -> np.ndarray:
    """``codes`` made a valid architecture of the space to query it (a sample with an op on
    every DARTS edge keeps, per node, the two sampled ops of largest weight); valid ones as they are."""
    if sn.space.is_valid(sn.space.index(codes)):
        return codes
    w = weights.detach().float().cpu() * 1e-3 + one_hot(codes, tuple(weights.shape))
    return discretise(sn, w)


def supernet_of(env: gym.Env) -> SupernetBackend:
    """The env's supernet backend; ValueError for a table-backed env."""
    backend = getattr(env.unwrapped, "backend", None)
    if not isinstance(backend, SupernetBackend):
        raise ValueError(
            f"one-shot agents drive a supernet; this env's backend is {type(backend).__name__}: "
            "make it with gym.make('NasGym/NB201Supernet-Cont-v0') or 'NasGym/DARTSSupernet-Cont-v0'"
        )
    return backend


@contextmanager
def deterministic_algorithms(on: bool) -> Iterator[None]:
    """Run the block with torch's deterministic kernels when ``on`` (same seed, same search on a GPU)."""
    if not on:
        yield
        return
    old = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old)


@dataclass
class OneShotAgent:
    """The alternating loop: ``steps_per_query`` rounds of (weight step, architecture step), then
    one query of ``propose()`` through the env, until the budget (queries, seconds or epochs) ends.

    Weights: SGD with momentum 0.9, weight decay 3e-4, learning rate cosine-annealed from 0.025
    to 0.001 over the planned steps, gradient norm clipped at 5 (DARTS's search settings, also
    GDAS's and SNAS's). Schedules read the progress ``t``: 0 at the first planned step, 1 at the
    last. ``warmup``: the fraction of the planned steps that train weights only (AdvantageNAS
    fixes theta for the first half). ``include_none``: search the zero op too.
    """

    name: ClassVar[str] = "oneshot"
    families: ClassVar[tuple[str, ...]] = ("Cont",)
    reports: ClassVar[str] = "argmax"  # which architecture the agent's paper reports
    trains_weights: ClassVar[bool] = True  # it spends budgets in epochs (see check_budget_units)
    arch_on_val: ClassVar[bool] = True  # False: the architecture learns from the training loss (SNAS)
    arch_first: ClassVar[bool] = False  # True: the architecture step precedes the weight step (DARTS's code)

    steps_per_query: int | None = None  # None: one epoch of the weight-training half per query
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    warmup: float = 0.0
    include_none: bool = False
    deterministic: bool = False
    threads: int | None = 1

    # ------------------------------------------------------------------ hooks
    def setup(self, sn: Supernet) -> None:
        """Create the architecture parameters and their optimiser for a new search."""

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        """The path the shared weights train on at progress ``t`` in [0, 1]."""
        raise NotImplementedError

    def arch_step(
        self,
        sn: Supernet,
        x: Tensor,
        y: Tensor,
        rng: np.random.Generator,
        t: float,
        train: Batch | None = None,
        w_opt: torch.optim.SGD | None = None,
    ) -> np.ndarray | None:
        """One architecture update on the validation batch ``(x, y)``; the child it sampled to
        query (None: none). ``train`` and ``w_opt`` are the round's training batch and the
        weights' optimiser (DARTS's unrolled step uses them)."""

    def train_step(
        self, sn: Supernet, opt: torch.optim.Optimizer, x: Tensor, y: Tensor, rng: np.random.Generator, t: float
    ) -> None:
        """One weight step on ``weight_path`` (agents that update both from one loss override it)."""
        path = self.weight_path(sn, rng, t)
        opt.zero_grad(set_to_none=True)
        sn.loss(path, x, y).backward()
        clip_and_step(opt, self.grad_clip)

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        """The architecture to query through the env after a round, given the child the last
        architecture step sampled (``sampled``, None before the first); default: the recommendation."""
        rec = self.recommend(sn)
        if rec is None:
            raise NotImplementedError(f"{self.name} must define propose()")
        return rec

    def recommend(self, sn: Supernet) -> np.ndarray | None:
        """The argmax architecture of the agent's distribution (None: it recommends nothing)."""
        return None

    # ------------------------------------------------------------------- loop
    def weight_lr(self, t: float) -> float:
        """The weights' learning rate at progress ``t``: cosine from ``w_lr`` to ``w_lr_min``, as DARTS's search."""
        return self.w_lr_min + 0.5 * (self.w_lr - self.w_lr_min) * (1 + math.cos(math.pi * t))

    def round(
        self, sn: Supernet, opt: torch.optim.SGD, train: Batch, val: Batch | None, rng: np.random.Generator, t: float
    ) -> np.ndarray | None:
        """One round: a weight step on ``train`` and, given ``val``, an architecture step on it,
        in the order of the agent's paper (``arch_first``); the child the architecture step sampled."""
        sampled = None
        if val is not None and self.arch_first:
            sampled = self.arch_step(sn, *val, rng, t, train=train, w_opt=opt)
        self.train_step(sn, opt, *train, rng, t)
        if val is not None and not self.arch_first:
            sampled = self.arch_step(sn, *val, rng, t, train=train, w_opt=opt)
        return sampled

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        """Train ``env``'s supernet and the agent's architecture parameters until ``budget`` is spent."""
        log = new_search(self, env)
        backend = supernet_of(env)
        base: Any = env.unwrapped
        env.reset(seed=seed)
        rng = seed_all(seed)
        with torch_threads(self.threads), deterministic_algorithms(self.deterministic):
            sn = Supernet(backend, search_mask(backend, self.include_none), backend.recipe.batch_size)
            per_epoch = max(len(backend.train_data) // sn.batch_size, 1)
            per_query = int(self.steps_per_query or per_epoch)
            total = planned_steps(budget, env, per_query, per_epoch)
            opt = torch.optim.SGD(
                sn.net.parameters(), lr=self.w_lr, momentum=self.w_momentum, weight_decay=self.w_weight_decay
            )
            self.setup(sn)
            train_it, val_it = backend.train_batches_iter(rng), backend.val_batches_iter(rng)
            steps, sampled = 0, None
            epochs = lambda: steps / per_epoch  # noqa: E731
            while not budget.done(log, epochs()):
                for _ in range(per_query):
                    t = min(steps / max(total - 1, 1), 1.0)
                    for g in opt.param_groups:
                        g["lr"] = self.weight_lr(t)
                    train = next(train_it)
                    val = next(val_it) if self.arch_on_val and t >= self.warmup else None
                    out = self.round(sn, opt, train, val, rng, t)
                    sampled = sampled if out is None else out
                    steps += 1
                    if budget.epochs is not None and epochs() >= budget.epochs:
                        break
                backend.weights_changed()  # the weights moved: cached measurements are stale
                step_cont(env, base.encode(self.propose(sn, rng, sampled)))
            rec = self.recommend(sn)
        space = backend.space
        return SearchResult.from_log(
            self.name,
            seed,
            log,
            budget,
            recommended_index=None if rec is None else space.index(rec),
            reports=self.reports,
            epochs=epochs(),
            recommended_arch=None if rec is None else space.to_string(space.index(rec)),
        )


def clip_and_step(opt: torch.optim.Optimizer, grad_clip: float | None) -> None:
    """Clip the gradient norm of the parameters that got one, then step."""
    if grad_clip:
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        nn.utils.clip_grad_norm_(params, grad_clip)
    opt.step()


def planned_steps(budget: Budget, env: gym.Env, per_query: int, per_epoch: int) -> int:
    """Weight steps a schedule is laid out over: the budget's epochs, else its queries, else the env's episode."""
    if budget.epochs is not None:
        return max(int(budget.epochs * per_epoch), 1)
    queries = budget.queries if budget.queries is not None else int(getattr(env.unwrapped, "budget", 100))
    return max(queries * per_query, 1)
