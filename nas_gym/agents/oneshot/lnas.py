"""LNAS (lottery-ticket NAS): DARTS with magnitude pruning of the architecture parameters, of the
derived child's weights, or both (the report's variants 1, 2 and Algorithm 3, ``variant=1|2|3``).

- Variant 2 (the default): at ``n_prunes`` evenly spaced points of the search the smallest-|alpha|
  searched ops are masked out of the mixed op, the kept share shrinking geometrically to
  ``1 - sparsity``. A pruned op is removed from the path itself (not just given weight 0), so it
  never runs, costs nothing and its weights get no gradient again. Each edge keeps at least its
  largest-|alpha| op so the derived cell stays valid.
- Variant 1: plain DARTS, then the derived cell is retrained alone for ``retrain_epochs`` with
  ``weight_rounds`` rounds of lottery-ticket weight pruning to ``sparsity``
  (:mod:`nas_gym.supernets.ticket`: prune the smallest weights, rewind the survivors to their
  initial values, train again).
- Variant 3 (generalised LNAS): variant 2's search, then variant 1's retraining.

Where there is a retraining (variants 1 and 3, or ``retrain_epochs > 0``), its simulated seconds
are charged to the clock and the derived cell is queried once more through the env after it (a
budget in queries keeps one query for this, a budget in seconds what retraining the current cell
would cost); ``SearchResult.meta["ticket"]`` holds the
retrained child's validation accuracy after every epoch and its weight sparsity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from ...envs.search_log import QueryLog
from ...supernets.backend import SupernetBackend, fresh_child, simulated_seconds
from ...supernets.paths import Path
from ...supernets.ticket import check_sparsity, kept_fraction, train_ticket
from ..base import Budget, SearchResult, register, search_log
from ..common import step_cont, torch_threads
from .darts import DARTS
from .loop import Batch, Supernet, deterministic_algorithms, discretise, masked_softmax, supernet_of

VARIANTS = (1, 2, 3)
RETRAIN_EPOCHS = 20  # the report's retraining loop (section 5.1), for the variants that prune weights


@register("lnas")
@dataclass
class LNAS(DARTS):
    """DARTS with lottery-ticket pruning of alpha (variant 2), of the child's weights (1), or both (3)."""

    name: ClassVar[str] = "lnas"

    variant: int = 2
    sparsity: float = 0.5  # fraction pruned: of the searched (edge, op) pairs and/or of the child's weights
    n_prunes: int = 4  # rounds of alpha pruning (variants 2, 3)
    weight_rounds: int | None = (
        None  # rounds of weight pruning; None: 1 (variant 1, the report's one-shot) or n_prunes (3)
    )
    retrain_epochs: int | None = None  # None: 20 where weights are pruned (variants 1, 3), else 0 (no retraining)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS or isinstance(self.variant, bool):
            raise ValueError(f"lnas variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        try:
            check_sparsity(self.sparsity)
        except ValueError as e:
            raise ValueError(f"lnas {e}") from None
        for name, low in (("n_prunes", 1), ("weight_rounds", 1), ("retrain_epochs", 0)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise ValueError(f"lnas {name} must be an int >= {low}, got {value!r}")
        if self.prunes_weights and self.epochs_retrained < self.rounds_of_weights + 1:
            raise ValueError(
                f"lnas retrain_epochs must be >= weight_rounds + 1 = {self.rounds_of_weights + 1} (one epoch of "
                f"training before each pruning round and after the last), got {self.epochs_retrained}"
            )

    @property
    def prunes_alpha(self) -> bool:
        return self.variant in (2, 3)

    @property
    def prunes_weights(self) -> bool:
        return self.variant in (1, 3)

    @property
    def rounds_of_weights(self) -> int:
        """Rounds of weight pruning in the retraining (0: none)."""
        if not self.prunes_weights:
            return 0
        if self.weight_rounds is not None:
            return self.weight_rounds
        return 1 if self.variant == 1 else self.n_prunes

    @property
    def epochs_retrained(self) -> int:
        """Epochs of the derived cell's retraining (0: the search's result is the derived cell alone)."""
        if self.retrain_epochs is not None:
            return self.retrain_epochs
        return RETRAIN_EPOCHS if self.prunes_weights else 0

    # ----------------------------------------------------------- the search
    def setup(self, sn: Supernet) -> None:
        super().setup(sn)
        self.searched = sn.mask.clone().to(sn.device)
        self.keep = self.searched.clone()  # searched ops not yet pruned
        self._rounds_done = 0

    def mix(self, weights: Tensor) -> Path:
        if not self.prunes_alpha:
            return super().mix(weights)
        # the active mask (not only a zero weight) is what stops a pruned op from running
        active = self.keep.cpu().clone()
        active[:, 0] = False
        return Path(weights, active, False)

    def weights(self, sn: Supernet) -> Tensor:
        return masked_softmax(self.alpha, self.keep)

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        self._maybe_prune(sn, t)
        return super().weight_path(sn, rng, t)

    def arch_step(
        self,
        sn: Supernet,
        x: Tensor,
        y: Tensor,
        rng: np.random.Generator,
        t: float,
        train: Batch | None = None,
        w_opt: torch.optim.SGD | None = None,
    ) -> None:
        self._maybe_prune(sn, t)
        super().arch_step(sn, x, y, rng, t, train=train, w_opt=w_opt)

    def _maybe_prune(self, sn: Supernet, t: float) -> None:
        if not self.prunes_alpha:
            return
        # round k (1..n_prunes) fires once the search is k/(n_prunes+1) of the way through, so the
        # last round still leaves time to train the survivors
        due = min(self.n_prunes, int(t * (self.n_prunes + 1)))
        while self._rounds_done < due:
            self._rounds_done += 1
            self._prune_to(sn, 1.0 - kept_fraction(self.sparsity, self.n_prunes, self._rounds_done))

    def _prune_to(self, sn: Supernet, target: float) -> None:
        searched = self.searched
        n_prune = int(round(target * int(searched.sum())))
        mag = self.alpha.detach().abs().masked_fill(~searched, float("inf"))
        best = mag.masked_fill(~searched, -1.0).argmax(dim=1)
        mag[torch.arange(mag.shape[0]), best] = float("inf")  # every edge keeps one op
        order = torch.argsort(mag.flatten())[:n_prune]
        keep = searched.clone().flatten()
        keep[order[torch.isfinite(mag.flatten()[order])]] = False
        self.keep = keep.view_as(searched)

    def pruned_fraction(self) -> float:
        """The fraction of the searched (edge, op) pairs pruned so far."""
        return 1.0 - float(self.keep.sum()) / float(self.searched.sum())

    def recommend(self, sn: Supernet) -> np.ndarray:
        return discretise(sn, self.weights(sn))

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        codes = super().propose(sn, rng, sampled)
        if self.epochs_retrained:  # what retraining the cell derived now would cost: kept back from a seconds budget
            self._reserve_s = self._retraining_cost(sn.backend, self.recommend(sn))
        return codes

    def _retraining_cost(self, backend: SupernetBackend, codes: np.ndarray) -> float:
        """Simulated seconds of :func:`train_ticket` on ``codes``: every epoch trains on the whole
        batches of the weight-training half and measures the validation half."""
        per_epoch = len(backend.train_data) // backend.recipe.batch_size * backend.recipe.batch_size
        e = self.epochs_retrained
        return _retrain_seconds(float(backend.network.flops(codes)), e * per_epoch, e * len(backend.val_data))

    # ------------------------------------------------- search, then retrain
    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        """The search; then, where there is a retraining, the lottery-ticket retraining of the
        derived cell and one more query of it through the env (which pays the retraining's seconds)."""
        epochs = self.epochs_retrained
        t0 = time.perf_counter()
        self._reserve_s = 0.0
        searched = super().search(
            env, _keep_a_query(budget, self.variant, lambda: self._reserve_s) if epochs else budget, seed
        )
        searched.meta.update(
            alpha_pruned=self.pruned_fraction(),
            search_sim_s=searched.sim_time_s,
            search_wall_s=time.perf_counter() - t0,
        )
        if not epochs or (budget.seconds is not None and searched.sim_time_s >= budget.seconds):
            return searched  # (the search's last round spent the seconds: no query is left for a retrained cell)
        backend = supernet_of(env)
        assert searched.recommended_index is not None  # recommend() always derives a cell
        codes = backend.space.codes(searched.recommended_index)
        t0 = time.perf_counter()
        with torch_threads(self.threads), deterministic_algorithms(self.deterministic):
            child = fresh_child(backend.network, codes, seed, backend.device)
            sparsity = self.sparsity if self.prunes_weights else 0.0
            ticket = train_ticket(
                child,
                backend.train_data,
                backend.val_data,
                backend.recipe,
                epochs,
                sparsity,
                self.rounds_of_weights,
                seed,
            )
        macs = float(backend.network.flops(codes))  # dense kernels: unstructured zeros save no time
        retrain_s = _retrain_seconds(macs, ticket.train_images, ticket.eval_images)
        backend.charge(retrain_s)
        base: Any = env.unwrapped
        step_cont(env, base.encode(codes))
        return SearchResult.from_log(
            self.name,
            seed,
            search_log(env),
            recommended_index=searched.recommended_index,
            reports=self.reports,
            **searched.meta,
            ticket=ticket.as_dict(),
            retrain_sim_s=retrain_s,
            retrain_wall_s=time.perf_counter() - t0,
        )


def _retrain_seconds(macs: float, train_images: int, eval_images: int) -> float:
    return simulated_seconds(macs, train_images, backward=True) + simulated_seconds(macs, eval_images, backward=False)


@dataclass(frozen=True)
class _Reserving(Budget):
    """A budget whose seconds keep ``reserve()`` back: the search ends once its clock plus what
    retraining its current cell would cost reaches them, so the retrained cell's query is the one
    that spends the budget."""

    reserve: Callable[[], float] = lambda: 0.0

    def done(self, log: QueryLog, epochs: float | None = None) -> bool:
        return super().done(log, epochs) or (
            self.seconds is not None and log.sim_time_s + self.reserve() >= self.seconds
        )


def _keep_a_query(budget: Budget, variant: int, reserve: Callable[[], float]) -> Budget:
    """The search's share of ``budget``: all of it but the query of the retrained cell and, in
    simulated seconds, what retraining costs (``reserve()``)."""
    if budget.queries is not None and budget.queries < 2:
        raise ValueError(
            f"lnas variant {variant} with a retraining needs a budget of at least 2 queries (the search's and the "
            f"retrained cell's), got {budget.queries}"
        )
    queries = None if budget.queries is None else budget.queries - 1
    return _Reserving(queries, budget.seconds, budget.epochs, reserve)
