"""REINFORCE on the Seq env: Zoph & Le's LSTM controller, and NAS-Bench-201's categorical policy.

One episode builds one architecture, one decision per step, and earns the env's named reward R
at the last step. The policy gradient of Williams (1992) as NAS-RL uses it (survey seed and the
AutoML slides: ``sum_t grad log P(a_t | a_(t-1):1) (R - b)``, averaged over m architectures) is
followed with a moving-average baseline b and an optional entropy bonus; invalid options are
masked out of each softmax with the env's ``action_masks()``.

- ``reinforce``: Zoph & Le (2017). A two-layer LSTM with 35 units per layer, weights uniform in
  [-0.08, 0.08], Adam with learning rate 6e-4; at each step the input is the embedding of the
  previous choice (a learned start token at the first step) and a softmax head per decision
  reads the output. b is an exponential moving average of the *previous* architectures' rewards.
  Zoph & Le leave its decay and the entropy term open; we take ENAS's (Pham et al. 2018) values,
  decay 0.99 and entropy weight 1e-4.
- ``reinforce-cat``: the REINFORCE baseline of the NAS-Bench-201 paper (Dong & Yang 2020, their
  public code): independent logits per decision, initialised N(0, 1e-3^2), softmax over options,
  Adam with learning rate 0.01 (NATS-Bench's runs; NAS-Bench-201's script used 0.001), and a
  bias-corrected exponential moving average baseline with momentum 0.9 that already includes
  the current reward; no entropy term. Their time budgets charge 12-epoch training and buy about
  180 queries; docs/agents.md compares it with random search at such budgets.

Both update after every ``batch_size`` architectures (m = 1 by default, so that budgets of a few
hundred queries still give hundreds of updates). An architecture is sampled decision by decision
without gradients; its log-probability and entropy for the update come from one pass of the
policy over the sampled sequence (for the LSTM, one call over all steps): the same values, and
a third of the work of keeping every decision's graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .base import Budget, SearchResult, new_search, register, search_log
from .common import MovingAverage, adam, entropy, masked_log_softmax, sample_index, seed_all, torch_threads

State = Any  # the policy's recurrent state (None for the categorical policy)


class LSTMController(nn.Module):
    """Zoph & Le's controller: each step embeds the previous choice, runs the LSTM, reads a head."""

    def __init__(self, n_decisions: int, n_options: int, hidden: int = 35, layers: int = 2, init_range: float = 0.08):
        super().__init__()
        self.n_options = n_options
        # One embedding per (decision, option) of the previous step, plus the start token (last row).
        self.embed = nn.Embedding(n_decisions * n_options + 1, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers)
        self.heads = nn.ModuleList(nn.Linear(hidden, n_options) for _ in range(n_decisions))
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range)

    def forward(self, t: int, prev: int | None, state: State) -> tuple[torch.Tensor, State]:
        """Logits of decision ``t`` after choice ``prev`` at decision ``t - 1``; the LSTM's new state."""
        out, state = self.lstm(self.embed(torch.tensor([[self._token(t, prev)]])), state)
        return self.heads[t](out[0, 0]), state

    def sequence(self, choices: list[int]) -> torch.Tensor:
        """Logits of every decision (rows) when the choices were ``choices``: one LSTM call over the
        whole sequence, the same floats as :meth:`forward` decision by decision."""
        tokens = [self._token(t, choices[t - 1] if t else None) for t in range(len(choices))]
        out, _ = self.lstm(self.embed(torch.tensor(tokens)[:, None]))
        return torch.stack([head(out[t, 0]) for t, head in enumerate(self.heads[: len(choices)])])

    def _token(self, t: int, prev: int | None) -> int:
        """The embedding row of choice ``prev`` at decision ``t - 1`` (the start token when None)."""
        return self.embed.num_embeddings - 1 if prev is None else (t - 1) * self.n_options + prev


class CategoricalPolicy(nn.Module):
    """Independent logits per decision (NAS-Bench-201's REINFORCE policy); ignores the history."""

    def __init__(self, n_decisions: int, n_options: int, init_std: float = 1e-3):
        super().__init__()
        self.logits = nn.Parameter(init_std * torch.randn(n_decisions, n_options))

    def forward(self, t: int, prev: int | None, state: State) -> tuple[torch.Tensor, State]:
        return self.logits[t], state

    def sequence(self, choices: list[int]) -> torch.Tensor:
        return self.logits[: len(choices)]


@register("reinforce")
@dataclass
class Reinforce:
    """REINFORCE with Zoph & Le's LSTM controller on a Seq env."""

    name: ClassVar[str] = "reinforce"
    families: ClassVar[tuple[str, ...]] = ("Seq",)

    policy: str = "lstm"  # "lstm" (Zoph & Le) or "categorical" (NAS-Bench-201)
    lr: float = 6e-4  # Zoph & Le
    hidden: int = 35  # LSTM units per layer (Zoph & Le)
    layers: int = 2  # (Zoph & Le)
    init_range: float = 0.08  # uniform weight init (Zoph & Le)
    baseline_decay: float = 0.99  # EMA decay of b (ENAS; Zoph & Le give none)
    baseline_includes_current: bool = False  # b from previous rewards only (Zoph & Le)
    entropy_coef: float = 1e-4  # entropy bonus weight (ENAS)
    batch_size: int = 1  # m architectures per update
    threads: int | None = 1

    def _policy(self, n_decisions: int, n_options: int) -> nn.Module:
        if self.policy == "lstm":
            return LSTMController(n_decisions, n_options, self.hidden, self.layers, self.init_range)
        if self.policy == "categorical":
            return CategoricalPolicy(n_decisions, n_options)
        raise ValueError(f"unknown policy {self.policy!r}; valid: ['lstm', 'categorical']")

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        new_search(self, env)  # checks the family, empties the log the budget is counted on
        rng = seed_all(seed)
        with torch_threads(self.threads):
            base = env.unwrapped
            policy = self._policy(base.space.n_decisions, int(env.action_space.n))
            opt = adam(policy.parameters(), self.lr)
            baseline = MovingAverage(self.baseline_decay)
            log = search_log(env)
            env.reset(seed=seed)
            losses: list[torch.Tensor] = []
            while not budget.done(log):
                choices, masks, reward = self._episode(env, policy, rng)
                logp, ent = log_prob_entropy(policy, choices, masks)
                b = self._baseline(baseline, reward)
                losses.append(-(reward - b) * logp - self.entropy_coef * ent)
                if len(losses) == self.batch_size:
                    opt.zero_grad()
                    torch.stack(losses).mean().backward()
                    opt.step()
                    losses = []
                env.reset()
        return SearchResult.from_log(self.name, seed, log, budget)

    def _baseline(self, baseline: MovingAverage, reward: float) -> float:
        """b for this episode; the first episode's b is its own reward (no update from it)."""
        if self.baseline_includes_current:
            baseline.update(reward)
            return baseline.value
        b = baseline.value
        baseline.update(reward)
        return reward if np.isnan(b) else b

    def _episode(
        self, env: gym.Env, policy: nn.Module, rng: np.random.Generator
    ) -> tuple[list[int], np.ndarray, float]:
        """Sample one architecture: its choices, the masks they were drawn under, its reward.

        Sampling needs no gradient; :func:`log_prob_entropy` computes the differentiable terms
        afterwards in one pass over the sequence.
        """
        base = env.unwrapped
        state: State = None
        prev: int | None = None
        choices, masks = [], []
        with torch.no_grad():
            for t in range(base.space.n_decisions):
                logits, state = policy(t, prev, state)
                mask = np.asarray(base.action_masks(), dtype=bool)
                prev = sample_index(masked_log_softmax(logits, mask).exp().numpy(), rng)
                choices.append(prev)
                masks.append(mask)
                _, reward, terminated, truncated, _ = env.step(prev)
        if not terminated:
            raise RuntimeError("the Seq episode did not end after its last decision")
        return choices, np.array(masks), float(reward)


def log_prob_entropy(policy: nn.Module, choices: list[int], masks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probability of ``choices`` under ``policy`` and summed entropy of its decisions,
    each decision's softmax restricted to its row of ``masks``; differentiable."""
    logp = masked_log_softmax(policy.sequence(choices), masks)
    return logp[torch.arange(len(choices)), choices].sum(), entropy(logp).sum()


@register("reinforce-cat")
@dataclass
class ReinforceCategorical(Reinforce):
    """REINFORCE with independent per-decision softmaxes: the NAS-Bench-201 paper's baseline."""

    name: ClassVar[str] = "reinforce-cat"

    policy: str = "categorical"
    lr: float = 0.01  # NATS-Bench's scripts (NAS-Bench-201's used 0.001)
    baseline_decay: float = 0.9  # EMA momentum (NAS-Bench-201 code)
    baseline_includes_current: bool = True  # their EMA is updated before the advantage is taken
    entropy_coef: float = 0.0
