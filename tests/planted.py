"""A one-shot hand case whose reward is linear in the gates, for the agents' own ``arch_step``:
every expectation over children has a closed form, and one op per edge can be planted as best."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from nas_gym.supernets.paths import Path


class Space:
    """All ``E`` x ``O - 1`` children valid; argmax per edge over columns 1.. (column 0 = none)."""

    def __init__(self, E: int, O: int) -> None:
        self.n_decisions, self.max_options, self.shape = E, O, (O,) * E

    def discretise(self, alpha: np.ndarray) -> np.ndarray:
        return np.asarray(alpha)[..., 1:].argmax(-1) + 1

    def index(self, codes) -> int:
        return int(np.ravel_multi_index(tuple(np.asarray(codes)), self.shape))

    def is_valid(self, index: int) -> bool:
        return True


class LinearTask:
    """A duck-typed Supernet view whose reward is linear in the gates: ``r = sum_e,o g[e,o] C[e,o]``
    (the loss is -r), so eq. 7's advantage is exact and every expectation has a closed form.

    ``C`` is uniform on [-1, 1]; with ``planted``, op ``best[e]`` of each edge gets 1 and the
    others stay in [-1, 0], so it is clearly best."""

    def __init__(self, E: int, O: int, seed: int, planted: bool = False) -> None:
        rng = np.random.default_rng(seed)
        C = rng.uniform(-1, 0 if planted else 1, (E, O))
        self.best = rng.integers(1, O, E)
        if planted:
            C[np.arange(E), self.best] = 1.0
        else:
            self.best = C[:, 1:].argmax(1) + 1
        C[:, 0] = 0.0
        self.C = torch.as_tensor(C)
        self.mask = torch.ones(E, O, dtype=torch.bool)
        self.mask[:, 0] = False
        self.space, self.device, self.net = Space(E, O), torch.device("cpu"), None
        self.x, self.y = torch.zeros(1, 1), torch.zeros(1, dtype=torch.long)  # one "image": likelihood e^r

    def loss(self, path: Path, x, y) -> torch.Tensor:
        return -(path.weights.double() * path.active.double() * self.C).sum()

    def reward(self, path: Path, x, y) -> float:
        return -float(self.loss(path, x, y))

    def children(self) -> list[np.ndarray]:
        E, O = self.mask.shape
        return [np.array(c) for c in itertools.product(range(1, O), repeat=E)]
