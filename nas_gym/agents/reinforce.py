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
  Adam with learning rate 0.01 (NATS-Bench's scripts; the command NAS-Bench-201's documentation
  gives for its paper's runs passes 0.5, and a stale comment in that script 0.001), and a
  bias-corrected exponential moving average baseline with momentum 0.9 that already includes
  the current reward; no entropy term. Their searches read 12-epoch results (``fidelity=12`` on
  the official file) under time budgets that buy about 109 / 55 / 18 (NAS-Bench-201) or 180
  (NATS-Bench) queries; docs/agents.md compares it with random search at such budgets.

Both update after every ``batch_size`` architectures (m = 1 by default, so that budgets of a few
hundred queries still give hundreds of updates). An architecture is sampled decision by decision
from the policy evaluated in float64 numpy on a copy of its current weights (about a tenth of the
cost of a torch call per decision), with the draws torch's float32 probabilities give (see
:func:`draw`); its log-probability and entropy for the update come from one torch pass of the
policy over the sampled sequence (for the LSTM, one call over all steps): the same values, and a
third of the work of keeping every decision's graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .base import Budget, SearchResult, new_search, register, search_log
from .common import MASKED_LOGIT, MovingAverage, adam, entropy, index_at, masked_log_softmax, seed_all, torch_threads

State = Any  # the policy's recurrent state (None for the categorical policy)

# A draw is read from the numpy probabilities unless u lies within this fraction of the total of
# one of their cumulative boundaries; float32 rounding moves the boundaries by about 1e-7.
SAFE_MARGIN = 1e-4


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

    def numpy_policy(self) -> NumpyLSTMController:
        """This policy's forward in numpy, for sampling (see :func:`draw`)."""
        return NumpyLSTMController(self)


class NumpyLSTMController:
    """:meth:`LSTMController.forward` in float64 numpy, decision by decision (PyTorch's LSTM: gates
    i, f, g, o; ``c = f c + i g``, ``h = o tanh(c)``; zero initial state).

    It holds numpy views of the controller's parameters, which the optimiser updates in place, and
    :meth:`episode` copies their current values.
    """

    def __init__(self, net: LSTMController):
        lstm = net.lstm
        self._token, self._hidden, self._layers = net._token, lstm.hidden_size, lstm.num_layers
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        tensors = [
            net.embed.weight,
            *(getattr(lstm, f"{name}_l{k}") for k in range(self._layers) for name in names),
            *(x for head in net.heads for x in (head.weight, head.bias)),
        ]
        self._views = [x.detach().numpy() for x in tensors]

    def episode(self) -> NumpyLSTMController:
        """Start an episode: the current weights in float64, the zero state."""
        embed, *rest = (v.astype(np.float64) for v in self._views)
        layers = [rest[4 * k : 4 * k + 4] for k in range(self._layers)]
        self._w_ih = [w_ih.T for w_ih, _, _, _ in layers]
        self._w_hh = [w_hh.T for _, w_hh, _, _ in layers]
        self._b = [b_ih + b_hh for _, _, b_ih, b_hh in layers]
        # the first layer's input is an embedding row: its input term for every token at once
        self._inputs = embed @ self._w_ih[0] + self._b[0]
        heads = rest[4 * self._layers :]
        self._heads = [(w.T, b) for w, b in zip(heads[::2], heads[1::2])]
        self._h = np.zeros((self._layers, self._hidden))
        self._c = np.zeros((self._layers, self._hidden))
        return self

    def __call__(self, t: int, prev: int | None) -> np.ndarray:
        """Logits of decision ``t`` after choice ``prev``; call for t = 0, 1, ... in order."""
        n = self._hidden
        x = self._inputs[self._token(t, prev)]
        for k in range(self._layers):
            gates = (x if k == 0 else x @ self._w_ih[k] + self._b[k]) + self._h[k] @ self._w_hh[k]
            s = 1.0 / (1.0 + np.exp(-gates))
            self._c[k] = s[n : 2 * n] * self._c[k] + s[:n] * np.tanh(gates[2 * n : 3 * n])
            self._h[k] = x = s[3 * n :] * np.tanh(self._c[k])
        w, b = self._heads[t]
        return x @ w + b


class CategoricalPolicy(nn.Module):
    """Independent logits per decision (NAS-Bench-201's REINFORCE policy); ignores the history."""

    def __init__(self, n_decisions: int, n_options: int, init_std: float = 1e-3):
        super().__init__()
        self.logits = nn.Parameter(init_std * torch.randn(n_decisions, n_options))

    def forward(self, t: int, prev: int | None, state: State) -> tuple[torch.Tensor, State]:
        return self.logits[t], state

    def sequence(self, choices: list[int]) -> torch.Tensor:
        return self.logits[: len(choices)]

    def numpy_policy(self) -> NumpyCategoricalPolicy:
        """This policy's forward in numpy, for sampling (see :func:`draw`)."""
        return NumpyCategoricalPolicy(self)


class NumpyCategoricalPolicy:
    """:meth:`CategoricalPolicy.forward` in float64 numpy, on a view of its logits (updated in place)."""

    def __init__(self, policy: CategoricalPolicy):
        self._view = policy.logits.detach().numpy()

    def episode(self) -> NumpyCategoricalPolicy:
        """Start an episode: the current logits in float64."""
        self._logits = self._view.astype(np.float64)
        return self

    def __call__(self, t: int, prev: int | None) -> np.ndarray:
        return self._logits[t]


Policy = LSTMController | CategoricalPolicy


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

    def _policy(self, n_decisions: int, n_options: int) -> Policy:
        if self.policy == "lstm":
            return LSTMController(n_decisions, n_options, self.hidden, self.layers, self.init_range)
        if self.policy == "categorical":
            return CategoricalPolicy(n_decisions, n_options)
        raise ValueError(f"unknown policy {self.policy!r}; valid: ['lstm', 'categorical']")

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        new_search(self, env)  # checks the family, empties the log the budget is counted on
        rng = seed_all(seed)
        with torch_threads(self.threads):
            base: Any = env.unwrapped
            policy = self._policy(base.space.n_decisions, gym.spaces.flatdim(env.action_space))
            sampler = policy.numpy_policy()
            opt = adam(policy.parameters(), self.lr)
            baseline = MovingAverage(self.baseline_decay)
            log = search_log(env)
            env.reset(seed=seed)
            losses: list[torch.Tensor] = []
            while not budget.done(log):
                choices, masks, reward = self._episode(env, policy, sampler.episode(), rng)
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
        self,
        env: gym.Env,
        policy: Policy,
        logits_of: Callable[[int, int | None], np.ndarray],
        rng: np.random.Generator,
    ) -> tuple[list[int], np.ndarray, float]:
        """Sample one architecture: its choices, the masks they were drawn under, its reward.

        ``logits_of(t, prev)`` is the policy's forward in numpy; :func:`draw` makes each draw the
        one ``policy``'s torch probabilities give. Sampling needs no gradient;
        :func:`log_prob_entropy` computes the differentiable terms afterwards in one pass over the
        sequence.
        """
        base: Any = env.unwrapped
        prev: int | None = None
        choices: list[int] = []
        masks: list[np.ndarray] = []
        for t in range(base.space.n_decisions):
            mask = np.asarray(base.action_masks(), dtype=bool)
            z = np.where(mask, logits_of(t, prev), MASKED_LOGIT)
            probs = np.exp(z - z.max())
            prev = draw(probs, rng.random(), partial(torch_probs, policy, choices, mask))
            choices.append(prev)
            masks.append(mask)
            _, reward, terminated, truncated, _ = env.step(prev)
        if not terminated:
            raise RuntimeError("the Seq episode did not end after its last decision")
        return choices, np.array(masks), float(reward)


def draw(probs: np.ndarray, u: float, exact: Callable[[], np.ndarray], margin: float = SAFE_MARGIN) -> int:
    """The option :func:`~.common.index_at` selects with ``u`` from the probabilities ``exact()``
    returns, read from ``probs`` (unnormalised) wherever that cannot change it.

    ``probs`` are the policy's probabilities in float64 numpy; ``exact()`` returns the float32 ones
    of its torch forward (:func:`torch_probs`), which define the draws (the pinned seeded searches
    were recorded with them). The two differ by float32 rounding, so their cumulative sums, as
    fractions of the total, differ by about 1e-7, far less than ``margin``: where ``u`` lies
    farther than ``margin`` from every cumulative boundary of ``probs``, it falls between the same
    two boundaries of both, and both select the same option (one of positive probability).
    Otherwise the draw is taken from ``exact()`` with the same ``u``, so a seeded search makes the
    torch draws from the same random numbers.
    """
    c = np.cumsum(probs)
    x = u * c[-1]
    if np.abs(c - x).min() > margin * c[-1]:
        return int(np.searchsorted(c, x, side="right"))
    return index_at(exact(), u)


def torch_probs(policy: Policy, choices: list[int], mask: np.ndarray) -> np.ndarray:
    """Probabilities of decision ``len(choices)`` after ``choices``, under ``mask``, as the torch
    forward decision by decision from the start of the episode computes them (float32)."""
    state: State = None
    with torch.no_grad():
        for t in range(len(choices) + 1):
            logits, state = policy(t, choices[t - 1] if t else None, state)
        return masked_log_softmax(logits, mask).exp().numpy()


def log_prob_entropy(policy: Policy, choices: list[int], masks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
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
    lr: float = 0.01  # NATS-Bench's scripts (NAS-Bench-201's documented command: 0.5)
    baseline_decay: float = 0.9  # EMA momentum (NAS-Bench-201 code)
    baseline_includes_current: bool = True  # their EMA is updated before the advantage is taken
    entropy_coef: float = 0.0
