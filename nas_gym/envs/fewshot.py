"""``NasGym/FewShot-v0``: one episode is one few-shot task (LAMANAS / MetaNAS for RL users).

At ``reset`` a task is drawn from the ``split`` classes (meta-test by default); the
observation is its support set, normalised, class-major (row r has label ``r // shots``). The
one action is the architecture for this task: ``Box(-1, 1, (28 * 7,))`` rescaled by
``alpha_scale`` to DARTS logits over the seven real ops of the 28 edges (normal cell, then
reduction cell); values outside [-1, 1] are clipped and NaN counts as -1, as in the Cont envs,
and an action of another shape raises ValueError. The step adapts the meta-learned weights and
that alpha to the support set
for ``adapt_steps`` steps of the learner's task loss and returns the query accuracy as a
fraction; the episode ends there (a contextual bandit: the task is the context). The
meta-learning itself (many tasks per update, Reptile over them) is not one episode's worth of
decisions, so it stays in the Python API (:class:`nas_gym.meta.MetaLearner`); pass a trained
one as ``learner=`` or set ``meta_epochs`` to meta-train one when the env is built.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from ..fewshot.tasks import SPLITS, Task, TaskSampler, load_fewshot
from ..meta.lamanas import MetaConfig, MetaLearner
from ..supernets.forking import one_thread_after_fork
from .checks import cont_action, whole_number
from .core import RenderModes, check_keywords, constructor_keywords

FEWSHOT_ID = "NasGym/FewShot-v0"


class FewShotEnv(gym.Env):
    """One few-shot task per episode; the action picks its architecture logits (see the module doc)."""

    metadata = {"render_modes": RenderModes()}
    action_space: gym.spaces.Box

    def __init__(
        self,
        data: str = "digits",
        path: str | Path | None = None,
        split: str = "test",
        ways: int = 3,
        shots: int = 5,
        queries: int = 5,
        adapt_steps: int = 10,
        alpha_scale: float = 3.0,
        meta_epochs: int = 0,
        learner: MetaLearner | None = None,
        seed: int = 0,
        **config: Any,
    ) -> None:
        one_thread_after_fork()  # Gymnasium's async vector env forks workers after building one env here
        check_keywords(type(self), config, constructor_keywords(type(self)) | {f.name for f in fields(MetaConfig)})
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {list(SPLITS)}")
        if not isinstance(adapt_steps, int) or isinstance(adapt_steps, bool) or adapt_steps < 0:
            raise ValueError(f"adapt_steps must be a non-negative integer, got {adapt_steps!r}")
        if not isinstance(alpha_scale, (int, float)) or not np.isfinite(alpha_scale) or alpha_scale <= 0:
            raise ValueError(f"alpha_scale must be a finite number > 0, got {alpha_scale!r}")
        meta_epochs = whole_number(
            "meta_epochs", meta_epochs, minimum=0, meaning="meta-training epochs of the env's learner"
        )
        splits = load_fewshot(data, path)
        self.sampler = TaskSampler(splits.pool(split), ways, shots, queries)
        if learner is None:
            cfg = MetaConfig.from_kwargs(
                **{"method": "metanas", "size": "tiny", **config, "ways": ways, "shots": shots, "queries": queries}
            )
            learner = MetaLearner.for_pool(cfg, splits.train, seed=seed)
            if meta_epochs:
                learner.meta_train(TaskSampler(splits.train, ways, shots, queries, seed=seed), epochs=meta_epochs)
        elif config or meta_epochs:
            # they configure the learner built here; a given learner has its own, so they would do nothing
            given = sorted([*config, *(["meta_epochs"] if meta_epochs else [])])
            raise ValueError(
                f"{given} apply to the learner the env builds, not to a given learner=: set them in its MetaConfig "
                f"(and meta-train it) before passing it"
            )
        elif learner.config.ways != ways:
            raise ValueError(f"learner is built for {learner.config.ways}-way tasks, env asks for ways={ways}")
        self.learner, self.adapt_steps, self.alpha_scale = learner, adapt_steps, float(alpha_scale)
        n, (c, h, w) = ways * shots, splits.train.image_shape
        pool = splits.train  # normalised pixels lie between (0 - mean)/std and (1 - mean)/std
        low = float(np.min(-pool.mean / pool.std)) - 1e-4  # a margin for float32 rounding
        high = float(np.max((1 - pool.mean) / pool.std)) + 1e-4
        self.observation_space = gym.spaces.Box(low, high, (n, c, h, w), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (int(learner.alpha.numel()),), np.float32)
        self._task: Task | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        task = self._task = self.sampler.sample(self.np_random)
        return self._obs(), {"classes": task.classes}

    def _obs(self) -> np.ndarray:
        assert self._task is not None  # drawn by reset()
        return self.learner.images(self._task.support_x).cpu().numpy().astype(np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._task is None:
            raise RuntimeError("call reset() before step()")
        a = np.clip(np.nan_to_num(cont_action(action, self.action_space.shape), nan=-1.0), -1.0, 1.0)
        learner, meta_alpha = self.learner, self.learner.alpha
        try:
            learner.alpha = torch.as_tensor(a * self.alpha_scale, device=learner.device).view_as(meta_alpha)
            net, alpha = learner.adapt(self._task, self.adapt_steps, learner.loss_net)
            acc = learner.accuracy(net, alpha, self._task.query_x, self._task.query_y)
            learner.release(net)
        finally:
            learner.alpha = meta_alpha
        return self._obs(), float(acc / 100.0), True, False, {"accuracy": acc, "classes": self._task.classes}
