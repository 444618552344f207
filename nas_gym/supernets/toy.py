"""AdvantageNAS's toy regression task (Sato et al. 2021, section 5.1): a teacher and a student
net over one DAG, fixed shared weights, and only the architecture to learn.

Ten edges go from the input (13x13, uniform on [-1, 1]) to ten intermediate nodes; each edge
chooses one of ten fixed 7x7 stride-2 one-channel convolutions followed by tanh. Each node then
goes through its own fixed 4x4 convolution to the output, the mean of the ten. The teacher uses
a random architecture a*; the student's squared error against it is zero exactly at a*.

:class:`ToyTask` offers the duck-typed :class:`~nas_gym.agents.oneshot.loop.Supernet` view
(``net``, ``space``, ``mask``, ``device``, ``loss``, ``reward``) that the one-shot agents'
``arch_step`` and ``recommend`` use, so the toy runs exactly their code (it has no clock).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .paths import Path, single_path

EDGES, OPS, SIDE, KERNEL = 10, 10, 13, 7
WIDTH = OPS + 1  # path column 0 is the zero op of every supernet path, never searched here; filters are 1..10


class ToyNet(nn.Module):
    """``forward(x, path)``: edge e outputs ``sum_o w[e, o] tanh(conv_eo(x))`` over the path's active ops."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        # fixed random weights w*: shared by teacher and student, never trained
        self.filters = nn.Parameter(
            torch.randn(EDGES * OPS, 1, KERNEL, KERNEL, generator=generator) / KERNEL, requires_grad=False
        )
        out = (SIDE - KERNEL) // 2 + 1
        self.heads = nn.Parameter(torch.randn(EDGES, out, out, generator=generator) / out, requires_grad=False)

    def forward(self, x: Tensor, path: Path) -> Tensor:
        feats = torch.tanh(F.conv2d(x, self.filters, stride=2))  # (B, E*O, 4, 4)
        feats = feats.view(len(x), EDGES, OPS, *feats.shape[-2:])
        w = (path.weights.to(x.dtype) * path.active.to(x.device, x.dtype))[:, 1:]  # inactive ops add nothing
        nodes = torch.einsum("beohw,eo->behw", feats, w)
        return torch.einsum("behw,ehw->be", nodes, self.heads).mean(1)

    def flops(self, path: object) -> int:
        return 0


class ToySpace:
    """The toy's architecture space: ten decisions of ten filters (codes 1..10), all valid, argmax per edge."""

    n_decisions, max_options = EDGES, WIDTH

    def discretise(self, alpha: np.ndarray) -> np.ndarray:
        return np.asarray(alpha)[..., 1:].argmax(-1) + 1  # column 0 (the zero op) is never a choice

    def index(self, codes: np.ndarray) -> int:
        return int(np.ravel_multi_index(tuple(np.asarray(codes)), (WIDTH,) * EDGES))

    def is_valid(self, index: int) -> bool:
        return True


class ToyTask:
    """Teacher a*, the shared fixed net, seeded minibatches (``batch_size`` 100) and the test set."""

    def __init__(
        self, seed: int, batch_size: int = 100, n_test: int = 1000, dtype: torch.dtype = torch.float32
    ) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.net = ToyNet(gen).to(dtype)
        self.dtype = dtype
        self.teacher = np.random.default_rng([seed, 7]).integers(1, WIDTH, EDGES)
        self.space = ToySpace()
        self.mask = torch.ones(EDGES, WIDTH, dtype=torch.bool)
        self.mask[:, 0] = False
        self.device = torch.device("cpu")
        self.batch_size = batch_size
        self.test_x, self.test_y = self.batch(np.random.default_rng([seed, 8]), n_test)

    def batch(self, rng: np.random.Generator, n: int | None = None) -> tuple[Tensor, Tensor]:
        """Inputs uniform on [-1, 1]^(13x13) and the teacher's outputs."""
        x = torch.as_tensor(rng.uniform(-1, 1, (n or self.batch_size, 1, SIDE, SIDE)), dtype=self.dtype)
        with torch.no_grad():
            y = self.net(x, single_path(self.teacher, WIDTH))
        return x, y

    def loss(self, path: Path, x: Tensor, y: Tensor) -> Tensor:
        """Mean squared error of the student on ``path`` against the teacher's outputs ``y``."""
        return ((self.net(x, path) - y) ** 2).mean()

    def reward(self, path: Path, x: Tensor, y: Tensor) -> float:
        """The paper's reward of a child on a batch: its negative squared error (ENAS's reward here)."""
        with torch.no_grad():
            return -float(self.loss(path, x, y))

    def test_loss(self, codes: np.ndarray) -> float:
        """Squared error of the one-hot student ``codes`` on the fixed test set."""
        with torch.no_grad():
            return float(self.loss(single_path(codes, WIDTH), self.test_x, self.test_y))
