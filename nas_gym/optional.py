"""Optional dependencies: what a table-only installation leaves out, and the error that says how to add it.

``pip install nas-gym`` brings the tables, the env families on them and the non-RL baselines
(numpy, gymnasium, scipy, optuna). The torch-backed parts (supernet envs, the few-shot env, the
RL and one-shot agents) need the ``torch`` extra; the Stable-Baselines3 adapter needs ``rl``.
"""

from __future__ import annotations

import importlib.util

# extra -> (the modules it brings that the code imports, what it brings in words)
EXTRAS = {
    "torch": (("torch", "sklearn"), "torch and scikit-learn"),
    "rl": (("torch", "stable_baselines3", "sb3_contrib"), "torch, Stable-Baselines3 and sb3-contrib"),
}


def missing_extra(extra: str) -> str | None:
    """Why the parts that need ``extra`` cannot run here (how to install it), or None when they can.

    Looks for the modules without importing them.
    """
    modules, what = EXTRAS[extra]
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if not absent:
        return None
    return f"needs {what}, not installed here (no {', '.join(absent)}): pip install 'nas-gym[{extra}]'"


def require_extra(extra: str, what: str) -> None:
    """ModuleNotFoundError naming ``what`` and the pip command when ``extra`` is not installed."""
    reason = missing_extra(extra)
    if reason is not None:
        raise ModuleNotFoundError(f"{what} {reason}", name=EXTRAS[extra][0][0])


def extra_of(module: str | None) -> str | None:
    """The extra that brings the top-level ``module`` (None: none does)."""
    top = (module or "").split(".")[0]
    return next((extra for extra, (modules, _) in EXTRAS.items() if top in modules), None)
