"""PPO with action masks on the Seq and Edit envs (Schulman et al. 2017), written for this suite.

Rollouts of ``n_steps`` transitions; advantages by GAE(gamma, lambda); then ``epochs`` passes of
minibatch updates of the clipped surrogate ``-E[min(rho A, clip(rho, 1 - eps, 1 + eps) A)]``
plus ``vf_coef`` times the value error minus ``ent_coef`` times the entropy. Invalid actions are
masked out of the softmax with the env's ``action_masks()`` both when acting and when the
stored transitions are re-evaluated, so no masked action is ever sampled and the ratio compares
the same distributions. Actor and critic are separate tanh MLPs (64, 64), as in the paper's
continuous-control experiments.

Defaults are the paper's Atari settings (discrete actions, Table 5): horizon 128, Adam 2.5e-4,
3 epochs, minibatch 32 (per actor), gamma 0.99, lambda 0.95, clip 0.1, value coefficient 1,
entropy coefficient 0.01; the paper's linear annealing of the learning rate and clip range over
training is left out, since a search has no fixed number of updates when its budget is in
simulated seconds. Gradients are clipped to norm 0.5 (OpenAI baselines' PPO).
On Seq one architecture takes ``n_decisions`` steps and the reward comes at the last; on Edit
every step is one query and the reward is the change of the named reward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .adam import Adam
from .base import Budget, SearchResult, new_search, register, search_log
from .common import adam, entropy, masked_log_softmax, mlp, plain_forward, sample_index, seed_all, torch_threads


def gae(
    rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_value: float, gamma: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates and returns of one rollout.

    ``dones[t]`` marks that transition t ended its episode, so no value is bootstrapped across it;
    ``last_value`` is the critic's value of the state after the last transition.
    """
    adv = np.zeros(len(rewards), dtype=np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        next_value = last_value if t == len(rewards) - 1 else values[t + 1]
        live = 1.0 - float(dones[t])
        delta = rewards[t] + gamma * next_value * live - values[t]
        running = delta + gamma * lam * live * running
        adv[t] = running
    return adv, adv + values


def clipped_surrogate(new_logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped policy loss ``-mean(min(rho A, clip(rho, 1 - clip, 1 + clip) A))``, rho = p_new / p_old."""
    ratio = torch.exp(new_logp - old_logp)
    return -torch.min(ratio * adv, torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv).mean()


@register("ppo")
@dataclass
class PPO:
    """Masked PPO-clip with GAE on a Seq or Edit env."""

    name: ClassVar[str] = "ppo"
    families: ClassVar[tuple[str, ...]] = ("Seq", "Edit")

    n_steps: int = 128  # horizon T (PPO paper, Atari)
    epochs: int = 3  # (Atari)
    minibatch: int = 32  # (Atari, per actor)
    lr: float = 2.5e-4  # Adam (Atari)
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.1  # (Atari)
    vf_coef: float = 1.0  # c1 (Atari)
    ent_coef: float = 0.01  # c2 (Atari)
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    threads: int | None = 1

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult:
        new_search(self, env)  # checks the family, empties the log the budget is counted on
        rng = seed_all(seed)
        with torch_threads(self.threads):
            n_obs = gym.spaces.flatdim(env.observation_space)
            n_act = gym.spaces.flatdim(env.action_space)  # Discrete(n): n
            actor = mlp(n_obs, self.hidden, n_act, act=nn.Tanh)
            critic = mlp(n_obs, self.hidden, 1, act=nn.Tanh)
            opt = adam([*actor.parameters(), *critic.parameters()], self.lr)
            log = search_log(env)
            obs, _ = env.reset(seed=seed)
            while not budget.done(log):
                rollout, obs = self._rollout(env, obs, actor, critic, rng, budget)
                if rollout is None:
                    break
                self._update(rollout, actor, critic, opt, rng)
        return SearchResult.from_log(self.name, seed, log, budget)

    def _rollout(
        self,
        env: gym.Env,
        obs: np.ndarray,
        actor: nn.Sequential,
        critic: nn.Sequential,
        rng: np.random.Generator,
        budget: Budget,
    ) -> tuple[dict[str, torch.Tensor] | None, np.ndarray]:
        """``n_steps`` masked transitions (None when the budget ran out first) and the next obs.

        The networks act through :func:`~.common.plain_forward`: per step, module dispatch would
        cost more than the arithmetic.
        """
        base: Any = env.unwrapped
        log = search_log(env)
        policy, value_of = plain_forward(actor), plain_forward(critic)
        cols: dict[str, list] = {k: [] for k in ("obs", "mask", "action", "logp", "value", "reward", "done")}
        with torch.no_grad():
            for _ in range(self.n_steps):
                mask = np.asarray(base.action_masks(), dtype=bool)
                x = torch.as_tensor(obs, dtype=torch.float32)
                logp = masked_log_softmax(policy(x), mask)
                value = float(value_of(x))
                a = sample_index(logp.exp().numpy(), rng)
                next_obs, reward, terminated, truncated, _ = env.step(a)
                done = bool(terminated or truncated)
                for k, v in zip(cols, (obs, mask, a, float(logp.numpy()[a]), value, float(reward), done)):
                    cols[k].append(v)
                if budget.done(log):  # before a reset: an Edit env's reset queries its start
                    return None, next_obs
                obs = env.reset()[0] if done else next_obs
            last_value = float(value_of(torch.as_tensor(obs, dtype=torch.float32)))
        adv, ret = gae(
            np.array(cols["reward"]),
            np.array(cols["value"]),
            np.array(cols["done"]),
            last_value,
            self.gamma,
            self.gae_lambda,
        )
        batch = {
            "obs": torch.as_tensor(np.array(cols["obs"]), dtype=torch.float32),
            "mask": torch.as_tensor(np.array(cols["mask"])),
            "action": torch.as_tensor(np.array(cols["action"])),
            "logp": torch.as_tensor(np.array(cols["logp"]), dtype=torch.float32),
            "adv": torch.as_tensor(adv, dtype=torch.float32),
            "ret": torch.as_tensor(ret, dtype=torch.float32),
        }
        return batch, obs

    def _update(
        self,
        b: dict[str, torch.Tensor],
        actor: nn.Module,
        critic: nn.Module,
        opt: Adam,
        rng: np.random.Generator,
    ) -> None:
        """``epochs`` passes of shuffled minibatch steps on the clipped objective."""
        n = len(b["action"])
        params = [*actor.parameters(), *critic.parameters()]
        for _ in range(self.epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.minibatch):
                i = torch.as_tensor(order[start : start + self.minibatch])
                logp_all = masked_log_softmax(actor(b["obs"][i]), b["mask"][i])
                new_logp = logp_all.gather(1, b["action"][i, None]).squeeze(1)
                adv = b["adv"][i]
                if len(i) > 1:  # per-minibatch normalisation, as the reference implementations do
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                value = critic(b["obs"][i]).squeeze(-1)
                loss = (
                    clipped_surrogate(new_logp, b["logp"][i], adv, self.clip)
                    + self.vf_coef * 0.5 * ((value - b["ret"][i]) ** 2).mean()
                    - self.ent_coef * entropy(logp_all).mean()
                )
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, self.max_grad_norm)
                opt.step()
