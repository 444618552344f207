"""DDPG with DDAS's exploration schedule (Mills 2020 thesis, chapter 3) on the Cont env.

State s_t is the previous architecture's one-hot (the Cont env's ``obs="previous"``; Algorithm 1
returns s_t+1 = alpha^d_t), the action alpha_t = mu(s_t) + Z_t (eq. 3.1) a whole architecture.
The critic Q(s, a) is fitted to r + gamma Q'(s', mu'(s')) with target networks (eq. 3.4) and
the actor maximises Q(s, mu(s)) (eq. 3.5), one batch per step.

Exploration (section 3.1.3 and Table 3.3), in phases:

1. *explore*: uniform random alpha in U(0, 1)^(E x O); the networks are neither used nor trained;
2. *exploit*: Z_t ~ N(0, 0.05) (DDAS-G) or U(-1e-5, 1e-5) (DDAS-NL);
3. *4S* (DDAS-4S only): no noise, except that after T_stag = 32 similar architectures in a row an
   Ornstein-Uhlenbeck burst is added for the next T_stag steps; the replay buffer then holds only
   the experiences of the last phase-length steps.

Two architectures are similar when fewer than 6 of the 16 activated operation-edge pairs of the
DARTS normal and reduction cells differ; for another space we keep that share, fewer than
6/16 of the decisions (so at most 2 of NAS-Bench-201's 6 edges). Table 3.3 runs 500 steps per
phase (1,500 in all); the phases here are thirds of the query budget (``explore_frac``,
``exploit_frac``). ``noise="g"`` or ``"nl"`` run an exploit phase to the end instead of 4S.

Hyperparameters (section 3.4.2): actor and critic MLPs with three hidden layers of 256 ReLU
units, sigmoid actor output, Adam betas (0.9, 0.99) with learning rates 1e-4 (actor) and 1e-3
(critic), target mixing 1e-3 per step, batches of 64, discount 0.99, a 1e6 buffer.

The networks (and their target copies) are :class:`~nas_gym.agents.manual_mlp.ManualMLP`: the
floats of autograd and ``torch.optim.Adam``, with fewer torch calls.

DDAS's reward (eq. 3.3) has a validation-loss term only a supernet can supply; on tabular
benchmarks the agent learns from the env's named reward. ``learn=False`` keeps the networks at
their random initialisation: the same phases and noise around a fixed actor, the control that
tells what the reward (through learning) adds to the exploration schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .base import Budget, SearchResult, new_search, register, search_log
from .common import (
    ReplayBuffer,
    alpha_to_action,
    check_cont,
    mlp,
    planned_queries,
    seed_all,
    step_cont,
    torch_threads,
)
from .exploration import OrnsteinUhlenbeck
from .manual_mlp import ManualMLP, mean_grad

NOISES = ("4s", "g", "nl")


class StagnationDetector:
    """DDAS-4S's trigger: ``t_stag`` similar architectures in a row switch a burst on for ``t_stag`` steps."""

    def __init__(self, t_stag: int, max_differ: float) -> None:
        self.t_stag, self.max_differ = t_stag, max_differ
        self.run = 0  # similar steps in a row
        self.burst_left = 0

    def observe(self, n_differ: int) -> bool:
        """Record how many decisions changed since the previous step; True when a burst starts."""
        if self.burst_left > 0:
            self.burst_left -= 1
            return False
        self.run = self.run + 1 if n_differ < self.max_differ else 0
        if self.run >= self.t_stag:
            self.run, self.burst_left = 0, self.t_stag
            return True
        return False

    @property
    def bursting(self) -> bool:
        return self.burst_left > 0


@register("ddpg")
@dataclass
class DDPG:
    """DDPG / DDAS on a Cont env made with ``obs="previous"``."""

    name: ClassVar[str] = "ddpg"
    families: ClassVar[tuple[str, ...]] = ("Cont",)

    noise: str = "4s"  # "4s" (DDAS-4S), "g" (DDAS-G) or "nl" (DDAS-NL): Table 3.3
    explore_frac: float = 1 / 3  # 500 of 1,500 steps (Table 3.3)
    exploit_frac: float = 1 / 3  # 500 of 1,500 steps for 4S (Table 3.3)
    gauss_std: float = 0.05  # N(0, 0.05) (DDAS-G / 4S)
    nl_noise: float = 1e-5  # U(-1e-5, 1e-5) (DDAS-NL)
    t_stag: int = 32  # (3.2.1)
    similar_share: float = 6 / 16  # fewer than 6 of 16 activated pairs differ (3.2.1)
    ou_theta: float = 0.15  # OU parameters (Lillicrap et al.; the thesis gives none)
    ou_sigma: float = 0.2
    hidden: tuple[int, ...] = (256, 256, 256)  # (3.4.2)
    actor_lr: float = 1e-4  # (3.4.2)
    critic_lr: float = 1e-3  # (3.4.2)
    betas: tuple[float, float] = (0.9, 0.99)  # (3.4.2)
    target_mix: float = 1e-3  # (3.4.2)
    batch_size: int = 64  # (3.4.2)
    gamma: float = 0.99  # (3.4.2)
    buffer_size: int = 1_000_000  # (3.4.2)
    learn: bool = True  # False: the networks are never trained (a control: the same exploration, a fixed random actor)
    threads: int | None = 1

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        new_search(self, env)  # checks the family, empties the log the budget is counted on
        check_cont(env, budget, self.name, obs="previous")
        if self.noise not in NOISES:
            raise ValueError(f"unknown noise {self.noise!r}; valid: {list(NOISES)}")
        rng = seed_all(seed)
        with torch_threads(self.threads):
            return self._search(env, budget, seed, rng)

    def _search(self, env: gym.Env, budget: Budget, seed: int, rng: np.random.Generator) -> SearchResult:
        n = gym.spaces.flatdim(env.action_space)
        base: Any = env.unwrapped
        n_decisions = base.space.n_decisions
        total = planned_queries(budget, env, 1500)
        n_explore = round(self.explore_frac * total)
        n_exploit = total if self.noise != "4s" else round(self.exploit_frac * total)
        window = max(total - n_explore - n_exploit, self.batch_size)  # phase-4 replay window
        # Trained by hand: the floats autograd and torch's Adam give, with fewer torch calls
        actor_net, critic_net = mlp(n, self.hidden, n, out_act=nn.Sigmoid()), mlp(2 * n, self.hidden, 1)
        actor = ManualMLP(actor_net, self.actor_lr, self.betas)
        critic = ManualMLP(critic_net, self.critic_lr, self.betas)
        actor_t, critic_t = ManualMLP(actor_net, 0.0, self.betas), ManualMLP(critic_net, 0.0, self.betas)  # targets
        buffer = ReplayBuffer(min(self.buffer_size, total + 1), s=(n,), a=(n,), r=(), s2=(n,), done=())
        ou = OrnsteinUhlenbeck(n, rng, self.ou_theta, self.ou_sigma)
        stag = StagnationDetector(self.t_stag, self.similar_share * n_decisions)
        log = search_log(env)
        obs, _ = env.reset(seed=seed)
        step = 0
        while not budget.done(log):
            phase4 = self.noise == "4s" and step >= n_explore + n_exploit
            if phase4 and step == n_explore + n_exploit:
                buffer.truncate(window)
            if step < n_explore:
                alpha = rng.random(n)
            else:
                alpha = actor(torch.as_tensor(obs, dtype=torch.float32)).numpy().astype(np.float64)
                alpha = alpha + self._noise(phase4, stag, ou, rng, n)
            next_obs, reward, done, start, _ = step_cont(env, alpha_to_action(alpha))
            buffer.add(s=obs, a=alpha, r=reward, s2=next_obs, done=float(done))
            if phase4 and stag.observe(n_decisions - int(round(float(np.dot(obs, next_obs))))):
                ou.reset()
            obs, step = start, step + 1
            if step > n_explore and self.learn:
                self._train(buffer.sample(self.batch_size, rng), actor, critic, actor_t, critic_t)
        return SearchResult.from_log(self.name, seed, log, budget)

    def _noise(
        self, phase4: bool, stag: StagnationDetector, ou: OrnsteinUhlenbeck, rng: np.random.Generator, n: int
    ) -> np.ndarray:
        """Z_t of the current phase (Table 3.3)."""
        if phase4:
            return ou.sample() if stag.bursting else np.zeros(n)
        if self.noise == "nl":
            return rng.uniform(-self.nl_noise, self.nl_noise, n)
        return rng.normal(0.0, self.gauss_std, n)

    def _train(
        self, b: dict[str, torch.Tensor], actor: ManualMLP, critic: ManualMLP, actor_t: ManualMLP, critic_t: ManualMLP
    ) -> None:
        """One DDPG update (eqs. 3.4 and 3.5) and the soft target update."""
        q_next = critic_t(torch.cat([b["s2"], actor_t(b["s2"])], dim=1)).squeeze(-1)
        target = b["r"] + self.gamma * (1.0 - b["done"]) * q_next
        q, acts = critic.forward(torch.cat([b["s"], b["a"]], dim=1))
        d = q.squeeze(-1) - target
        critic.backward(acts, (mean_grad(d) * (2.0 * d)).unsqueeze(-1))  # d mean(d^2) / dq, as autograd has it
        critic.step()
        mu, actor_acts = actor.forward(b["s"])
        q, acts = critic.forward(torch.cat([b["s"], mu], dim=1))
        # the loss is -mean Q; the critic is frozen here: the gradient of its input, the action's half
        actor.backward(actor_acts, critic.backward(acts, -mean_grad(q), weights=False)[:, mu.shape[1] :])
        actor.step()
        actor_t.track(actor, self.target_mix)
        critic_t.track(critic, self.target_mix)
