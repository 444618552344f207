"""Bayesian optimisation with a Gaussian process and expected improvement (the AutoML slides:
Brochu et al. 2010, Snoek et al. 2012).

Surrogate: a GP over the architecture's one-hot encoding, Matern-5/2 kernel (Snoek et al.'s
recommendation over the too-smooth squared exponential), constant mean, Gaussian observation
noise (a query is one noisy training run). Its length scale and noise-to-signal ratio are chosen
every ``refit_every`` observations by the marginal likelihood over a small grid, with the signal
variance in closed form, which is cheaper than gradient fitting and good enough for categorical
inputs; between refits the Cholesky factor grows by one row per query (a rank-one extension,
O(n^2), in place in buffers with room to grow; a refit is sixteen O(n^3) factorisations).
Per query the cost is then quadratic in the queries so far: the variance of each candidate is
one triangular solve. Acquisition: EI with
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
from scipy.linalg import cho_solve, lapack
from scipy.special import ndtr
from threadpoolctl import ThreadpoolController

from ..spaces.base import Space
from .base import Budget, Proposer, SearchResult, register, search_codes
from .local_search import sample_unseen

# Grids for the marginal-likelihood fit: length scale relative to the largest one-hot distance
# sqrt(2 * n_decisions), and noise variance relative to the signal variance.
LENGTH_SCALES = (0.25, 0.5, 1.0, 2.0)
NOISE_RATIOS = (1e-3, 1e-2, 1e-1, 0.3)
_SQRT_2PI = np.sqrt(2 * np.pi)


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
    """A GP over architectures: the Cholesky factor ``L`` of ``R + noise I`` for fixed hyperparameters.

    Two one-hot encodings that differ in ``h`` decisions are ``sqrt(2 h)`` apart, so the
    correlation ``R`` is a lookup table over ``h``. Targets are standardised,
    ``y = mean + std * z`` with ``z ~ N(0, signal (R + noise I))``; the signal variance takes its
    maximum-likelihood value in closed form.

    A fit leaves ``L`` as LAPACK's Cholesky returns it; :meth:`extend` then grows it by one row
    per training point in place, in two Fortran-order buffers with room to spare (``L`` and
    ``L^T``, so that the triangular solves read them where they are).
    Each solve calls the LAPACK routine, with the same operand layout, that the plain
    ``scipy.linalg`` calls on a freshly allocated factor would make, so the numbers are theirs.
    """

    codes: np.ndarray
    length: float
    noise: float  # noise variance / signal variance
    lut: np.ndarray  # correlation by number of differing decisions
    chol: np.ndarray  # L straight from the Cholesky factorisation (until the first extend)
    lower: np.ndarray | None = None  # L in the leading n x n block, Fortran order, once grown
    upper: np.ndarray | None = None  # L^T likewise

    @classmethod
    def fit(cls, codes: np.ndarray, h: np.ndarray, length: float, noise: float, corr: np.ndarray | None = None) -> GP:
        """The factor for training ``codes`` with pairwise differing decisions ``h``; ``corr``: ``R``
        if the caller has it (one per length scale serves every noise ratio)."""
        lut = matern52(2.0 * np.arange(codes.shape[1] + 1), length)
        k = (lut[h] if corr is None else corr).copy()
        k.flat[:: len(k) + 1] += noise  # R + noise I, without building I
        # k is symmetric, so k.T is the same matrix in the Fortran order LAPACK factorises in place
        chol, info = lapack.dpotrf(k.T, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"R + noise I is not positive definite (dpotrf info {info})")
        return cls(codes, length, noise, lut, chol)

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def grown(self) -> bool:
        return self.lower is not None

    def extend(self, codes: np.ndarray, h_row: np.ndarray) -> GP:
        """Add one training point (``h_row``: its differing decisions from every point, itself
        last) in O(n^2), versus O(n^3) for a new fit. Changes this GP and returns it."""
        n = self.n
        k = self.lut[h_row[:n]][:, None]
        row = self.solve(k)[:, 0]  # L row = L^-1 k
        diag = np.sqrt(max(1.0 + self.noise - float(row @ row), 1e-12))
        if self.lower is None or n + 1 > len(self.lower):
            self._reserve(max(2 * n, n + 1, 16))
        assert self.lower is not None and self.upper is not None  # grown together by _reserve
        self.lower[n, :n], self.lower[n, n] = row, diag
        self.upper[:n, n], self.upper[n, n] = row, diag
        self.codes = np.vstack([self.codes, codes])
        return self

    def _reserve(self, capacity: int) -> None:
        """Move L (and L^T) into buffers of ``capacity`` rows and columns."""
        n = self.n
        lower, upper = np.zeros((capacity, capacity), order="F"), np.zeros((capacity, capacity), order="F")
        lower[:n, :n] = self.factor()
        upper[:n, :n] = lower[:n, :n].T
        self.lower, self.upper = lower, upper

    def factor(self) -> np.ndarray:
        """L as a view (of the buffer once grown)."""
        return self.chol if self.lower is None else self.lower[: self.n, : self.n]

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``L^-1 b`` for ``b`` of n rows: a fresh factor is solved as is (what scipy's
        ``solve_triangular`` does with LAPACK's Fortran-order output), a grown one as the
        transposed system on ``L^T`` (what it does with a C-order factor)."""
        if self.upper is None:  # (set together with lower)
            x, info = lapack.dtrtrs(self.chol, b, lower=1)
        else:  # the leading n columns: Fortran-contiguous with the buffer's row count as leading dimension
            x, info = lapack.dtrtrs(self.upper[:, : self.n], b, lower=0, trans=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"singular factor (dtrtrs info {info})")
        return x

    def posterior(self, y: np.ndarray) -> Posterior:
        mean, std = float(y.mean()), float(y.std()) or 1.0
        z = (y - mean) / std
        # cho_solve wants one contiguous Fortran-order factor: a grown one is copied (one column block)
        chol = self.chol if self.lower is None else np.asfortranarray(self.factor())
        alpha = cho_solve((chol, True), z, check_finite=False)
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
        return -0.5 * len(self.z) * np.log(self.signal) - float(np.sum(np.log(np.diagonal(self.gp.factor()))))

    def train_mean(self) -> np.ndarray:
        """Posterior mean at the training points: ``R alpha = z - noise * alpha``."""
        return self.mean + self.std * (self.z - self.gp.noise * self.alpha)

    def predict(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function (noise excluded)."""
        ks = self.gp.lut[hamming(codes, self.gp.codes)]
        v = self.gp.solve(ks.T)
        var = np.maximum(1.0 - np.einsum("ij,ij->j", v, v), 1e-12) * self.signal
        return self.mean + self.std * (ks @ self.alpha), self.std * np.sqrt(var)


def refit(codes: np.ndarray, h: np.ndarray, targets: np.ndarray, lengths: list[float]) -> Posterior:
    """The posterior of highest marginal likelihood over ``lengths`` x ``NOISE_RATIOS`` (the first
    of equals, in that order)."""
    best: Posterior | None = None
    for length in lengths:
        corr = matern52(2.0 * np.arange(codes.shape[1] + 1), length)[h]  # shared by the noise ratios
        for noise in NOISE_RATIOS:
            post = GP.fit(codes, h, length, noise, corr).posterior(targets)
            if best is None or post.log_likelihood > best.log_likelihood:
                best = post
    assert best is not None
    return best


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, incumbent: float, xi: float) -> np.ndarray:
    """EI of maximisation over ``incumbent + xi`` (the slides' generalised form)."""
    gain = mu - incumbent - xi
    z = gain / sigma
    # the standard normal's cdf and pdf as scipy.stats.norm computes them (same floats), without
    # importing scipy.stats (a third of a second in every process that runs BO)
    return gain * ndtr(z) + sigma * (np.exp(-(z**2) / 2.0) / _SQRT_2PI)


class Archive:
    """Codes of the queried architectures and their pairwise differing decisions, in buffers that
    double when full (appending to copies of the whole matrix made each query O(n^2) in copying)."""

    def __init__(self, n_decisions: int) -> None:
        self._codes = np.zeros((16, n_decisions), dtype=np.int64)
        self._h = np.zeros((16, 16), dtype=np.int64)
        self.n = 0

    @property
    def codes(self) -> np.ndarray:
        return self._codes[: self.n]

    @property
    def h(self) -> np.ndarray:
        return self._h[: self.n, : self.n]

    def add(self, code: np.ndarray) -> None:
        n = self.n
        if n == len(self._codes):
            codes, h = self._codes, self._h
            self._codes = np.zeros((2 * n, codes.shape[1]), dtype=np.int64)
            self._h = np.zeros((2 * n, 2 * n), dtype=np.int64)
            self._codes[:n], self._h[:n, :n] = codes, h
        self._codes[n] = code
        row = hamming(code[None], self._codes[: n + 1])[0]
        self._h[n, : n + 1], self._h[:n, n] = row, row[:n]
        self.n = n + 1


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
        lengths = [f * scale for f in LENGTH_SCALES]
        archive = Archive(space.n_decisions)  # the queried architectures and their differing decisions
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
                        post = refit(archive.codes, archive.h, targets, lengths)
                        gp = post.gp
                    else:
                        gp = gp.extend(archive.codes[-1], archive.h[-1])
                        post = gp.posterior(targets)
                    proposal = self._next(space, rng, post, archive.codes, seen, neighbours)
            y.append((yield proposal))
            archive.add(proposal)
            seen.add(space.index(proposal))

    def _next(
        self,
        space: Space,
        rng: np.random.Generator,
        post: Posterior,
        codes: np.ndarray,
        seen: set[int],
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
