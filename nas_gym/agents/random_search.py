"""Random search: uniformly random valid architectures until the budget is spent."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym

from .base import Budget, SearchResult, check_family, register, search_log


@register("rs")
class RandomSearch:
    """Samples architectures uniformly from the space and submits each as a Cont action."""

    name: ClassVar[str] = "rs"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        check_family(self, env)
        base = env.unwrapped
        log = search_log(env)
        env.reset(seed=seed)
        rng = base.np_random  # seeded by reset: one seed drives sampling and the table's noise
        while not budget.done(log):
            _, _, terminated, truncated, _ = env.step(base.encode(base.space.sample(rng)))
            if terminated or truncated:
                env.reset()
        return SearchResult.from_log(self.name, seed, log, budget)
