"""Array encodings shared by the single envs and the batched vector envs.

Every function takes a batch (first axis = env), so a single env calls it with a batch of one
and the vector env with all of its envs: the observation layouts and the action decoding are
written once.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..spaces.base import Space


def one_hot_rows(codes: np.ndarray, n_options: int) -> np.ndarray:
    """``(n, E)`` option codes to ``(n, E * n_options)`` float32 one-hot rows."""
    n, E = codes.shape
    out = np.zeros((n, E * n_options), dtype=np.float32)
    out[np.arange(n)[:, None], np.arange(E) * n_options + codes] = 1.0
    return out


def seq_obs_size(n_decisions: int, n_options: int) -> int:
    return n_decisions * n_options + n_decisions + 1


def seq_obs(codes: np.ndarray, t: np.ndarray, n_options: int) -> np.ndarray:
    """Seq's observation: one-hot of the ``t`` decisions made so far, then a one-hot of ``t``."""
    n, E = codes.shape
    out = np.zeros((n, seq_obs_size(E, n_options)), dtype=np.float32)
    rows, cols = np.nonzero(np.arange(E) < t[:, None])
    out[rows, cols * n_options + codes[rows, cols]] = 1.0
    out[np.arange(n), E * n_options + t] = 1.0
    return out


def clip_action(action: np.ndarray, n_decisions: int, n_options: int) -> np.ndarray:
    """Cont's action as ``(n, E, O)`` float64 in ``[-1, 1]``.

    Out-of-range values are clipped and NaN counts as -1 (``fmax`` ignores NaN), so every
    action a policy can emit selects some architecture.
    """
    a = np.fmax(np.asarray(action, dtype=np.float64), -1.0)
    return np.fmin(a, 1.0, out=a).reshape(-1, n_decisions, n_options)


def discretiser(space: Space) -> Callable[[np.ndarray], np.ndarray]:
    """Batched ``space.discretise`` of clipped actions: ``(n, E, O)`` in [-1, 1] to ``(n, E)`` codes.

    The space sees alpha = (action + 1) / 2 in [0, 1]. Its default rule (argmax per decision,
    padded options never win) does not change under that rescaling, so it runs as one numpy
    call on the action itself; a space with its own rule (DARTS's top-2 edges) is applied to
    alpha row by row.
    """
    if type(space).discretise is Space.discretise:
        pad = np.where(space.option_mask, 0.0, -np.inf)
        return lambda a: (a + pad).argmax(axis=-1)
    return lambda a: np.stack([space.discretise((x + 1.0) * 0.5) for x in a]).astype(np.int64)
