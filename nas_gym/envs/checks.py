"""Checks of keyword arguments and actions shared by the single and the vector envs.

Each raises ValueError naming the keyword (or the action), the bad value and what is valid, and
runs before any state of the env changes, so a caller that catches the error can go on.

Actions of the discrete families (Seq, Edit) follow one rule in single and vector envs: any
whole number is an action (an out-of-range one is handled as each family documents), given as
a Python or numpy integer, an integral float, or a one-element array of one; anything else
(NaN, inf, None, 2.5, a string, an array of several values) is not an action and raises.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, TypeGuard

import numpy as np


def _real(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a ``numbers.Real`` (int, float, numpy scalars, Fraction), typed as a float
    because type checkers do not map the numeric ABCs onto ``int()``, comparisons and arithmetic."""
    return isinstance(value, numbers.Real)


def whole_number(name: str, value: Any, minimum: int = 1, meaning: str = "") -> int:
    """``value`` as an int when it is a whole number >= ``minimum``; else ValueError naming ``name``."""
    what = f"{name} must be an integer >= {minimum}" + (f" ({meaning})" if meaning else "")
    if isinstance(value, (bool, np.bool_)) or not _real(value):
        raise ValueError(f"{what}, got {value!r}")
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{what}, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{what}, got {value!r}")
    return int(value)


def real_number(name: str, value: Any) -> float:
    """``value`` as a float when it is a real number other than NaN (inf allowed: no limit)."""
    if isinstance(value, (bool, np.bool_)) or not _real(value) or math.isnan(value):
        raise ValueError(f"{name} must be a number (inf for no limit), got {value!r}")
    return float(value)


def finite_number(
    name: str, value: Any, minimum: float | None = None, above: float | None = None, below: float | None = None
) -> float:
    """``value`` as a float when it is a finite real number within the bounds (``minimum``
    inclusive, ``above`` and ``below`` exclusive); else ValueError naming ``name`` and the range."""
    bounds = [f"{op} {b:g}" for op, b in ((">=", minimum), (">", above), ("<", below)) if b is not None]
    what = " ".join([f"{name} must be a finite number", " and ".join(bounds)]).strip()
    if isinstance(value, (bool, np.bool_)) or not _real(value) or not math.isfinite(value):
        raise ValueError(f"{what}, got {value!r}")
    if (
        (minimum is not None and value < minimum)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    ):
        raise ValueError(f"{what}, got {value!r}")
    return float(value)


def integer_action(action: Any, n_actions: int) -> int:
    """A Seq or Edit action as an int (see the module docstring); ValueError for a non-integer."""
    if type(action) is int or isinstance(action, np.integer):  # what samplers and policies give: no checks needed
        return int(action)
    a = action
    if isinstance(a, np.ndarray) and a.size == 1:
        a = a.reshape(()).item()
    if isinstance(a, (bool, np.bool_)) or not _real(a) or not math.isfinite(a) or a != int(a):
        raise ValueError(f"action must be an integer (valid actions: 0..{n_actions - 1}), got {action!r}")
    return int(a)


def integer_actions(actions: Any, n_envs: int, n_actions: int) -> np.ndarray:
    """The vector envs' discrete actions as an ``(n_envs,)`` int64 array (same rule per entry)."""
    a = np.asarray(actions)
    if a.size != n_envs:
        raise ValueError(f"actions must hold one integer per env ({n_envs}), got shape {a.shape}")
    a = a.reshape(n_envs)
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    ok = a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a)))
    if not ok:
        bad = [v for v in a.tolist() if not (_real(v) and math.isfinite(v) and v == int(v))]
        raise ValueError(
            f"actions must be integers (valid actions: 0..{n_actions - 1}), got {bad[:3] if bad else a.dtype}"
        )
    return a.astype(np.int64)


def cont_action(action: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A Cont action as a float32 array of exactly ``shape`` (NaN allowed: the env reads it as -1).

    Complex values are refused rather than cast (numpy would drop the imaginary part with only
    a warning); so are strings and other non-numbers.
    """
    try:
        a = np.asarray(action)
        if a.dtype.kind not in "fiub":
            raise TypeError
        a = a.astype(np.float32, copy=False)
    except (TypeError, ValueError):
        raise ValueError(f"action must be a real float array of shape {shape}, got {action!r}") from None
    if a.shape != shape:
        raise ValueError(f"action must have shape {shape} (one value per option of each decision), got shape {a.shape}")
    return a
