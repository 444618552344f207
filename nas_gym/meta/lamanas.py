"""MetaNAS and LAMANAS: DARTS inside Reptile, with cross-entropy or a learned task loss.

One meta-step (the paper's Algorithm 2; MetaNAS is the same code with cross-entropy and no phi):

1. sample ``meta_batch`` tasks from the meta-train classes;
2. per task, copy the meta-parameters (theta: the DARTS supernet's weights, alpha: its
   architecture logits, phi: the loss network) and take ``task_steps`` steps of eq. 2 on the
   support set: theta and alpha both move down the gradient of the task loss (Adam with
   betas (0, 0.999), as MetaNAS's task optimiser);
3. (LAMANAS) one step of phi on a proxy (eq. 8's inner product of the learned loss's and
   cross-entropy's gradients in theta and alpha, or eq. 7's MSE) at the adapted parameters;
4. Reptile: theta <- theta + lr_meta * mean_i (theta_i - theta), the same for alpha and phi.

Meta-testing adapts theta and alpha to each test task for ``test_steps`` steps (phi fixed, as
the paper says after SAVN) and scores the query set: mean accuracy and a 95% interval over
many tasks. Batch norm always normalises with the batch's statistics (train mode), the
transductive setting of Reptile and MAML on Omniglot. The supernet is the project's
:class:`~nas_gym.supernets.darts_net.DartsSupernet` with ``num_classes = ways``, run through
``mixed(weights)`` with weights = softmax of alpha over the seven real ops.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..fewshot.tasks import ClassPool, Task, TaskSampler
from ..progress import Progress
from ..spaces.darts import DARTS_OPS, DartsSpace
from ..supernets.darts_net import DARTS_SIZES, N_EDGES, DartsSupernet
from ..supernets.paths import Path, mixed
from .loss_net import LOSS_NETS, LossNet
from .proxy import PROXIES, InnerProductProxy, mse_proxy

METHODS = ("metanas", "lamanas")
# the authors' Omniglot network (init_channels 28, 4 cells) besides the project's DARTS presets
META_SIZES = {**DARTS_SIZES, "metanas": dict(C=28, layers=4)}


@dataclass(frozen=True)
class MetaConfig:
    """Hyperparameters; defaults are the paper's (P), else the authors' code's ``og_metanas`` Omniglot setting (C)."""

    method: str = "lamanas"
    loss_net: str = "lstm"  # P: the best variant of Table 1
    residual: bool = True  # P: Table 1's best (no residual: chance)
    proxy: str = "inner"  # P: eq. 8, Table 1's best
    ways: int = 20  # P: 20-way
    shots: int = 5  # P: 5-shot
    queries: int = 1  # P: one test example per class
    size: str = "metanas"  # C: init_channels 28, 4 cells
    task_steps: int = 5  # C: task_train_steps
    test_steps: int = 50  # C: test_task_train_steps
    w_lr: float = 0.005  # C: task learning rate of theta (lambda_task)
    alpha_lr: float = 0.005  # C: task learning rate of alpha (xi_task)
    phi_lr: float = 0.01  # C: phi_lr (chi_task)
    phi_steps: int = 5  # ours: Adam steps of phi on the proxy per task (0: phi frozen); see docs/lamanas.md
    grad_clip: float = 5.0  # C: w_grad_clip
    meta_batch: int = 5  # P: 5 tasks per meta batch
    meta_epochs: int = 200  # P: 200 meta epochs (one meta-step each here)
    w_meta_lr: float = 1.0  # C: Reptile step of theta
    a_meta_lr: float = 0.6  # C: Reptile step of alpha
    phi_meta_lr: float = 1.0  # ours: Reptile step of phi, as theta's (the authors' 0.001 leaves phi where it starts)

    def __post_init__(self) -> None:
        for key, valid in (
            ("method", METHODS),
            ("loss_net", LOSS_NETS),
            ("proxy", PROXIES),
            ("size", tuple(META_SIZES)),
        ):
            if getattr(self, key) not in valid:
                raise ValueError(f"unknown {key} {getattr(self, key)!r}; valid: {list(valid)}")
        for key in ("ways", "shots", "queries", "task_steps", "meta_batch"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{key} must be a positive integer, got {v!r}")
        for key in ("test_steps", "meta_epochs", "phi_steps"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{key} must be a non-negative integer, got {v!r}")
        for key in ("w_lr", "alpha_lr", "phi_lr", "grad_clip", "w_meta_lr", "a_meta_lr", "phi_meta_lr"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{key} must be a finite number >= 0, got {v!r}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> MetaConfig:
        """A config from keywords, naming any unknown one and the valid ones."""
        names = {f.name for f in fields(cls)}
        bad = sorted(set(kwargs) - names)
        if bad:
            raise ValueError(f"unknown MetaConfig keys {bad}; valid: {sorted(names)}")
        return cls(**kwargs)


@dataclass(frozen=True)
class MetaTestResult:
    """Meta-test accuracy (%) over ``len(accuracies)`` tasks: mean and the 95% interval half-width."""

    accuracies: tuple[float, ...]
    mean: float
    ci95: float

    @classmethod
    def of(cls, accs: Sequence[float]) -> MetaTestResult:
        a = np.asarray(accs, dtype=np.float64)
        # normal approximation, as few-shot papers report: 1.96 standard errors
        half = 1.96 * a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else float("nan")
        return cls(tuple(float(x) for x in a), float(a.mean()), float(half))

    def __str__(self) -> str:
        return f"{self.mean:.2f} +- {self.ci95:.2f} % ({len(self.accuracies)} tasks)"


@dataclass
class History:
    """Meta-validation accuracy (%) after each evaluated meta-epoch (epoch 0: the initialisation),
    the CPU seconds of each meta-step (this process, validation excluded) and, for LAMANAS, how
    far each meta-step moved phi (norm of the change over the norm before)."""

    epochs: list[int] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    step_cpu_s: list[float] = field(default_factory=list)
    phi_change: list[float] = field(default_factory=list)


class MetaLearner:
    """Meta-parameters theta (``net``), alpha and, for LAMANAS, phi (``loss_net``), and the
    task learner, Reptile meta-step and meta-test of the module doc."""

    def __init__(
        self,
        config: MetaConfig,
        image_shape: Sequence[int],
        mean: Any,
        std: Any,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        c, h, w = (int(s) for s in image_shape)
        with torch.random.fork_rng(devices=[]):  # seed the initialisation without touching the caller's torch RNG
            torch.manual_seed(seed)
            net = DartsSupernet(**META_SIZES[config.size], in_channels=c, num_classes=config.ways, image_size=(h, w))
            # DARTS's initialisation: small random logits over the seven real ops
            alpha = 1e-3 * torch.randn(2 * N_EDGES, len(DARTS_OPS) - 1)
            loss_net = LossNet(config.ways, config.loss_net, config.residual) if config.method == "lamanas" else None
        self.net, self.alpha = net.to(self.device), alpha.to(self.device)
        self.loss_net = None if loss_net is None else loss_net.to(self.device)
        self._mean = torch.as_tensor(np.asarray(mean, dtype=np.float32), device=self.device).view(1, -1, 1, 1)
        self._std = torch.as_tensor(np.asarray(std, dtype=np.float32), device=self.device).view(1, -1, 1, 1)
        self._spare: list[DartsSupernet] = []

    @classmethod
    def for_pool(cls, config: MetaConfig, pool: ClassPool, device: str = "cpu", seed: int = 0) -> MetaLearner:
        return cls(config, pool.image_shape, pool.mean, pool.std, device, seed)

    # ------------------------------------------------------------------ pieces
    def path(self, alpha: Tensor) -> Path:
        """DARTS's relaxation of ``alpha`` (28, 7): softmax over the real ops, ``none`` weighted 0."""
        weights = torch.softmax(alpha, dim=-1)
        return mixed(torch.cat([torch.zeros_like(weights[:, :1]), weights], dim=1))

    def images(self, x: np.ndarray) -> Tensor:
        """uint8 images as the normalised float batch the network reads, on the learner's device."""
        xb = torch.as_tensor(x, device=self.device).float().div_(255.0)
        return (xb - self._mean) / self._std

    def task_loss(self, logits: Tensor, y: Tensor, loss_net: nn.Module | None) -> Tensor:
        """Cross-entropy (MetaNAS) or the learned loss (LAMANAS)."""
        return F.cross_entropy(logits, y) if loss_net is None else loss_net(logits, y)

    def genotype(self) -> dict[str, list[tuple[str, int]]]:
        """The meta-architecture discretised by DARTS's rule (top-2 inputs per node, argmax op)."""
        space = DartsSpace()
        return space.genotype(space.discretise(self.alpha.detach().cpu().numpy()))

    def _copy_net(self) -> DartsSupernet:
        """A fresh network holding the meta-parameters (a spare module is reused: deep copies
        of the supernet cost more than a few task steps)."""
        spare = self._spare.pop() if self._spare else copy.deepcopy(self.net)
        with torch.no_grad():
            for dst, src in zip(spare.state_dict().values(), self.net.state_dict().values()):
                dst.copy_(src)
        for p in spare.parameters():
            p.grad = None
        return spare

    def release(self, net: DartsSupernet) -> None:
        """Hand a task network from :meth:`adapt` back for reuse (optional: saves a copy)."""
        self._spare.append(net)

    # ----------------------------------------------------------- task learner
    def adapt(self, task: Task, steps: int, loss_net: nn.Module | None) -> tuple[DartsSupernet, Tensor]:
        """theta_i, alpha_i after ``steps`` steps of eq. 2 on the support set (copies; the meta-parameters stay)."""
        net = self._copy_net()
        alpha = self.alpha.clone().requires_grad_(True)
        w_opt = torch.optim.Adam(net.parameters(), lr=self.config.w_lr, betas=(0.0, 0.999))
        a_opt = torch.optim.Adam([alpha], lr=self.config.alpha_lr, betas=(0.0, 0.999))
        x, y = self.images(task.support_x), torch.as_tensor(task.support_y, device=self.device)
        params = list(net.parameters())
        net.train()
        for _ in range(steps):
            loss = self.task_loss(net(x, self.path(alpha)), y, loss_net)
            grads = torch.autograd.grad(loss, params + [alpha], allow_unused=True)
            for p, g in zip(params + [alpha], grads):
                p.grad = g
            if self.config.grad_clip:
                nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], self.config.grad_clip)
            w_opt.step()
            a_opt.step()
        return net, alpha.detach()

    def update_phi(self, task: Task, net: DartsSupernet, alpha: Tensor) -> LossNet:
        """phi_i: ``phi_steps`` Adam steps of the configured proxy at the adapted (theta_i, alpha_i),
        on the support set, from a copy of the meta-value phi."""
        assert self.loss_net is not None
        loss_net = copy.deepcopy(self.loss_net)
        if self.config.phi_steps == 0:
            return loss_net
        proxy = self.proxy(task, net, alpha)
        phis = list(loss_net.parameters())
        opt = torch.optim.Adam(phis, lr=self.config.phi_lr, betas=(0.0, 0.999))  # the authors' phi optimiser
        for _ in range(self.config.phi_steps):
            grads = torch.autograd.grad(proxy(loss_net), phis, allow_unused=True)
            for p, g in zip(phis, grads):
                p.grad = g
            opt.step()
        return loss_net

    def proxy(self, task: Task, net: DartsSupernet, alpha: Tensor) -> Callable[[nn.Module], Tensor]:
        """The proxy phi descends on ``task``'s support set at (theta_i = ``net``, ``alpha``), as a
        function of the loss network: eq. 8 (``inner``) or eq. 7 (``mse``). theta_i and alpha_i
        stay fixed while phi steps, so the network runs once (see :class:`InnerProductProxy`)."""
        alpha = alpha.clone().requires_grad_(True)
        x, y = self.images(task.support_x), torch.as_tensor(task.support_y, device=self.device)
        net.train()
        logits = net(x, self.path(alpha))
        if self.config.proxy == "inner":
            return InnerProductProxy(logits, y, list(net.parameters()), [alpha], self.config.w_lr, self.config.alpha_lr)
        z, ce = logits.detach(), F.cross_entropy(logits, y).detach()
        return lambda loss_net: mse_proxy(loss_net(z, y), ce)

    def phi_vector(self) -> Tensor | None:
        """The loss network's parameters as one vector (None for MetaNAS)."""
        if self.loss_net is None:
            return None
        return torch.cat([p.detach().flatten() for p in self.loss_net.parameters()])

    def alignment(self, task: Task) -> float:
        """Cosine between the gradients in (theta, alpha) of the learned loss and of cross-entropy
        on ``task``'s support set at the meta-parameters: 1 when the learned loss steers the task
        learner as cross-entropy would (the loss network at its initialisation), lower as phi
        departs from it; NaN for MetaNAS."""
        if self.loss_net is None:
            return float("nan")
        net = self._copy_net()
        alpha = self.alpha.clone().requires_grad_(True)
        x, y = self.images(task.support_x), torch.as_tensor(task.support_y, device=self.device)
        net.train()
        logits = net(x, self.path(alpha))
        params = list(net.parameters()) + [alpha]
        g_phi = torch.autograd.grad(self.loss_net(logits, y), params, retain_graph=True, allow_unused=True)
        g_ce = torch.autograd.grad(F.cross_entropy(logits, y), params, allow_unused=True)
        self.release(net)
        pairs = [(a.flatten(), b.flatten()) for a, b in zip(g_phi, g_ce) if a is not None and b is not None]
        a, b = torch.cat([p for p, _ in pairs]), torch.cat([q for _, q in pairs])
        return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-30))

    @torch.no_grad()
    def accuracy(self, net: DartsSupernet, alpha: Tensor, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy (%) of (theta, alpha) on images ``x`` (batch statistics, see the module doc)."""
        net.train()
        logits = net(self.images(x), self.path(alpha))
        return 100.0 * float((logits.argmax(1).cpu().numpy() == np.asarray(y)).mean())

    # ----------------------------------------------------------- meta level
    def meta_step(self, tasks: Sequence[Task]) -> None:
        """Algorithm 2 on ``tasks``: adapt to each, then the Reptile update of theta, alpha (and phi)."""
        cfg = self.config
        thetas, alphas, phis = [], [], []
        for task in tasks:
            net, alpha = self.adapt(task, cfg.task_steps, self.loss_net)
            thetas.append([p.detach().clone() for p in net.parameters()])
            alphas.append(alpha)
            if self.loss_net is not None:
                phis.append([p.detach() for p in self.update_phi(task, net, alpha).parameters()])
            self.release(net)
        with torch.no_grad():
            _reptile(list(self.net.parameters()), thetas, cfg.w_meta_lr)
            _reptile([self.alpha], [[a] for a in alphas], cfg.a_meta_lr)
            if self.loss_net is not None:
                _reptile(list(self.loss_net.parameters()), phis, cfg.phi_meta_lr)

    def meta_test(
        self, sampler: TaskSampler, n_tasks: int, steps: int | None = None, rng: np.random.Generator | None = None
    ) -> MetaTestResult:
        """Query accuracy after adapting to each of ``n_tasks`` tasks for ``steps`` (default ``test_steps``)."""
        if n_tasks < 1:
            raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
        steps = self.config.test_steps if steps is None else int(steps)
        accs = []
        for _ in range(n_tasks):
            task = sampler.sample(rng)
            net, alpha = self.adapt(task, steps, self.loss_net)
            accs.append(self.accuracy(net, alpha, task.query_x, task.query_y))
            self.release(net)
        return MetaTestResult.of(accs)

    def meta_train(
        self,
        train: TaskSampler,
        val: TaskSampler | None = None,
        epochs: int | None = None,
        eval_every: int = 0,
        val_tasks: int = 20,
        val_steps: int | None = None,
        seed: int = 0,
        progress: bool | None = None,
    ) -> History:
        """``epochs`` meta-steps (default ``meta_epochs``) on ``train`` tasks; with ``val`` and
        ``eval_every``, meta-validation accuracy at the start and every ``eval_every`` steps, on
        the same ``val_tasks`` tasks each time (fixed by ``seed``), each reported as a line of its
        own (``progress=False``: nothing reported; see :mod:`nas_gym.progress`)."""
        epochs = self.config.meta_epochs if epochs is None else int(epochs)
        history = History()
        report = Progress(epochs, f"meta-train {self.config.method}", "meta-step", enabled=progress)

        def validate(epoch: int) -> None:
            res = self.meta_test(val, val_tasks, val_steps, rng=np.random.default_rng(seed))  # type: ignore[arg-type]
            history.epochs.append(epoch)
            history.val_accuracy.append(res.mean)
            report.note(f"meta-train {self.config.method}: meta-validation after {epoch} of {epochs} meta-steps: {res}")
            report.update(0, val_acc=f"{res.mean:.1f}%")

        if val is not None and eval_every:
            validate(0)
        for epoch in range(1, epochs + 1):
            phi = self.phi_vector()
            t0 = time.process_time()
            self.meta_step([train.sample() for _ in range(self.config.meta_batch)])
            history.step_cpu_s.append(time.process_time() - t0)
            phi_after = self.phi_vector()
            if phi is not None and phi_after is not None:
                history.phi_change.append(float((phi_after - phi).norm() / phi.norm()))
            if val is not None and eval_every and epoch % eval_every == 0:
                validate(epoch)
            report.update(1)
        report.close()
        return history

    def describe(self) -> dict[str, Any]:
        return {
            **asdict(self.config),
            "params": sum(p.numel() for p in self.net.parameters()),
            "loss_net_params": 0 if self.loss_net is None else sum(p.numel() for p in self.loss_net.parameters()),
        }


def _reptile(meta: list[Tensor], tasks: list[list[Tensor]], lr: float) -> None:
    """meta <- meta + lr * mean over tasks of (task - meta), in place."""
    for k, p in enumerate(meta):
        p.add_(torch.stack([t[k] for t in tasks]).mean(0) - p, alpha=lr)


__all__ = ["METHODS", "META_SIZES", "History", "MetaConfig", "MetaLearner", "MetaTestResult"]
