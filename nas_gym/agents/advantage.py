"""AdvantageNAS (Sato et al. 2021) with the exact per-edge advantage of its eq. 6, on the Cont env.

The policy is an independent categorical distribution per edge, p(a_i) = softmax(theta_i)
(section 4.1). Each iteration samples one architecture a, queries it, and queries for every edge
i its counterfactual (s_i, 0), the same architecture with edge i set to the zero operation
(``none``); the advantage of edge i is

    A_i = r(a) - r((s_i, 0))                                        (eq. 6)

and theta_i moves along A_i grad log p(a_i) (Algorithm 1, lines 8-10), by Adam. Every
counterfactual is a real query, submitted with ``env.unwrapped.encode`` and charged to the
budget, so an iteration costs up to E + 1 queries. Where edge i already holds the zero
operation its eq.-6 advantage is 0; footnote 4 replaces it with the worst moving-average
advantage of the other operations on that edge (the authors' code keeps that average with
coefficient 0.05). The first-order estimate of eq. 7 needs a supernet's gradients and comes with
that backend.

``advantagenas-reinforce`` is the paper's ablation (sections 4.2 and 5.1): the same code with the
scalar reward r(a) in place of every A_i (eq. 4) and no counterfactual queries.

Defaults: theta = 0 (a uniform start), Adam with learning rate 1e-3 and betas (0.9, 0.999) (the
paper's section 5.1; its public code uses beta1 = 0.5). The search returns, as every agent, the
best architecture it queried (the paper's ``process best``) and recommends the policy's argmax
(its ``argmax``, which the paper reports as the better of the two: ``reports="argmax"``).

Spaces without a ``none`` option on every decision (NAS-Bench-Graph, NAS-Bench-Macro): the
paper's counterfactual (s_i, 0) is the network with edge i's output set to zero, which a
weight-sharing network can always compute (the paper's own NAS-Bench-201 runs removed ``none``
from the candidates and still zeroed edges in the supernet: ``advantagenas-supernet``). A table
holds results only for the architectures of its space, and there that network is none of them
(on NAS-Bench-Graph a node without output cuts the graph), so eq. 6 has nothing to query: the
advantage variant refuses such envs in ``check_env``, before any query and in
``nas-gym compare``'s checks, and points to the REINFORCE ablation, which needs no counterfactual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from .base import Budget, SearchResult, new_search, register, search_log
from .common import (
    MovingAverage,
    adam,
    masked_log_softmax,
    masked_logits,
    sample_index,
    seed_all,
    step_cont,
    torch_threads,
)

ZERO_OP = "none"


def zero_options(space) -> np.ndarray:
    """Index of the zero operation ``none`` in each decision; ValueError when one lacks it."""
    missing = [d for d, opts in zip(space.decision_names, space.options) if ZERO_OP not in opts]
    if missing:
        raise ValueError(
            f"advantagenas needs a {ZERO_OP!r} option on every decision for its counterfactuals (eq. 6: the "
            f"architecture with edge i zeroed); space {space.name!r} has none on {missing}, so its table holds "
            f"no such architecture. Use advantagenas-reinforce there (no counterfactuals), or advantagenas-supernet "
            f"on a supernet, which can zero any edge."
        )
    return np.array([opts.index(ZERO_OP) for opts in space.options], dtype=np.int64)


def edge_advantages(
    reward: float, counterfactual: np.ndarray, is_zero: np.ndarray, worst_zero: np.ndarray
) -> np.ndarray:
    """Eq. 6 per edge: ``reward - counterfactual[i]``; edges holding the zero op get ``worst_zero[i]``."""
    return np.where(is_zero, worst_zero, reward - counterfactual)


def worst_other(avg: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Per edge, the smallest moving-average advantage among its non-zero operations (0 if none seen yet).

    ``avg`` is ``(edges, options)`` with NaN where an operation has no advantage yet (footnote 4).
    """
    seen = np.array(avg, dtype=np.float64)
    seen[np.arange(len(zero)), zero] = np.nan
    seen = np.where(np.isnan(seen), np.inf, seen)
    worst = seen.min(axis=1)
    return np.where(np.isinf(worst), 0.0, worst)


@register("advantagenas")
@dataclass
class AdvantageNAS:
    """AdvantageNAS with eq.-6 counterfactual queries (``advantage=False``: the REINFORCE ablation)."""

    name: ClassVar[str] = "advantagenas"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    advantage: bool = True  # per-edge advantage (eq. 6); False: scalar reward (eq. 4)
    lr: float = 1e-3  # Adam (section 5.1)
    betas: tuple[float, float] = (0.9, 0.999)  # (section 5.1)
    zero_avg_coef: float = 0.05  # weight of a new advantage in the zero-op moving average (authors' code)
    threads: int | None = 1

    def check_env(self, env: gym.Env) -> None:
        """ValueError when the advantage variant has no eq.-6 counterfactual in ``env``'s space."""
        if self.advantage:
            base: Any = env.unwrapped
            zero_options(base.space)

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        new_search(self, env)  # checks the family and the space, empties the log the budget is counted on
        base: Any = env.unwrapped
        space = base.space
        zero = zero_options(space) if self.advantage else None
        rng = seed_all(seed)
        with torch_threads(self.threads):
            theta = torch.zeros(space.n_decisions, space.max_options, requires_grad=True)
            opt = adam([theta], self.lr, self.betas)
            mask = torch.as_tensor(space.option_mask)
            avg = MovingAverage(1.0 - self.zero_avg_coef, (space.n_decisions, space.max_options))
            log = search_log(env)
            env.reset(seed=seed)
            while not budget.done(log):
                logp = masked_log_softmax(theta, mask)
                probs = logp.detach().exp().numpy()
                codes = sample_index(probs, rng)
                reward = self._query(env, codes)
                if zero is not None:  # the advantage variant
                    adv = self._advantages(env, budget, codes, reward, zero, avg)
                    if adv is None:  # the budget ran out among the counterfactuals
                        break
                else:
                    adv = np.full(space.n_decisions, reward)
                chosen = logp[torch.arange(space.n_decisions), torch.as_tensor(codes)]
                loss = -(torch.as_tensor(adv, dtype=torch.float32) * chosen).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            argmax = masked_logits(theta.detach(), mask).argmax(1).numpy()
        return SearchResult.from_log(
            self.name,
            seed,
            log,
            budget,
            recommended_index=space.index(argmax),
            reports="argmax",
            argmax_arch=space.to_string(argmax),
        )

    @staticmethod
    def _query(env: gym.Env, codes: np.ndarray) -> float:
        base: Any = env.unwrapped
        return step_cont(env, base.encode(codes))[1]

    def _advantages(
        self, env: gym.Env, budget: Budget, codes: np.ndarray, reward: float, zero: np.ndarray, avg: MovingAverage
    ) -> np.ndarray | None:
        """Eq. 6 for every edge (one counterfactual query each); None if the budget ends first."""
        log = search_log(env)
        is_zero = codes == zero
        counterfactual = np.full(len(codes), reward)
        for i in np.flatnonzero(~is_zero):
            if budget.done(log):
                return None
            cf = codes.copy()
            cf[i] = zero[i]
            counterfactual[i] = self._query(env, cf)
        adv = edge_advantages(reward, counterfactual, is_zero, worst_other(avg.value, zero))
        rows = np.flatnonzero(~is_zero)
        hit = np.zeros(avg.value.shape, dtype=bool)
        hit[rows, codes[rows]] = True
        avg.update(adv[:, None], where=hit)
        return adv


@register("advantagenas-reinforce")
@dataclass
class AdvantageNASReinforce(AdvantageNAS):
    """The REINFORCE ablation of AdvantageNAS: scalar reward, no counterfactual queries."""

    name: ClassVar[str] = "advantagenas-reinforce"

    advantage: bool = False
