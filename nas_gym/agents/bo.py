"""Bayesian optimisation with a Gaussian process and expected improvement (the AutoML slides:
Brochu et al. 2010, Snoek et al. 2012).

Surrogate: a GP over the architecture's one-hot encoding, Matern-5/2 kernel (Snoek et al.'s
recommendation over the too-smooth squared exponential), constant mean, Gaussian observation
noise (a query is one noisy training run). Its length scale and noise-to-signal ratio are chosen
every ``refit_every`` observations by the marginal likelihood over a small grid, with the signal
variance in closed form, which is cheaper than gradient fitting and good enough for categorical
inputs; between refits the Cholesky factor grows by one row per query. Acquisition: EI with
trade-off ``xi`` (Lizotte; in units of the targets' std) against the incumbent ``mu+``, the best
posterior mean among queried architectures (the slides' choice under noise). EI is maximised
over a pool of ``n_random`` random architectures and every one-decision mutation of the
``n_parents`` queried architectures with the best posterior mean. The first ``n_init`` queries
are a random design. Queried architectures are never proposed again: the GP's noise term already
accounts for what a repeat would measure, and a repeat would spend a query on a known point.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import gymnasium as gym
import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.stats import norm
from threadpoolctl import ThreadpoolController

from ..spaces.base import Space
from .base import Budget, Proposer, SearchResult, register, search_codes
from .local_search import sample_unseen

# Grids for the marginal-likelihood fit: length scale relative to the largest one-hot distance
# sqrt(2 * n_decisions), and noise variance relative to the signal variance.
LENGTH_SCALES = (0.25, 0.5, 1.0, 2.0)
NOISE_RATIOS = (1e-3, 1e-2, 1e-1, 0.3)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # scanning the loaded libraries takes ~1 ms: do it once


def matern52(d2: np.ndarray, length: float) -> np.ndarray:
    """Matern-5/2 correlation from squared distances."""
    r = np.sqrt(5.0 * np.maximum(d2, 0.0)) / length
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of differing decisions between every row of codes ``a`` and every row of ``b``."""
    width = int(max(a.max(initial=0), b.max(initial=0))) + 1
    return a.shape[1] - (_one_hot(a, width) @ _one_hot(b, width).T).astype(np.int64)


def _one_hot(codes: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((len(codes), codes.shape[1] * width), dtype=np.float32)
    out[np.arange(len(codes))[:, None], np.arange(codes.shape[1]) * width + codes] = 1.0
    return out


@dataclass
class GP:
    """A GP over architectures: the Cholesky factor of ``R + noise I`` for fixed hyperparameters.

    Two one-hot encodings that differ in ``h`` decisions are ``sqrt(2 h)`` apart, so the
    correlation ``R`` is a lookup table over ``h``. Targets are standardised,
    ``y = mean + std * z`` with ``z ~ N(0, signal (R + noise I))``; the signal variance takes its
    maximum-likelihood value in closed form.
    """

    codes: np.ndarray
    length: float
    noise: float  # noise variance / signal variance
    lut: np.ndarray  # correlation by number of differing decisions
    chol: np.ndarray

    @classmethod
    def fit(cls, codes: np.ndarray, h: np.ndarray, length: float, noise: float) -> "GP":
        """The factor for training ``codes`` with pairwise differing decisions ``h``."""
        lut = matern52(2.0 * np.arange(codes.shape[1] + 1), length)
        chol = cholesky(lut[h] + noise * np.eye(len(codes)), lower=True, check_finite=False)
        return cls(codes, length, noise, lut, chol)

    def extend(self, codes: np.ndarray, h_row: np.ndarray) -> "GP":
        """The factor with one more training point (O(n^2), versus O(n^3) for a new fit)."""
        k = self.lut[h_row[:-1]]
        row = solve_triangular(self.chol, k, lower=True, check_finite=False)
        diag = np.sqrt(max(1.0 + self.noise - float(row @ row), 1e-12))
        n = len(row)
        chol = np.zeros((n + 1, n + 1))
        chol[:n, :n], chol[n, :n], chol[n, n] = self.chol, row, diag
        return GP(np.vstack([self.codes, codes]), self.length, self.noise, self.lut, chol)

    def posterior(self, y: np.ndarray) -> "Posterior":
        mean, std = float(y.mean()), float(y.std()) or 1.0
        z = (y - mean) / std
        alpha = cho_solve((self.chol, True), z, check_finite=False)
        return Posterior(self, mean, std, max(float(z @ alpha) / len(z), 1e-12), z, alpha)


@dataclass
class Posterior:
    """The GP conditioned on targets; see :class:`GP` for the model."""

    gp: GP
    mean: float
    std: float
    signal: float
    z: np.ndarray
    alpha: np.ndarray  # (R + noise I)^-1 z

    @property
    def log_likelihood(self) -> float:
        """Marginal log-likelihood of z at the optimal signal variance, up to a constant."""
        return -0.5 * len(self.z) * np.log(self.signal) - float(np.sum(np.log(np.diag(self.gp.chol))))

    def train_mean(self) -> np.ndarray:
        """Posterior mean at the training points: ``R alpha = z - noise * alpha``."""
        return self.mean + self.std * (self.z - self.gp.noise * self.alpha)

    def predict(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function (noise excluded)."""
        ks = self.gp.lut[hamming(codes, self.gp.codes)]
        v = solve_triangular(self.gp.chol, ks.T, lower=True, check_finite=False)
        var = np.maximum(1.0 - np.einsum("ij,ij->j", v, v), 1e-12) * self.signal
        return self.mean + self.std * (ks @ self.alpha), self.std * np.sqrt(var)


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, incumbent: float, xi: float) -> np.ndarray:
    """EI of maximisation over ``incumbent + xi`` (the slides' generalised form)."""
    gain = mu - incumbent - xi
    z = gain / sigma
    return gain * norm.cdf(z) + sigma * norm.pdf(z)


@register("bo")
@dataclass
class BayesianOptimisation:
    """GP-EI Bayesian optimisation over one-hot architectures (see the module docstring)."""

    n_init: int = 10
    n_random: int = 200
    n_parents: int = 10
    xi: float = 0.01
    refit_every: int = 25

    name: ClassVar[str] = "bo"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    def __post_init__(self) -> None:
        if self.n_init < 2 or self.refit_every < 1:
            raise ValueError(f"need n_init >= 2 and refit_every >= 1, got {self.n_init}, {self.refit_every}")

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        return search_codes(self, env, budget, seed, self.propose)

    def propose(self, space: Space, rng: np.random.Generator) -> Proposer:
        scale = np.sqrt(2.0 * space.n_decisions)
        grid = [(f * scale, r) for f in LENGTH_SCALES for r in NOISE_RATIOS]
        codes = np.zeros((0, space.n_decisions), dtype=np.int64)
        h = np.zeros((0, 0), dtype=np.int64)  # pairwise differing decisions of the queried archs
        y: list[float] = []
        seen: set[int] = set()
        neighbours: dict[int, np.ndarray] = {}  # parents stay parents for many steps
        gp: GP | None = None
        while True:
            n = len(y)
            if n < self.n_init:
                proposal = sample_unseen(space, rng, seen)
            else:
                # One BLAS thread: these matrices are small, and threads contending for the
                # cores made a 150 x 150 Cholesky 15x slower than one thread.
                with _blas().limit(limits=1):
                    targets = np.array(y)
                    if gp is None or (n - self.n_init) % self.refit_every == 0:
                        post = max(
                            (GP.fit(codes, h, *hp).posterior(targets) for hp in grid), key=lambda p: p.log_likelihood
                        )
                        gp = post.gp
                    else:
                        gp = gp.extend(codes[-1], h[-1])
                        post = gp.posterior(targets)
                    proposal = self._next(space, rng, post, codes, seen, neighbours)
            y.append((yield proposal))
            row = hamming(proposal[None], np.vstack([codes, proposal]))[0]
            codes = np.vstack([codes, proposal])
            h = np.block([[h, row[:-1, None]], [row[None, :]]])
            seen.add(space.index(proposal))

    def _next(
        self, space: Space, rng: np.random.Generator, post: Posterior, codes: np.ndarray, seen: set[int],
        neighbours: dict[int, np.ndarray],
    ) -> np.ndarray:
        """The candidate of highest EI among random and mutated unseen architectures."""
        mu_seen = post.train_mean()
        parents = codes[np.argsort(-mu_seen, kind="stable")[: self.n_parents]]
        for p in parents:
            if (i := space.index(p)) not in neighbours:
                neighbours[i] = space.neighbours(p)
        mutants = [neighbours[space.index(p)] for p in parents]
        pool = np.concatenate([space.sample(rng, self.n_random), *mutants])
        idx, first = np.unique(space.indices(pool), return_index=True)
        keep = np.sort(first[~np.isin(idx, np.fromiter(seen, np.int64, len(seen)))])
        if len(keep) == 0:
            return sample_unseen(space, rng, seen)
        mu, sigma = post.predict(pool[keep])
        ei = expected_improvement(mu, sigma, float(mu_seen.max()), self.xi * post.std)
        return pool[keep[int(np.argmax(ei))]]
