"""ENAS (Pham et al. 2018): an LSTM controller samples children of the shared supernet and learns
by REINFORCE from their accuracy on a validation batch under the shared weights.

The controller emits one decision per step: its input is the embedding of the previous choice,
its output the logits of the current decision's options (masked), bounded as ENAS does by
``c * tanh(logits)``. Weights train on a child sampled by the controller; an architecture step
samples another child and, as the authors' controller, takes as its reward R the child's
validation-batch accuracy plus ``lambda`` times the entropy of the decisions that sampled it (a
bonus without gradient), moves the exponential moving-average baseline b (from 0) toward R
first, and then the controller along ``(R - b) grad log p(a)``. Defaults from ENAS's micro
search (the authors' code and script): a two-layer LSTM of 32 units, no temperature, tanh
constant 1.10 reduced by 2.5 for op choices (c = 0.44), baseline decay 0.99, entropy weight
1e-4, Adam lr 3.5e-3. ENAS keeps the best child it sampled (the process best,
``reports="process"``); the controller's greedy decoding is its recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ...supernets.paths import Path, single_path
from ..base import register
from ..common import entropy, masked_log_softmax, sample_index
from .loop import Batch, OneShotAgent, Supernet, valid


class Controller(nn.Module):
    """ENAS's sequential sampler: a stacked LSTM over the decisions, one linear head each."""

    mask: Tensor  # (E, O) bool buffer

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
        """Codes (sampled from ``rng``, or greedy when None), their total log-probability and the
        summed entropy of the decisions that drew them."""
        inp, state = self.start, None
        codes, logp, ent = [], torch.zeros(()), torch.zeros(())
        for e, head in enumerate(self.heads):
            out, state = self.lstm(inp, state)
            log_probs = masked_log_softmax(self.tanh_c * torch.tanh(head(out[0, 0])), self.mask[e])
            k = int(log_probs.argmax()) if rng is None else sample_index(log_probs.exp(), rng)
            codes.append(k)
            logp = logp + log_probs[k]
            ent = ent + entropy(log_probs)
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
        self.baseline = 0.0

    def weight_path(self, sn: Supernet, rng: np.random.Generator, t: float) -> Path:
        with torch.no_grad():
            codes = self.controller(rng)[0]
        return single_path(codes, sn.mask.shape[1])

    def arch_step(
        self,
        sn: Supernet,
        x: Tensor,
        y: Tensor,
        rng: np.random.Generator,
        t: float,
        train: Batch | None = None,
        w_opt: torch.optim.SGD | None = None,
    ) -> np.ndarray:
        codes, logp, ent = self.controller(rng)
        # training-mode batch statistics, as ENAS's child evaluation; the entropy is a reward bonus
        reward = sn.reward(single_path(codes, sn.mask.shape[1]), x, y) + self.entropy_weight * float(ent.detach())
        self.baseline -= (1 - self.baseline_decay) * (self.baseline - reward)
        self.a_opt.zero_grad(set_to_none=True)
        (-(reward - self.baseline) * logp).backward()
        self.a_opt.step()
        return codes

    def propose(self, sn: Supernet, rng: np.random.Generator, sampled: np.ndarray | None) -> np.ndarray:
        return self.recommend(sn) if sampled is None else valid(sn, sampled, sn.mask.float())

    def recommend(self, sn: Supernet) -> np.ndarray:
        with torch.no_grad():
            return valid(sn, self.controller(None)[0], sn.mask.float())
