"""Exploration schedules and noise processes used by the continuous agents (DDAS / CADAM)."""

from __future__ import annotations

import math

import numpy as np


def cosine_epsilon(step: float, start: float = 1.0, end: float = 0.05, steps: int = 175) -> float:
    """Epsilon annealed from ``start`` to ``end`` by a half cosine over ``steps``, then held at ``end``.

    The thesis's CADAM schedule on NAS-Bench-201 (section 4.2.1): 1.0 at step 0, 0.05 from step
    175 on; half-way (step 87.5) it is the mean of the two, 0.525.
    """
    if steps <= 0 or step >= steps:
        return float(end)
    if step <= 0:
        return float(start)
    return float(end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * step / steps)))


class OrnsteinUhlenbeck:
    """Ornstein-Uhlenbeck noise ``dx = theta (mu - x) dt + sigma dW``, one independent process per dimension.

    Sampled with the exact discretisation, ``x' = mu + (x - mu) e^{-theta dt} + s * N(0, 1)`` with
    ``s^2 = sigma^2 (1 - e^{-2 theta dt}) / (2 theta)``, so the stationary variance is exactly
    ``sigma^2 / (2 theta)`` whatever ``dt`` (an Euler step would overshoot it). Defaults are
    Lillicrap et al.'s DDPG values (theta 0.15, sigma 0.2) with one unit of time per step, which
    the thesis (DDAS-4S) cites for its large, temporally correlated exploration bursts.
    """

    def __init__(
        self,
        size: int,
        rng: np.random.Generator,
        theta: float = 0.15,
        sigma: float = 0.2,
        mu: float = 0.0,
        dt: float = 1.0,
    ) -> None:
        if theta <= 0 or sigma < 0 or dt <= 0:
            raise ValueError(f"need theta > 0, sigma >= 0, dt > 0; got theta={theta}, sigma={sigma}, dt={dt}")
        self.size, self.rng, self.theta, self.sigma, self.mu, self.dt = int(size), rng, theta, sigma, mu, dt
        self._decay = math.exp(-theta * dt)
        self._scale = sigma * math.sqrt((1.0 - math.exp(-2.0 * theta * dt)) / (2.0 * theta))
        self.x = np.full(self.size, mu, dtype=np.float64)

    @property
    def stationary_std(self) -> float:
        return self.sigma / math.sqrt(2.0 * self.theta)

    def reset(self) -> None:
        """Start again at the mean (as DDPG does at the start of each episode)."""
        self.x = np.full(self.size, self.mu, dtype=np.float64)

    def sample(self) -> np.ndarray:
        self.x = self.mu + (self.x - self.mu) * self._decay + self._scale * self.rng.standard_normal(self.size)
        return self.x.copy()
