"""Array encodings shared by the single envs and the batched vector envs.

Every function takes a batch (first axis = env), so a single env calls it with a batch of one
and the vector env with all of its envs: the observation layouts and the action decoding are
written once.
"""

from __future__ import annotations

from collections.abc import Callable

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


class SeqObs:
    """Seq's observation for n episodes, kept up to date decision by decision.

    Layout: the one-hot option of each decision made so far (zeros for the rest), then a
    one-hot of the position t. A decision flips three entries, so no step rebuilds the vector.
    """

    def __init__(self, n: int, n_decisions: int, n_options: int) -> None:
        self._E, self._O = n_decisions, n_options
        self._pos = n_decisions * n_options  # where the position one-hot starts
        self.buf = np.zeros((n, seq_obs_size(n_decisions, n_options)), dtype=np.float32)
        self.buf[:, self._pos] = 1.0

    def reset(self, rows: np.ndarray | slice | int = slice(None)) -> None:
        self.buf[rows] = 0.0
        self.buf[rows, self._pos] = 1.0

    def flips(self, t: np.ndarray | int, option: np.ndarray | int) -> tuple:
        """Columns that choosing ``option`` at position ``t`` sets to 1, to 0 and to 1."""
        return t * self._O + option, self._pos + t, self._pos + t + 1

    def decide(self, rows: np.ndarray | int, t: np.ndarray | int, option: np.ndarray | int) -> None:
        """Episodes ``rows`` at position ``t`` chose ``option``."""
        chosen, was, now = self.flips(t, option)
        self.buf[rows, chosen] = 1.0
        self.buf[rows, was] = 0.0
        self.buf[rows, now] = 1.0


_LOW, _HIGH = np.float32(-1.0), np.float32(1.0)  # made once: a scalar costs as much as the clip


def clip_action(action: np.ndarray, n_decisions: int, n_options: int) -> np.ndarray:
    """Cont's action as ``(n, E, O)`` floats in ``[-1, 1]`` (float32 stays float32: no copy to widen).

    Out-of-range values are clipped and NaN counts as -1 (``fmax`` ignores NaN), so every
    action a policy can emit selects some architecture.
    """
    a = np.fmax(action, _LOW)
    return np.fmin(a, _HIGH, out=a).reshape(-1, n_decisions, n_options)


def discretiser(space: Space) -> Callable[[np.ndarray], np.ndarray]:
    """Batched ``space.discretise`` of clipped actions: ``(n, E, O)`` in [-1, 1] to ``(n, E)`` codes.

    The space sees alpha = (action + 1) / 2 in [0, 1]. Its default rule (argmax per decision,
    padded options never win) does not change under that rescaling, so it runs here as two numpy
    calls on the action itself (``Space.discretise`` checks and reshapes its input: 7x slower
    for one action); a space with its own rule (NAS-Bench-Graph's, DARTS's top-2 edges) gets
    the alpha batch.
    """
    return Discretiser(space)


class Discretiser:
    """What :func:`discretiser` returns: a picklable callable (an env holding it must pickle)."""

    def __init__(self, space: Space) -> None:
        self.space = space
        # None: the space has its own rule and gets the alpha batch
        self._pad = (
            np.where(space.option_mask, 0.0, -np.inf).astype(np.float32)
            if type(space).discretise is Space.discretise
            else None
        )
        self._padded = self._pad is not None and not space.option_mask.all()  # else adding _pad changes no argmax

    def __call__(self, a: np.ndarray) -> np.ndarray:
        if self._pad is not None:
            return (a + self._pad).argmax(axis=-1) if self._padded else a.argmax(axis=-1)
        return np.asarray(self.space.discretise((a + 1.0) * 0.5), dtype=np.int64).reshape(len(a), -1)
