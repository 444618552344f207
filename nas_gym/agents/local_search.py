"""Local search: hill climbing over one-decision neighbours, restarting at local optima.

From a random architecture, query its neighbours (``space.neighbours``) in random order and
move to the first one that beats the current architecture (``first_improvement=True``) or, once
the whole neighbourhood is known, to its best one if it beats the current one. When no neighbour
is better, the current architecture is a local optimum: restart from a random architecture not
queried yet. Architectures already queried are never queried again; their first observed value
is reused (the search compares noisy values, as it would with real training runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np

from ..spaces.base import Space
from .base import Budget, Proposer, SearchResult, register, search_codes

_MAX_TRIES = 1000  # random draws for an unseen start before accepting a seen one


def sample_unseen(space: Space, rng: np.random.Generator, seen: dict[int, float] | set[int]) -> np.ndarray:
    """A random architecture whose index is not in ``seen`` (a seen one once the space runs dry)."""
    for _ in range(_MAX_TRIES):
        codes = space.sample(rng)
        if space.index(codes) not in seen:
            return codes
    return codes


@register("ls")
@dataclass
class LocalSearch:
    """Hill climbing with random restarts; first- or best-improvement moves."""

    first_improvement: bool = True

    name: ClassVar[str] = "ls"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        return search_codes(self, env, budget, seed, self.propose)

    def propose(self, space: Space, rng: np.random.Generator) -> Proposer:
        seen: dict[int, float] = {}
        while True:
            current = sample_unseen(space, rng, seen)
            fit = seen[space.index(current)] = yield current
            while True:
                move = None
                for nb in rng.permutation(space.neighbours(current)):
                    i = space.index(nb)
                    if i not in seen:
                        seen[i] = yield nb
                    if seen[i] > fit and (move is None or seen[i] > move[1]):
                        move = (nb, seen[i])
                        if self.first_improvement:
                            break
                if move is None:
                    break  # local optimum: restart
                current, fit = move
