"""Tree-structured Parzen estimator (Bergstra et al. 2011) through optuna's ``TPESampler``.

Each decision is a categorical parameter (its option codes); every ``ask`` becomes one query
and its reward is ``tell``-ed back. Optuna's own defaults apply (10 random start-up trials,
univariate densities); ``sampler_kwargs`` passes anything else to ``TPESampler``. TPE proposes
what its densities favour, repeats included: a repeat is a fresh (noisy) run, as in optuna.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ..spaces.base import Space
from .base import Budget, Proposer, SearchResult, register, search_codes


@register("tpe")
@dataclass
class TPE:
    """Optuna TPE over the space's decisions; the sampler is seeded from the search's RNG."""

    sampler_kwargs: dict[str, Any] = field(default_factory=dict)

    name: ClassVar[str] = "tpe"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        return search_codes(self, env, budget, seed, self.propose)

    def propose(self, space: Space, rng: np.random.Generator) -> Proposer:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial otherwise
        sampler = optuna.samplers.TPESampler(seed=int(rng.integers(2**31)), **self.sampler_kwargs)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        choices = [list(range(n)) for n in space.n_options]
        while True:
            trial = study.ask()
            codes = np.array(
                [trial.suggest_categorical(name, opts) for name, opts in zip(space.decision_names, choices)],
                dtype=np.int64,
            )
            study.tell(trial, (yield codes))
