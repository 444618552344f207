"""The evaluation protocol: what a finished search is scored by.

The architecture a search returns is the one with the best mean *observed* validation
(:meth:`SearchResult.from_log`); it is scored by its validation mean over the table's training
seeds, so scores do not depend on which seed a query happened to draw. The test metric is read
once, after the search, and only where the table has one. Agents that recommend an architecture
(a policy's or alpha's argmax) have it scored the same way, beside the process best. Anytime curves use the same rule
after every query: the table mean of the architecture the search would return at that point.
Where the search read a lower fidelity (``fidelity=12``: 12-epoch results), all of this is read
from the full-schedule table (``backend.final``), as NAS-Bench-201 and NATS-Bench report the
200-epoch accuracy of what a 12-epoch search found; ``best_observed`` stays what the search saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..agents.base import SearchResult

OBJECTIVES = ("params", "latency", "flops")  # Record fields that are per-architecture costs
TIMINGS = ("wall_s",)  # Record extras that time this machine, not the architecture: never an objective


def incumbents(arch_index: np.ndarray, val: np.ndarray) -> np.ndarray:
    """After each query, the index with the best mean observed value so far.

    Ties go to the smaller index, as in :meth:`SearchResult.from_log`, so the last entry is
    the returned architecture.
    """
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    out = np.empty(len(arch_index), dtype=np.int64)
    best, best_mean = -1, -np.inf
    for t, (i, v) in enumerate(zip(arch_index.tolist(), val.tolist())):
        sums[i] = sums.get(i, 0.0) + v
        counts[i] = counts.get(i, 0) + 1
        m = sums[i] / counts[i]
        if i == best and m < best_mean:  # the incumbent's own mean fell: look at everyone again
            best, best_mean = max(((k, sums[k] / counts[k]) for k in sums), key=lambda kv: (kv[1], -kv[0]))
        elif m > best_mean or (m == best_mean and i < best):
            best, best_mean = i, m
        out[t] = best
    return out


def mean_vals(backend: Any, indices: np.ndarray) -> dict[int, float]:
    """Seed-mean validation of each distinct index (the backend's ``noise="mean"`` query)."""
    return {int(i): float(backend.query(int(i), noise="mean").val) for i in np.unique(indices)}


def optimum_class(backend: Any) -> int | None:
    """Canonical index of the optimum's class (None where the optimum is unknown). The first call
    in a process builds the space's classes (NAS-Bench-201: a tenth of a second)."""
    if not hasattr(backend, "optimum"):
        return None
    return backend.space.canonical_index(backend.optimum()[0])


def first_hit(backend: Any, arch_index: np.ndarray) -> int | None:
    """0-based position of the first query of the optimum's class; None if never or unknown."""
    target = optimum_class(backend)
    if target is None:
        return None
    canon = backend.space.canonical_index
    return next((t for t, i in enumerate(arch_index.tolist()) if canon(i) == target), None)


def objectives(backend: Any, indices: list[int]) -> dict[str, list[float]]:
    """Per-architecture objectives of ``indices`` besides validation (params, latency, extras)."""
    recs = [backend.query(i, noise="mean") for i in indices]
    cols = {name: [float(getattr(r, name)) for r in recs] for name in OBJECTIVES}
    for name in sorted({k for r in recs for k in (r.extra or {})} - set(TIMINGS)):
        cols[name] = [float((r.extra or {}).get(name, np.nan)) for r in recs]
    return {k: v for k, v in cols.items() if not np.all(np.isnan(v))}


def scoring_backend(backend: Any) -> Any:
    """The backend that scores a search: the full-schedule table of a lower-fidelity one."""
    return getattr(backend, "final", None) or backend


def score(result: SearchResult, backend: Any) -> dict[str, Any]:
    """Everything the summary needs from one finished search, as JSON-ready values."""
    fidelity = getattr(backend, "fidelity", None)
    backend = scoring_backend(backend)
    inc = incumbents(result.arch_index, result.val)
    means = mean_vals(backend, result.arch_index)
    hit = first_hit(backend, result.arch_index)
    uniq = sorted(means)
    out: dict[str, Any] = {
        "best_index": result.best_index,
        "best_arch": backend.space.to_string(result.best_index),
        "best_observed": result.best_observed,
        "best_val": means[result.best_index],
        "n_queries": result.n_queries,
        "sim_time_s": result.sim_time_s,
        "optimum": backend.optimum()[1] if hasattr(backend, "optimum") else None,
        "queries_to_optimum": None if hit is None else hit + 1,
        "time_to_optimum_s": None if hit is None else float(np.sum(result.cost_s[: hit + 1])),
        "test": backend.evaluate(result.best_index) if getattr(backend, "has_test", False) else None,
        "anytime": [means[i] for i in inc.tolist()],
        "archs": {"index": uniq, "val": [means[i] for i in uniq], **objectives(backend, uniq)},
        "meta": result.meta,
        "reports": result.reports,
        "fidelity": fidelity,
        **recommended(result, backend),
    }
    return out


def recommended(result: SearchResult, backend: Any) -> dict[str, Any]:
    """The recommended architecture's scores (``recommended_*``), all None when there is none."""
    rec = result.recommended_index
    if rec is None:
        return {"recommended_index": None, "recommended_arch": None, "recommended_val": None, "recommended_test": None}
    return {
        "recommended_index": rec,
        "recommended_arch": backend.space.to_string(rec),
        "recommended_val": float(backend.query(rec, noise="mean").val),
        "recommended_test": backend.evaluate(rec) if getattr(backend, "has_test", False) else None,
    }
