"""ENAS (Pham et al. 2018): an LSTM controller samples children of the shared supernet and learns
by REINFORCE from their accuracy on a validation batch under the shared weights.

The controller emits one decision per step: its input is the embedding of the previous choice,
its output the logits of the current decision's options (masked), bounded as ENAS does by
``c * tanh(logits)``. Weights train on a child sampled by the controller; an
architecture step samples another child, takes its validation-batch accuracy as the reward, and
moves the controller along ``(R - b) grad log p(a) + lambda * entropy`` with an exponential
moving-average baseline b. Defaults from ENAS's micro search (the authors' code and script):
a two-layer LSTM of 32 units, no temperature, tanh constant 1.10 reduced by 2.5 for op choices
(c = 0.44), baseline decay 0.99, entropy weight 1e-4, Adam lr 3.5e-3. ENAS keeps the best child it sampled (the process best, ``reports="process"``); the
controller's greedy decoding is its recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ...supernets.paths import Path, single_path
from ..base import register
from .loop import OneShotAgent, Supernet, valid


class Controller(nn.Module):
    """ENAS's sequential sampler: a stacked LSTM over the decisions, one linear head each."""

    def __init__(self, mask: Tensor, hidden: int, layers: int, tanh_c: float) -> None:
        super().__init__()
        E, O = mask.shape
        self.register_buffer("mask", mask.clone())
        self.start = nn.Parameter(torch.zeros(1, 1, hidden))
        self.embed = nn.Embedding(O, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers)
        self.heads = nn.ModuleList(nn.Linear(hidden, O) for _ in range(E))
        self.tanh_c = tanh_c

    def forward(self, rng: np.random.Generator | None) -> tuple[np.ndarray, Tensor, Tensor]:
        """Codes (sampled from ``rng``, or greedy when None), their total log-probability and entropy."""
        inp, state = self.start, None
        codes, logp, ent = [], torch.zeros(()), torch.zeros(())
        for e, head in enumerate(self.heads):
            out, state = self.lstm(inp, state)
            logits = self.tanh_c * torch.tanh(head(out[0, 0]))
            logits = torch.where(self.mask[e], logits, torch.full_like(logits, -1e9))
            log_probs = torch.log_softmax(logits, -1)
            p = log_probs.detach().exp().double().numpy()
            k = int(p.argmax()) if rng is None else int(min((np.cumsum(p) < rng.random() * p.sum()).sum(), len(p) - 1))
            codes.append(k)
            logp = logp + log_probs[k]
            ent = ent - (log_probs.exp() * log_probs).sum()
            inp = self.embed(torch.tensor([[k]]))
        return np.array(codes, dtype=np.int64), logp, ent


@register("enas")
@dataclass
class ENAS(OneShotAgent):
    """ENAS: LSTM controller trained by REINFORCE on the shared weights' validation accuracy."""

    name: ClassVar[str] = "enas"
    reports: ClassVar[str] = "process"

    hidden: int = 32
    layers: int = 2
    tanh_c: float = 1.10 / 2.5  # ENAS's tanh constant over its op_tanh_reduce: every decision here is an op
    baseline_decay: float = 0.99
    entropy_weight: float = 1e-4
    a_lr: float = 3.5e-3

    def setup(self, sn: Supernet) -> None:
        self.controller = Controller(sn.mask.cpu(), self.hidden, self.layers, self.tanh_c)
        self.a_opt = torch.optim.Adam(self.controller.parameters(), lr=self.a_lr)
        self.baseline: float | None = None
        self.last = self.controller(None)[0]

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        with torch.no_grad():
            codes = self.controller(rng)[0]
        return single_path(codes, sn.mask.shape[1])

    def arch_step(self, sn: Supernet, x: Tensor, y: Tensor, rng: np.random.Generator, t: float) -> None:
        codes, logp, ent = self.controller(rng)
        path = single_path(codes, sn.mask.shape[1])
        with torch.no_grad():
            sn.net.train()  # batch statistics, as ENAS's child evaluation in training mode
            reward = float((sn.net(x, path).argmax(1) == y).float().mean())
        sn.charge(path, len(y), backward=False)
        b = reward if self.baseline is None else self.baseline
        self.baseline = self.baseline_decay * b + (1 - self.baseline_decay) * reward
        self.a_opt.zero_grad(set_to_none=True)
        (-(reward - b) * logp - self.entropy_weight * ent).backward()
        self.a_opt.step()
        self.last = codes

    def propose(self, sn: Supernet, rng: np.random.Generator) -> np.ndarray:
        return valid(sn, self.last, sn.mask.float())

    def recommend(self, sn: Supernet) -> np.ndarray:
        with torch.no_grad():
            return valid(sn, self.controller(None)[0], sn.mask.float())
