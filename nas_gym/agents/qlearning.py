"""Tabular Q-learning after MetaQNN (Baker et al. 2017) on the Seq env.

The state is MetaQNN's layer state: the position and the option chosen at the previous
decision (MetaQNN's state is the current layer, described by its depth and its own
parameters, not the path that led to it; survey seed), the action the option of the current
decision; every Q-value starts at 0.5. A state shared by every prefix that ends in the same
choice is what lets a reward reach architectures never sampled: with ``state="prefix"`` (the
whole tuple of earlier choices) the table is a tree in which each value is updated only by
architectures sharing that exact prefix. Actions are
epsilon-greedy among the options the env's ``action_masks()`` allows (ties broken at random).
The reward, the env's named reward, comes at the last decision; with learning rate 0.01 and
discount 1 the update is (survey seed, MetaQNN)

    Q(s_t, a_t) <- (1 - 0.01) Q(s_t, a_t) + 0.01 [r_t + max_a' Q(s_t+1, a')],

with r_t = 0 before the last step and no successor after it. Experience replay as MetaQNN does
it: every sampled architecture goes into a replay memory with its reward; after each episode a
batch of ``replay_batch`` (100 in MetaQNN) trajectories is drawn from the memory uniformly with
replacement and each is updated from its last transition back to its first.

Epsilon follows MetaQNN's CIFAR-10 schedule, 1.0 for 1,500 models and then 0.9 ... 0.1 for 100,
100, 100, 150, 150, 150, 150, 150, 150 models (2,700 in all). Budgets here are smaller, so the
schedule is scaled to the budget: each epsilon keeps its share of the 2,700 models (the cut
points are the rounded cumulative shares times the number of episodes), so 500 queries give
278 episodes at 1.0, 18 at 0.9, ... and 28 at 0.1. Without a query budget (simulated seconds)
the original counts are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from .base import Budget, SearchResult, new_search, register, search_log
from .common import seed_all

# (epsilon, number of models) of MetaQNN's CIFAR-10 search.
METAQNN_SCHEDULE: tuple[tuple[float, int], ...] = (
    (1.0, 1500), (0.9, 100), (0.8, 100), (0.7, 100), (0.6, 150),
    (0.5, 150), (0.4, 150), (0.3, 150), (0.2, 150), (0.1, 150),
)  # fmt: skip


def scaled_schedule(
    n_episodes: int, schedule: tuple[tuple[float, int], ...] = METAQNN_SCHEDULE
) -> list[tuple[float, int]]:
    """``schedule`` with its episode counts rescaled to ``n_episodes`` in all, shares kept."""
    counts = np.array([c for _, c in schedule], dtype=np.float64)
    cuts = np.rint(np.cumsum(counts) / counts.sum() * n_episodes).astype(int)
    sizes = np.diff(np.concatenate([[0], cuts]))
    return [(eps, int(n)) for (eps, _), n in zip(schedule, sizes)]


def epsilon_at(episode: int, schedule: list[tuple[float, int]]) -> float:
    """Epsilon of (0-based) ``episode``; past the end of the schedule its last epsilon holds."""
    end = 0
    for eps, n in schedule:
        end += n
        if episode < end:
            return eps
    return schedule[-1][0]


STATES = ("layer", "prefix")


def layer_state(prefix: tuple[int, ...]) -> tuple[int, ...]:
    """MetaQNN's state after the decisions ``prefix``: the depth and the last choice."""
    return (len(prefix), prefix[-1]) if prefix else (0,)


def prefix_state(prefix: tuple[int, ...]) -> tuple[int, ...]:
    """The whole tuple of earlier choices as the state."""
    return prefix


@dataclass(frozen=True)
class Trajectory:
    """One sampled architecture in the replay memory, with what its updates look up prepared once:
    the state before each decision and the options allowed at each decision."""

    actions: tuple[int, ...]
    states: tuple[tuple[int, ...], ...]
    allowed: tuple[tuple[int, ...], ...]
    reward: float


class QTable:
    """Q-values of a state (made from the decisions so far) -> one value per option, created at
    ``init`` on first sight. Rows are lists of Python floats: replay makes hundreds of updates per
    episode, one value at a time, where numpy's per-call overhead would dominate (the arithmetic is
    the same IEEE double arithmetic)."""

    def __init__(self, n_options: int, init: float = 0.5, state: str = "layer") -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; valid: {list(STATES)}")
        self.n_options, self.init = n_options, init
        self._key = layer_state if state == "layer" else prefix_state
        self._q: dict[tuple[int, ...], list[float]] = {}

    def __getitem__(self, prefix: tuple[int, ...]) -> list[float]:
        return self._row(self._key(prefix))

    def _row(self, state: tuple[int, ...]) -> list[float]:
        row = self._q.get(state)
        if row is None:
            row = self._q[state] = [float(self.init)] * self.n_options
        return row

    def __len__(self) -> int:
        return len(self._q)

    def trajectory(self, actions: tuple[int, ...], masks: np.ndarray, reward: float) -> Trajectory:
        """``actions`` taken under ``masks`` (``masks[t]``: the options allowed at step t), earning ``reward``."""
        states = tuple(self._key(tuple(actions[:t])) for t in range(len(actions)))
        allowed = tuple(tuple(np.flatnonzero(m).tolist()) for m in masks)
        return Trajectory(tuple(actions), states, allowed, float(reward))

    def update(self, traj: Trajectory, lr: float, gamma: float) -> None:
        """Q-learning updates of one episode, last transition first (MetaQNN's replay order).

        The max over the successor's actions is taken over its allowed options only.
        """
        T = len(traj.actions)
        for t in range(T - 1, -1, -1):
            if t == T - 1:
                target = traj.reward  # terminal: no successor state
            else:
                succ = self._row(traj.states[t + 1])
                target = gamma * max([succ[i] for i in traj.allowed[t + 1]])
            q = self._row(traj.states[t])
            a = traj.actions[t]
            q[a] = (1.0 - lr) * q[a] + lr * target

    def update_trajectory(
        self, actions: tuple[int, ...], masks: np.ndarray, reward: float, lr: float, gamma: float
    ) -> None:
        """:meth:`update` with the trajectory of ``actions``, ``masks`` and ``reward``."""
        self.update(self.trajectory(actions, masks, reward), lr, gamma)


@register("qlearning")
@dataclass
class QLearning:
    """MetaQNN-style tabular Q-learning with an epsilon schedule and whole-trajectory replay."""

    name: ClassVar[str] = "qlearning"
    families: ClassVar[tuple[str, ...]] = ("Seq",)

    lr: float = 0.01  # MetaQNN's Q-learning rate
    gamma: float = 1.0  # MetaQNN's discount
    q_init: float = 0.5  # MetaQNN's initial Q-value
    replay_batch: int = 100  # trajectories replayed after each episode (MetaQNN)
    schedule: tuple[tuple[float, int], ...] = METAQNN_SCHEDULE
    state: str = "layer"  # MetaQNN's (depth, last choice); "prefix": every earlier choice

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r}; valid: {list(STATES)}")

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        new_search(self, env)  # checks the family, empties the log the budget is counted on
        rng = seed_all(seed)
        base: Any = env.unwrapped
        n_episodes = budget.queries if budget.queries is not None else sum(n for _, n in self.schedule)
        plan = scaled_schedule(n_episodes, self.schedule)
        q = QTable(gym.spaces.flatdim(env.action_space), self.q_init, self.state)
        memory: list[Trajectory] = []
        log = search_log(env)
        env.reset(seed=seed)
        episode = 0
        while not budget.done(log):
            eps = epsilon_at(episode, plan)
            actions: list[int] = []
            masks = []
            done = False
            while not done:
                mask = np.asarray(base.action_masks(), dtype=bool)
                a = self._act(q[tuple(actions)], mask, eps, rng)
                _, reward, terminated, truncated, _ = env.step(a)
                actions.append(a)
                masks.append(mask)
                done = terminated or truncated
            memory.append(q.trajectory(tuple(actions), np.array(masks), float(reward)))
            for i in rng.integers(0, len(memory), size=self.replay_batch):
                q.update(memory[i], lr=self.lr, gamma=self.gamma)
            episode += 1
            env.reset()
        return SearchResult.from_log(self.name, seed, log, budget, q_states=len(q))

    @staticmethod
    def _act(q_values: list[float], mask: np.ndarray, eps: float, rng: np.random.Generator) -> int:
        """Epsilon-greedy among the allowed options; greedy ties are broken uniformly."""
        allowed = np.flatnonzero(mask)
        if rng.random() < eps:
            return int(rng.choice(allowed))
        values = np.asarray(q_values)[allowed]
        best = allowed[values == values.max()]
        return int(rng.choice(best))
