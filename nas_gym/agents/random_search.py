"""Random search: uniformly random valid architectures until the budget is spent."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np

from ..spaces.base import Space
from .base import Budget, Proposer, SearchResult, register, search_codes


@register("rs")
class RandomSearch:
    """Samples architectures uniformly from the space (repeats allowed, as independent draws)."""

    name: ClassVar[str] = "rs"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        return search_codes(self, env, budget, seed, self.propose)

    def propose(self, space: Space, rng: np.random.Generator) -> Proposer:
        while True:
            yield space.sample(rng)
