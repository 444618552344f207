"""PNG plots of a results folder: anytime curves per agent, and the Pareto view of what was queried.

With fewer than :data:`MIN_SEEDS_FOR_BAND` seeds an agent's curves are drawn one per seed (a
95% interval over two seeds spans everything); from that many on, their mean and its interval.
Times are simulated, in the unit that suits them; on a supernet (no known optimum) the labels
say accuracy, not the tables' seed mean, and the Pareto view has no wall-clock axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .evaluation import OBJECTIVES, TIMINGS
from .summary import known_optimum, time_unit

MIN_SEEDS_FOR_BAND = 5


def load_matplotlib() -> type:
    """matplotlib's ``Figure``, on the file-only Agg backend (imported on first use: it takes a
    good part of a second, which a run without plots need not pay)."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # files only; never open a window
    from matplotlib.backends import backend_agg  # noqa: F401  (what savefig draws with)
    from matplotlib.figure import Figure

    return Figure


def _figure(n_panels: int):
    fig = load_matplotlib()(figsize=(5.2 * n_panels, 4.0), dpi=110)
    return fig, [fig.add_subplot(1, n_panels, k + 1) for k in range(n_panels)]


def mean_band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over runs (rows, NaN where a run has no value) and its 95% t-interval."""
    from scipy.special import stdtrit  # what scipy.stats.t.ppf calls, without importing scipy.stats

    n = np.sum(~np.isnan(curves), axis=0)
    filled = np.where(np.isnan(curves), 0.0, curves)
    k = np.maximum(n, 1)
    mean = filled.sum(axis=0) / k
    var = ((filled - mean) ** 2 * ~np.isnan(curves)).sum(axis=0) / np.maximum(n - 1, 1)
    half = np.where(n > 1, stdtrit(np.maximum(n - 1, 1), 0.975) * np.sqrt(var / k), 0.0)
    mean[n == 0] = np.nan
    return mean, mean - half, mean + half


def _by_agent(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        out.setdefault(r["spec"]["agent"], []).append(r)
    return out


def _at_times(run: dict[str, Any], grid: np.ndarray) -> np.ndarray:
    """The run's anytime value at each simulated time of ``grid`` (NaN before its first query)."""
    clock = np.cumsum(run["log"]["cost_s"])
    k = np.searchsorted(clock, grid, side="right") - 1
    vals = np.asarray(run["result"]["anytime"], dtype=np.float64)
    return np.where(k >= 0, vals[np.maximum(k, 0)], np.nan)


def val_label(runs: list[dict[str, Any]]) -> str:
    """What the validation axis shows: the table's seed mean, or the supernet's accuracy estimate."""
    return "validation (seed mean)" if known_optimum(r["result"] for r in runs) else "validation accuracy (%)"


def _queries(group: list[dict[str, Any]]) -> str:
    """The queries an agent's searches made: ``30`` or ``5-6``."""
    n = sorted(len(r["result"]["anytime"]) for r in group)
    return f"{n[0]}" if n[0] == n[-1] else f"{n[0]}-{n[-1]}"


def plot_anytime(runs: list[dict[str, Any]], path: Path) -> Any:
    """Best validation so far against queries and simulated time: each seed's curve, or the seed
    mean and its 95% interval; the figure (None without runs)."""
    if not runs:
        return None
    fig, (by_q, by_t) = _figure(2)
    ends = [float(np.sum(r["log"]["cost_s"])) for r in runs]
    starts = [r["log"]["cost_s"][0] for r in runs]
    unit, size = time_unit(ends)
    # from the time every run has made its first query, so each point averages all runs
    grid = np.geomspace(max(max(starts), 1e-12), max(max(ends), max(starts) * 1.001), 300)
    lows, highs, banded = [], [], []
    for agent, group in _by_agent(runs).items():
        n = max(len(r["result"]["anytime"]) for r in group)
        curves = np.full((len(group), n), np.nan)
        for row, r in zip(curves, group):
            row[: len(r["result"]["anytime"])] = r["result"]["anytime"]
        seeds = "seed" if len(group) == 1 else "seeds"
        label = f"{agent} ({len(group)} {seeds}, {_queries(group)} queries)"
        banded.append(len(group) >= MIN_SEEDS_FOR_BAND)
        if banded[-1]:
            for ax, x, c in (
                (by_q, np.arange(1, n + 1), curves),
                (by_t, grid / size, np.array([_at_times(r, grid) for r in group])),
            ):
                mean, lo, hi = mean_band(c)
                (line,) = ax.plot(x, mean, label=label, lw=1.4)
                ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
            lows.append(mean_band(curves)[0][n // 10])  # show the last 90% of the search: the first queries are noise
        else:  # each seed's own steps, in one colour per agent
            color = f"C{len(banded) - 1}"
            for k, r in enumerate(group):
                y = np.asarray(r["result"]["anytime"], dtype=np.float64)
                by_q.plot(
                    np.arange(1, len(y) + 1),
                    y,
                    color=color,
                    lw=1.1,
                    alpha=0.8,
                    drawstyle="steps-post",
                    marker="o" if len(y) < 20 else None,
                    ms=3,
                    label=label if k == 0 else None,
                )
                by_t.plot(
                    np.cumsum(r["log"]["cost_s"]) / size,
                    y,
                    color=color,
                    lw=1.1,
                    alpha=0.8,
                    drawstyle="steps-post",
                    marker="o" if len(y) < 20 else None,
                    ms=3,
                )
            lows.append(np.nanmin(curves[:, n // 10]))
        highs.append(np.nanmax(curves))
    opt = runs[0]["result"]["optimum"]
    top = max(highs + ([opt] if opt is not None else []))
    bottom = min(lows)
    pad = 0.05 * max(top - bottom, 1e-6)
    for ax, label in ((by_q, "queries"), (by_t, f"simulated time ({unit})")):
        if opt is not None:
            ax.axhline(opt, color="k", ls=":", lw=1, label="optimum")
        ax.set_xlabel(label)
        ax.set_ylabel(f"best {val_label(runs)} so far")
        ax.set_ylim(bottom - pad, top + pad)
        ax.grid(alpha=0.3)
    by_t.set_xscale("log")  # simulated time spans decades across agents and seeds
    by_q.legend(fontsize=8, loc="lower right")
    how = (
        "mean and 95% interval over seeds"
        if all(banded)
        else "each seed's curve"
        if not any(banded)
        else f"mean and 95% interval over {MIN_SEEDS_FOR_BAND}+ seeds, else each seed's curve"
    )
    fig.suptitle(f"{runs[0].get('env', runs[0]['spec']['env_id'])}: {how}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return fig


def pareto_mask(val: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Points no other point beats in both higher ``val`` and lower ``cost`` (NaNs never on it)."""
    ok = ~(np.isnan(val) | np.isnan(cost))
    order = np.lexsort((-val, cost))  # by cost, then best val first
    mask = np.zeros(len(val), dtype=bool)
    best = -np.inf
    for i in order:
        if ok[i] and val[i] > best:
            mask[i], best = True, val[i]
    return mask


def plot_pareto(runs: list[dict[str, Any]], path: Path) -> Any:
    """Validation against each other objective the table has, for every queried architecture; the figure.

    Costs (params, latency, FLOPs) are minimised; other objectives (such as analog-hardware
    accuracy) maximised; timings of this machine are none. Nothing is written (None returned)
    for a table without other objectives.
    """
    archs: dict[int, dict[str, float]] = {}
    for r in runs:
        a = r["result"]["archs"]
        for k, i in enumerate(a["index"]):
            archs[i] = {name: (np.nan if col[k] is None else col[k]) for name, col in a.items() if name != "index"}
    names = sorted({n for v in archs.values() for n in v} - {"val", *TIMINGS})  # results scored before TIMINGS existed
    if not names:
        return None
    val = np.array([v["val"] for v in archs.values()], dtype=np.float64)
    fig, axes = _figure(len(names))
    for ax, name in zip(axes, names):
        obj = np.array([v.get(name, np.nan) for v in archs.values()], dtype=np.float64)
        sign = 1.0 if name in OBJECTIVES else -1.0
        front = pareto_mask(val, sign * obj)
        ax.scatter(obj, val, s=4, c="0.6", label=f"queried ({len(val)})")
        order = np.argsort(obj[front])
        ax.plot(obj[front][order], val[front][order], "o-", c="C3", ms=4, lw=1, label=f"Pareto front ({front.sum()})")
        ax.set_xlabel(name + (" (lower is better)" if sign > 0 else ""))
        ax.set_ylabel(val_label(runs))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    return fig
