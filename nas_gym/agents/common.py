"""Torch and numpy helpers shared by the RL agents: seeding, MLPs, masked sampling, replay, Cont stepping.

Each helper exists because two or more agents need exactly the same mechanics; anything that is
the idea of one paper stays in that agent's module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..supernets.threads import torch_threads  # noqa: F401  (the agents' networks are tiny: one thread is fastest)
from .adam import Adam
from .base import Budget

# Masked logits get this value rather than -inf, in every agent: exp() still underflows to exactly 0
# in float32, while p * log p stays 0 instead of NaN (0 * -inf) in entropy terms.
MASKED_LOGIT = -1e9


def seed_all(seed: int) -> np.random.Generator:
    """Seed torch's global RNG (network initialisation) and return the agent's numpy Generator.

    Every random choice an agent makes (actions, exploration, replay batches) is drawn from the
    returned Generator, so a search is a pure function of ``seed`` and the env's seeded reset.
    """
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    act: type[nn.Module] = nn.ReLU,
    out_act: nn.Module | None = None,
) -> nn.Sequential:
    """A fully connected network ``in_dim -> hidden... -> out_dim`` with ``act`` between layers."""
    layers: list[nn.Module] = []
    dims = [in_dim, *hidden]
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), act()]
    layers.append(nn.Linear(dims[-1], out_dim))
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


_ACTIVATIONS = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh, nn.Sigmoid: torch.sigmoid}


def plain_forward(net: nn.Sequential) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net``'s forward as the calls its modules make (``F.linear``, the activation), on the same
    parameter tensors: the same floats, without the module dispatch that is most of the time of a
    small network's forward on one observation. ``net`` holds Linear layers and ReLU, Tanh or Sigmoid."""
    calls: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for m in net:
        if isinstance(m, nn.Linear):
            calls.append(partial(F.linear, weight=m.weight, bias=m.bias))
        elif type(m) in _ACTIVATIONS:
            calls.append(_ACTIVATIONS[type(m)])
        else:
            raise ValueError(f"plain_forward takes Linear, ReLU, Tanh and Sigmoid layers, got {type(m).__name__}")

    def forward(x: torch.Tensor) -> torch.Tensor:
        for call in calls:
            x = call(x)
        return x

    return forward


def adam(params: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> Adam:
    """Adam with the floats of ``torch.optim.Adam(fused=True)`` (the fused kernel is several times
    faster on CPU for small networks), without its per-step bookkeeping (see :mod:`.adam`)."""
    return Adam(params, lr, betas)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``logits`` with the options the boolean ``mask`` forbids set to :data:`MASKED_LOGIT`."""
    m = mask.to(logits.device) if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask, dtype=bool))
    return torch.where(m, logits, torch.full_like(logits, MASKED_LOGIT))


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Log-probabilities over the options allowed by the boolean ``mask`` (others get ~-1e9)."""
    return torch.log_softmax(masked_logits(logits, mask), dim=-1)


def sample_index(probs: np.ndarray | torch.Tensor, rng: np.random.Generator) -> Any:
    """One draw from each categorical row of ``probs`` (last axis; unnormalised is fine): an int
    for one row ``(O,)``, an int64 array of the leading shape for ``(..., O)``. One uniform of
    ``rng`` per row, in row order; options of probability 0 are never returned. Every agent
    draws its categorical choices here."""
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().numpy()
    p = np.asarray(probs)
    return index_at(p, rng.random() if p.ndim == 1 else rng.random(p.shape[:-1]))


def index_at(probs: np.ndarray, u: Any) -> Any:
    """The option that the uniform draw ``u`` in [0, 1) selects in each row in :func:`sample_index`:
    the first whose cumulative probability exceeds ``u`` times the row's total."""
    p = np.asarray(probs, dtype=np.float64)
    c = np.cumsum(p, axis=-1)
    i = (c <= np.multiply(u, c[..., -1])[..., None]).sum(-1)
    if np.any(i >= p.shape[-1]):  # only at the float edge u * total == total: the last possible option
        i = np.minimum(i, p.shape[-1] - 1 - np.argmax(p[..., ::-1] > 0, axis=-1))
    return int(i) if p.ndim == 1 else i.astype(np.int64)


def entropy(logp: torch.Tensor) -> torch.Tensor:
    """Entropy of the distributions whose log-probabilities are the last axis of ``logp``."""
    return -(logp.exp() * logp).sum(-1)


class ReplayBuffer:
    """A FIFO experience store of named float32 arrays, sampled uniformly with replacement."""

    def __init__(self, capacity: int, **shapes: tuple[int, ...]) -> None:
        self.capacity = int(capacity)
        self._data = {k: np.zeros((self.capacity, *s), dtype=np.float32) for k, s in shapes.items()}
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, **row: Any) -> None:
        for k, arr in self._data.items():
            arr[self._next] = row[k]
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def _order(self, positions: np.ndarray | None = None) -> np.ndarray:
        """Slot indices of the experiences at ``positions`` (0 the oldest; default: all, oldest first)."""
        if positions is None:
            positions = np.arange(self._size)
        return (self._next - self._size + positions) % self.capacity

    def truncate(self, n: int) -> None:
        """Keep the ``n`` newest experiences and hold at most ``n`` from now on (a sliding window)."""
        keep = self._order()[-n:]
        for k, arr in self._data.items():
            fresh = np.zeros((n, *arr.shape[1:]), dtype=np.float32)
            fresh[: len(keep)] = arr[keep]
            self._data[k] = fresh
        self.capacity, self._size = int(n), len(keep)
        self._next = self._size % self.capacity

    def sample(self, batch: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        if self._size == 0:
            raise ValueError("cannot sample an empty replay buffer")
        idx = self._order(rng.integers(0, self._size, size=batch))
        return {k: torch.from_numpy(arr[idx]) for k, arr in self._data.items()}


class MovingAverage:
    """Bias-corrected exponential moving average, elementwise over an array of any shape.

    ``value = sum_k (1 - b) b^k x_{t-k} / sum_k (1 - b) b^k`` over the updates each element got,
    so the first update gives the value itself and no zero-initialisation bias remains. Elements
    never updated are NaN. ``decay`` is b (the weight kept by the old average).
    """

    def __init__(self, decay: float, shape: tuple[int, ...] = ()) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self._num = np.zeros(shape)
        self._den = np.zeros(shape)

    def update(self, x: Any, where: Any = True) -> None:
        """Fold ``x`` into the elements selected by the boolean ``where`` (all by default)."""
        w = np.broadcast_to(np.asarray(where, dtype=bool), self._num.shape)
        b = self.decay
        self._num = np.where(w, b * self._num + (1.0 - b) * np.asarray(x, dtype=np.float64), self._num)
        self._den = np.where(w, b * self._den + (1.0 - b), self._den)

    @property
    def value(self) -> Any:
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(self._den > 0, self._num / np.where(self._den > 0, self._den, 1.0), np.nan)
        return float(v) if v.ndim == 0 else v


# ----------------------------------------------------------------- Cont (whole-architecture) envs
def alpha_to_action(alpha: np.ndarray) -> np.ndarray:
    """The Cont env action for the thesis's alpha (nominally in [0, 1]).

    The env maps an action ``a`` in [-1, 1] to ``(a + 1) / 2`` and takes the argmax per decision
    (thesis Algorithm 3). ``2 * alpha - 1`` inverts that map; where exploration noise pushed alpha
    out of [0, 1] the whole vector is shrunk by one positive factor instead of being clipped, which
    keeps every row's argmax (clipping could tie two options at the bound).
    """
    a = 2.0 * np.asarray(alpha, dtype=np.float64).ravel() - 1.0
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m > 1.0:
        a = a / m
    return a.astype(np.float32)


def step_cont(env: gym.Env, action: np.ndarray) -> tuple[np.ndarray, float, bool, np.ndarray, dict]:
    """One Cont query; when it ends the env's episode, reset (the RNG continues) to go on searching.

    Returns ``(next_obs, reward, done, obs_for_next_action, info)``: ``next_obs`` is the state the
    query led to (for transitions), the fourth item the state the next action should see.
    """
    obs, reward, terminated, truncated, info = env.step(action)
    done = bool(terminated or truncated)
    start = env.reset()[0] if done else obs
    return obs, float(reward), done, start, info


def planned_queries(budget: Budget, env: gym.Env, fallback: int) -> int:
    """Queries a schedule should be laid out over: the budget's, else the Cont episode, else ``fallback``."""
    if budget.queries is not None:
        return int(budget.queries)
    return int(getattr(env.unwrapped, "budget", fallback))


def reward_name(env: gym.Env) -> str | None:
    """Name of the env's named reward (``val``, ``cadam``, ...), None when it cannot be told."""
    return getattr(env.unwrapped, "reward_name", None)


def check_cont(env: gym.Env, budget: Budget, agent: str, obs: str | None = None) -> None:
    """Checks for agents whose state lives in one Cont episode: the observation mode, the episode length."""
    base: Any = env.unwrapped
    if obs is not None and getattr(base, "obs_mode", None) != obs:
        raise ValueError(
            f"agent {agent!r} needs the Cont env's obs={obs!r} state, got obs={getattr(base, 'obs_mode', None)!r}: "
            f"make it with gym.make(..., obs={obs!r})"
        )
    if budget.queries is not None and base.budget < budget.queries:
        warnings.warn(
            f"{agent}: the Cont env's episode ({base.budget} queries) is shorter than the search budget "
            f"({budget.queries}); its state restarts each episode. Make the env with budget={budget.queries}.",
            stacklevel=3,
        )
