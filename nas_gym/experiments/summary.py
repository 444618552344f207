"""The summary of a results folder: one row per (env, agent), as CSV and as a Markdown table.

Columns, each over the agent's finished runs: the mean +- std (sample std, ddof=1) of the
returned architecture's seed-mean validation (the shape of the thesis's Table 4.1); the mean
number of queries a search made (one-shot agents query once per round of weight training, so
far fewer than a table agent under the same budget); how many runs queried the optimum (its
isomorphism class) and the mean queries and simulated seconds they took to first do so, where
the benchmark knows its optimum (a supernet does not: the Markdown table then leaves these
columns out); the simulated time of the whole search (in the Markdown table in units that suit
its size: hours on tables, milliseconds on a small supernet); the test metric of the returned
architecture where the table has one; and the same validation and test for the
architecture an agent recommends (its argmax), with which of the two its paper reports.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .results import load_runs

COLUMNS = (
    "env",
    "agent",
    "runs",
    "failed",
    "queries_mean",
    "best_val_mean",
    "best_val_std",
    "optimum",
    "reached",
    "queries_to_opt_mean",
    "queries_to_opt_std",
    "time_to_opt_s_mean",
    "sim_time_s_mean",
    "test_mean",
    "test_std",
    "reports",
    "rec_val_mean",
    "rec_val_std",
    "rec_test_mean",
    "rec_test_std",
)


def mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1; 0 for one value) of the values that are not None; None, None without any."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def summary_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (env, agent) in order of first appearance; see the module docstring."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r.get("env", r["spec"]["env_id"]), r["spec"]["agent"]), []).append(r)
    rows = []
    for (env, agent), group in groups.items():
        ok = [r["result"] for r in group if r["status"] == "ok"]
        best_m, best_s = mean_std([r["best_val"] for r in ok])
        q_m, q_s = mean_std([r["queries_to_optimum"] for r in ok])
        t_m, _ = mean_std([r["time_to_optimum_s"] for r in ok])
        test_m, test_s = mean_std([r["test"] for r in ok])
        optimum = ok[0]["optimum"] if ok else None
        rows.append(
            {
                "env": env,
                "agent": agent,
                "runs": len(ok),
                "failed": len(group) - len(ok),
                "queries_mean": mean_std([r["n_queries"] for r in ok])[0],
                "best_val_mean": best_m,
                "best_val_std": best_s,
                "optimum": optimum,
                # no known optimum (supernets): None, since "0 runs reached it" would claim a miss
                "reached": None if optimum is None else sum(r["queries_to_optimum"] is not None for r in ok),
                "queries_to_opt_mean": q_m,
                "queries_to_opt_std": q_s,
                "time_to_opt_s_mean": t_m,
                "sim_time_s_mean": mean_std([r["sim_time_s"] for r in ok])[0],
                "test_mean": test_m,
                "test_std": test_s,
                "reports": ok[0].get("reports", "process") if ok else None,
                **_recommended(ok),
            }
        )
    return rows


def _recommended(ok: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean +- std of the recommended architectures' validation and test (None without any)."""
    rv_m, rv_s = mean_std([r.get("recommended_val") for r in ok])
    rt_m, rt_s = mean_std([r.get("recommended_test") for r in ok])
    return {"rec_val_mean": rv_m, "rec_val_std": rv_s, "rec_test_mean": rt_m, "rec_test_std": rt_s}


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows({k: ("" if r[k] is None else r[k]) for k in COLUMNS} for r in rows)


def plus_minus(m: float | None, s: float | None, digits: int = 2) -> str:
    """``m ± s`` to ``digits`` places, or ``-`` where there is no value."""
    return "-" if m is None else f"{m:.{digits}f} ± {s:.{digits}f}"


TIME_UNITS = (("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("µs", 1e-6))


def time_unit(seconds: Iterable[float | None]) -> tuple[str, float]:
    """The unit (name, seconds) in which the largest of ``seconds`` reads as 1 or more, hours at most:
    table searches run for simulated hours, searches on a small supernet for milliseconds."""
    top = max((abs(s) for s in seconds if s is not None and np.isfinite(s)), default=0.0)
    return next(
        ((name, size) for name, size in TIME_UNITS if top >= size), TIME_UNITS[0] if top == 0 else TIME_UNITS[-1]
    )


def known_optimum(rows_or_results: Iterable[dict[str, Any]]) -> bool:
    """Whether the benchmark knows its optimum (a table); a supernet does not."""
    return any(r.get("optimum") is not None for r in rows_or_results)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table; columns about the optimum only where it is known (tables)."""
    with_test = any(r["test_mean"] is not None for r in rows)
    with_rec = any(r.get("rec_val_mean") is not None for r in rows)
    with_opt = known_optimum(rows)
    unit, size = time_unit([r["sim_time_s_mean"] for r in rows] + [r["time_to_opt_s_mean"] for r in rows])
    head = ["env", "agent", "runs", "queries", "best val (mean ± std)"]
    head += ["reached opt", "queries to opt", f"time to opt ({unit})"] if with_opt else []
    head += [f"search time ({unit})"] + (["test (mean ± std)"] if with_test else [])
    head += ["argmax val (mean ± std)"] + (["argmax test"] if with_test else []) + ["paper reports"] if with_rec else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["env"],
            r["agent"],
            f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else ""),
            "-" if r.get("queries_mean") is None else f"{r['queries_mean']:.0f}",
            plus_minus(r["best_val_mean"], r["best_val_std"]),
        ]
        if with_opt:
            cells += [
                "-" if r["reached"] is None else f"{r['reached']}/{r['runs']}",
                plus_minus(r["queries_to_opt_mean"], r["queries_to_opt_std"], 0),
                _time(r["time_to_opt_s_mean"], size),
            ]
        cells += [_time(r["sim_time_s_mean"], size)]
        cells += [plus_minus(r["test_mean"], r["test_std"])] if with_test else []
        if with_rec:
            cells += [plus_minus(r.get("rec_val_mean"), r.get("rec_val_std"))]
            cells += [plus_minus(r.get("rec_test_mean"), r.get("rec_test_std"))] if with_test else []
            cells += [r.get("reports") or "process"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    optima = {r["optimum"] for r in rows if r["optimum"] is not None}
    if len(optima) == 1:
        lines.append(
            f"\nBest validation: seed-mean validation of the returned architecture; table optimum {optima.pop():.2f}."
        )
    elif not with_opt:
        lines.append(
            "\nOn a supernet (no known optimum): best val is the supernet's validation accuracy of the "
            "architecture a search returns; queries, the mean per search; search time, simulated (the "
            "children's multiply-accumulates at 10^12 per second, weight training included), not this "
            "machine's."
        )
    if with_rec:
        lines.append(
            "\nBest val: the best architecture the search queried (process best); argmax: the one the agent "
            "recommends (its distribution's argmax); paper reports: which of the two its paper reports."
        )
    return "\n".join(lines) + "\n"


def _time(seconds: float | None, size: float) -> str:
    """``seconds`` in the table's unit of ``size`` seconds (two significant figures below 1), ``-`` for none."""
    if seconds is None:
        return "-"
    v = seconds / size
    return f"{v:.1f}" if v >= 1 else f"{v:.2g}"


PLOTS = ("anytime.png", "pareto.png")


def summarise(
    out: str | Path, plots: bool = True, paths: Iterable[str | Path] | None = None, fork: bool = False
) -> list[dict[str, Any]]:
    """Write ``summary.csv``, ``summary.md`` (and the plots) for the runs under ``out``; the rows.

    ``paths`` (the results files :func:`~.runner.run_grid` returns) limits the summary to those
    runs, so that other runs kept in ``out`` are not mixed into it. Plots of an earlier summary
    are removed first: a plot is only there when it shows these runs. ``fork``: draw the Pareto
    plot in a forked process while this one draws the anytime plot (only where forking is safe:
    on Linux, before torch is loaded, with no other thread running).
    """
    out = Path(out)
    runs = load_runs(out, paths)
    rows = summary_rows(runs)
    write_csv(rows, out / "summary.csv")
    (out / "summary.md").write_text(markdown(rows))
    if plots:
        from .plots import plot_anytime, plot_pareto

        for name in PLOTS:
            (out / name).unlink(missing_ok=True)
        ok = [r for r in runs if r["status"] == "ok"]
        pareto = get_context("fork").Process(target=plot_pareto, args=(ok, out / "pareto.png")) if fork else None
        if pareto is not None:
            pareto.start()
        plot_anytime(ok, out / "anytime.png")
        if pareto is None:
            plot_pareto(ok, out / "pareto.png")
        else:
            pareto.join()
            if pareto.exitcode:
                raise RuntimeError(
                    f"drawing {out / 'pareto.png'} failed (exit code {pareto.exitcode}; its error is above)"
                )
    return rows
