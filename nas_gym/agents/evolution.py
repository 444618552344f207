"""Regularized (aging) evolution, Real et al. 2019 ("Regularized Evolution for Image Classifier
Architecture Search", Algorithm 1).

Start from ``population`` random architectures; then, every cycle, draw ``sample`` members
uniformly with replacement, mutate the fittest of them in one decision (``space.mutate``), query
the child, add it and drop the *oldest* member. Ageing, not fitness, decides who leaves, which
keeps the population young and the search exploring. As in the paper, children are not
de-duplicated: a re-queried architecture is a fresh (noisy) training run.

Defaults P=10, S=3 are those NAS-Bench-201 and NATS-Bench use for REA on this space (their
``--ea_population 10 --ea_sample_size 3``); the paper's large-scale runs used P=100, S=25.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np

from ..spaces.base import Space
from .base import Budget, Proposer, SearchResult, register, search_codes


@register("re")
@dataclass
class RegularizedEvolution:
    """Aging evolution with population ``population`` and tournament size ``sample``."""

    population: int = 10
    sample: int = 3

    name: ClassVar[str] = "re"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    def __post_init__(self) -> None:
        if self.population < 1 or not 1 <= self.sample:
            raise ValueError(f"need population >= 1 and sample >= 1, got {self.population}, {self.sample}")

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        return search_codes(self, env, budget, seed, self.propose)

    def propose(self, space: Space, rng: np.random.Generator) -> Proposer:
        members: deque[tuple[np.ndarray, float]] = deque()  # oldest first
        while len(members) < self.population:
            codes = space.sample(rng)
            members.append((codes, (yield codes)))
        while True:
            picks = rng.integers(len(members), size=self.sample)
            parent = max(picks, key=lambda i: members[i][1])  # first of equals: deterministic
            child = space.mutate(members[parent][0], rng)
            members.append((child, (yield child)))
            members.popleft()
