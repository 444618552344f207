"""The comparison loop: results files, resuming, failures, determinism, summary and plots."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from tiny_supernet import TINY as _TINY
from toy_tables import toy_benchmark

import nas_gym  # noqa: F401  (registers the envs)
from nas_gym.agents import Budget, SearchResult
from nas_gym.experiments import RunSpec, run_grid, run_one, summarise
from nas_gym.experiments.evaluation import incumbents, score
from nas_gym.experiments.executors import RunQueue
from nas_gym.experiments.plots import mean_band, pareto_mask
from nas_gym.experiments.results import load_runs, read_run, run_path
from nas_gym.experiments.runner import make_env, parse_budget
from nas_gym.experiments.summary import markdown, summary_rows

ENV = "NB201-Cont-v0"


@pytest.fixture(scope="module")
def grid(tmp_path_factory, nb201_c10):
    out = tmp_path_factory.mktemp("grid")
    paths = run_grid(ENV, ["rs", "re"], 2, 30, out, env_kwargs={"dataset": "cifar10"}, progress=False)
    return out, paths


def test_one_atomic_results_file_per_run_with_the_log_and_the_scored_result(grid, nb201_c10):
    out, paths = grid
    assert [p.name for p in paths] == ["rs__seed0.json", "rs__seed1.json", "re__seed0.json", "re__seed1.json"]
    assert not [p for p in (out / "runs").iterdir() if p.suffix != ".json"]  # no temporary files left
    run = read_run(paths[0])
    assert run["status"] == "ok" and run["spec"]["budget"] == "30" and run["env"] == "NasGym/NB201-Cont-v0"
    assert len(run["log"]["arch_index"]) == len(run["result"]["anytime"]) == 30
    res = run["result"]
    assert res["best_val"] == pytest.approx(nb201_c10.val_mean[res["best_index"]])
    assert res["anytime"][-1] == pytest.approx(res["best_val"])
    assert res["test"] is None  # the NB201 tables have no test metric
    assert {"params", "latency"} <= set(res["archs"])


def test_summary_files_and_rows(grid):
    out, _ = grid
    rows = summarise(out)
    assert [r["agent"] for r in rows] == ["re", "rs"]
    assert all(r["runs"] == 2 and r["failed"] == 0 for r in rows)
    runs = [read_run(run_path(out, "rs", s)) for s in (0, 1)]
    vals = [r["result"]["best_val"] for r in runs]
    rs = rows[1]
    assert rs["best_val_mean"] == pytest.approx(np.mean(vals))
    assert rs["best_val_std"] == pytest.approx(np.std(vals, ddof=1))
    with open(out / "summary.csv") as f:
        assert [r["agent"] for r in csv.DictReader(f)] == ["re", "rs"]
    assert "± " in (out / "summary.md").read_text()
    for png in ("anytime.png", "pareto.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_rerun_skips_finished_runs_and_redoes_killed_ones(grid):
    out, paths = grid
    stamps = {p: p.stat().st_mtime_ns for p in paths}
    paths[1].unlink()  # as if killed before its file was written
    (out / "runs" / ".re__seed0.json.999.tmp").write_text("{half")  # a temporary file of a killed writer
    run_grid(ENV, ["rs", "re"], 2, 30, out, env_kwargs={"dataset": "cifar10"}, progress=False)
    assert paths[1].exists()
    assert all(p.stat().st_mtime_ns == stamps[p] for p in paths if p != paths[1])
    with pytest.raises(ValueError, match="different spec"):
        run_grid(ENV, ["rs"], 1, 40, out, env_kwargs={"dataset": "cifar10"}, progress=False)


# cadam checks its env's observation mode when its search starts: a run that fails, not a bad argument
FAILING = {"cadam": {"obs": "previous"}}


def test_a_failing_run_records_its_error_and_the_others_go_on(tmp_path):
    paths = run_grid(ENV, ["rs", "cadam"], 1, 10, tmp_path, agent_env_kwargs=FAILING, progress=False)
    ok, bad = (read_run(p) for p in paths)
    assert ok["status"] == "ok"
    assert bad["status"] == "error" and "obs='topk'" in bad["error"] and "Traceback" in bad["traceback"]
    assert bad["spec"]["env_kwargs"] == {"obs": "previous"} and ok["spec"]["env_kwargs"] == {}
    rows = summarise(tmp_path, plots=False)
    assert {r["agent"]: (r["runs"], r["failed"]) for r in rows} == {"cadam": (0, 1), "rs": (1, 0)}
    # A failed run is retried on the next call (here it fails again).
    stamp = paths[1].stat().st_mtime_ns
    run_grid(ENV, ["rs", "cadam"], 1, 10, tmp_path, agent_env_kwargs=FAILING, progress=False)
    assert paths[1].stat().st_mtime_ns != stamp


def test_parallel_workers_give_the_same_runs_as_one_process(tmp_path):
    kw = dict(env_kwargs={"dataset": "cifar10"}, progress=False)
    one = run_grid(ENV, ["bo", "tpe"], [0, 1], 25, tmp_path / "one", workers=1, **kw)
    two = run_grid(ENV, ["bo", "tpe"], [0, 1], 25, tmp_path / "two", workers=2, **kw)
    for a, b in zip(one, two):
        ra, rb = read_run(a), read_run(b)
        assert ra["status"] == rb["status"] == "ok"
        assert ra["log"] == rb["log"] and ra["result"] == rb["result"]


def test_parallel_grid_with_its_summary_writes_what_summarise_writes(tmp_path):
    paths = run_grid(ENV, ["rs", "re"], 2, 20, tmp_path, workers=2, progress=False, summary=True)
    plots = {png: (tmp_path / png).read_bytes() for png in ("anytime.png", "pareto.png")}
    csv_text = (tmp_path / "summary.csv").read_text()
    assert all(png[:4] == b"\x89PNG" for png in plots.values())
    summarise(tmp_path, paths=paths)  # the same summary drawn in this one process
    assert (tmp_path / "summary.csv").read_text() == csv_text
    assert {png: (tmp_path / png).read_bytes() for png in plots} == plots


def test_a_plot_that_fails_in_its_forked_process_fails_the_summary(grid, monkeypatch):
    from nas_gym.experiments import plots

    def broken(runs, path):
        raise OSError("disk full")

    monkeypatch.setattr(plots, "plot_pareto", broken)  # the forked process inherits the patch
    with pytest.raises(RuntimeError, match="pareto.png"):
        summarise(grid[0], fork=True)


def test_run_queue_goes_seed_by_seed_slowest_agent_first():
    todo = [(RunSpec(ENV, a, s, "10"), None) for s in (0, 1, 2) for a in ("rs", "bo", "re")]
    queue = RunQueue(todo)
    first = [queue.pop()[0] for _ in range(3)]  # nothing measured yet: grid order
    assert [(sp.agent, sp.seed) for sp in first] == [("rs", 0), ("bo", 0), ("re", 0)]
    for agent, seconds in (("rs", 0.01), ("bo", 2.0), ("re", 0.1)):
        queue.record(agent, seconds)
    rest = [queue.pop()[0] for _ in range(len(queue))]
    assert [(sp.agent, sp.seed) for sp in rest] == [("bo", 1), ("re", 1), ("rs", 1), ("bo", 2), ("re", 2), ("rs", 2)]


def test_a_seconds_budget_and_the_cont_episode_length(tmp_path):
    (path,) = run_grid(ENV, ["rs"], 1, "20000s", tmp_path, progress=False)
    cost = read_run(path)["log"]["cost_s"]
    assert sum(cost) >= 20000 > sum(cost[:-1])
    assert parse_budget("500+3600s") == Budget(500, 3600.0) == Budget.parse(" 3600s + 500 ")
    assert Budget.parse("2ep+30") == Budget(queries=30, epochs=2.0)  # whichever runs out first
    agent = nas_gym.agents.make("rs")
    env = make_env(RunSpec(ENV, "rs", 0, "700"), agent)
    assert env.unwrapped.budget == 700  # a whole search is one episode
    env = make_env(RunSpec(ENV, "rs", 0, "700", env_kwargs={"budget": 50}), agent)
    assert env.unwrapped.budget == 50


def test_an_agent_gets_the_same_benchmarks_env_of_a_family_it_drives():
    class SeqOnly:
        name, families = "seq-only", ("Seq",)

    env = make_env(RunSpec(ENV, "seq-only", 0, "10"), SeqOnly())
    assert env.spec.id == "NasGym/NB201-Seq-v0"


def test_run_one_scores_the_test_metric_after_the_search_where_the_table_has_one():
    bench = toy_benchmark()
    run = run_one(RunSpec(ENV, "rs", 0, "10", env_kwargs={"benchmark": bench}))
    assert run["status"] == "ok"
    assert run["result"]["test"] == pytest.approx(bench.evaluate(run["result"]["best_index"]))


def test_incumbents_follow_the_best_observed_mean_and_end_at_the_returned_architecture():
    idx = np.array([5, 3, 5, 7, 3])
    val = np.array([90.0, 89.0, 80.0, 86.0, 95.0])
    # 5 leads; its mean falls to 85 (3 at 89 leads); 7 at 86 does not; 3's mean becomes 92
    assert incumbents(idx, val).tolist() == [5, 5, 3, 3, 3]
    log = type("Log", (), {"arch_index": idx, "val": val, "cost_s": np.ones(5)})
    assert SearchResult.from_log("x", 0, log).best_index == 3


class WithOptimum:
    """A benchmark whose optimum is said to be ``index`` (the real NB201 optimum has no twin)."""

    def __init__(self, bench, index: int) -> None:
        self._bench, self._index = bench, index

    def __getattr__(self, name):
        return getattr(self._bench, name)

    def optimum(self) -> tuple[int, float]:
        return self._index, float(self._bench.val_mean[self._index])


def test_queries_and_time_to_the_optimum_count_its_isomorphism_class(nb201_c10):
    space = nb201_c10.space
    twin = next(i for i in range(space.size) if space.canonical_index(i) != i)
    target = space.canonical_index(twin)
    bench = WithOptimum(nb201_c10, target)
    idx = np.array([target + 1, twin, target])
    result = SearchResult("x", 0, idx, nb201_c10.val_mean[idx], np.array([10.0, 20.0, 30.0]), target, 0.0)
    s = score(result, bench)
    assert s["queries_to_optimum"] == 2 and s["time_to_optimum_s"] == 30.0
    assert s["optimum"] == pytest.approx(nb201_c10.val_mean[target])
    never = score(SearchResult("x", 0, idx[:1], idx[:1] * 0.0, np.ones(1), int(idx[0]), 0.0), bench)
    assert never["queries_to_optimum"] is None and never["time_to_optimum_s"] is None


def _md_rows(text: str) -> dict[str, dict[str, str]]:
    """A summary.md table as {agent: {column: cell}}."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|") and not ln.startswith("|---")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return {row[1]: dict(zip(cells[0], row)) for row in cells[1:]}


def test_tables_count_who_reached_the_optimum_and_every_agents_queries(grid):
    rs = _md_rows(markdown(summary_rows(load_runs(grid[0]))))["rs"]
    assert rs["reached opt"].endswith("/2") and rs["queries"] == "30"  # NAS-Bench-201 knows its optimum
    sim_h = np.mean([read_run(run_path(grid[0], "rs", s))["result"]["sim_time_s"] for s in (0, 1)]) / 3600
    assert float(rs["search time (h)"]) == pytest.approx(sim_h, abs=0.051)  # hundreds of simulated hours


# batch 32: the one-shot tests' cached pretraining (test_supernet_backend wants batch 64 uncached)
TINY = {**_TINY, "n_val": 100, "recal_batches": 1}


@pytest.fixture(scope="module")
def supernet_grid(tmp_path_factory):
    """rs (6 queries) and a one-shot agent (3 queries, 2 weight steps each, until 0.2 epochs) on a tiny supernet."""
    out = tmp_path_factory.mktemp("supernet-grid")
    run_grid(
        "NB201Supernet-Cont-v0",
        ["rsps", "rs"],
        2,
        "0.2ep+6",
        out,
        env_kwargs=TINY,
        progress=False,
        agent_kwargs={"rsps": {"steps_per_query": 2}},
    )
    return out


def test_supernet_summaries_drop_the_optimum_and_show_queries_and_time_in_readable_units(supernet_grid):
    rows = summarise(supernet_grid, plots=False)
    assert all(r["optimum"] is None and r["reached"] is None for r in rows)
    table = _md_rows((supernet_grid / "summary.md").read_text())
    rs, rsps = table["rs"], table["rsps"]
    assert not [c for c in rs if "opt" in c]  # no optimum: no columns about reaching it
    assert rs["queries"] == "6" and int(rsps["queries"]) < 6  # one-shot: a query per round of weight training
    (col,) = [c for c in rs if c.startswith("search time")]
    unit = col[len("search time (") : -1]
    size = {"h": 3600.0, "min": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6}[unit]
    by_agent = {r["agent"]: r["sim_time_s_mean"] for r in rows}
    assert unit != "h" and max(by_agent.values()) / size >= 1.0  # not 3e-7 hours
    assert float(rs[col]) == pytest.approx(by_agent["rs"] / size, rel=0.05)
    assert "On a supernet" in (supernet_grid / "summary.md").read_text()
    with open(supernet_grid / "summary.csv") as f:
        assert {r["agent"]: r["reached"] for r in csv.DictReader(f)} == {"rsps": "", "rs": ""}


def test_supernet_plots_draw_each_seed_keep_wall_clock_out_and_count_queries(supernet_grid, tmp_path):
    from nas_gym.experiments.plots import plot_anytime, plot_pareto

    runs = [r for r in load_runs(supernet_grid) if r["status"] == "ok"]
    assert all("wall_s" not in r["result"]["archs"] for r in runs)  # timing noise is no objective
    fig = plot_anytime(runs, tmp_path / "a.png")
    by_q, by_t = fig.axes
    labelled = {ln.get_label() for ln in by_q.lines if not ln.get_label().startswith("_")}
    q = {a: len(next(r for r in runs if r["spec"]["agent"] == a)["result"]["anytime"]) for a in ("rs", "rsps")}
    assert labelled == {f"rs (2 seeds, {q['rs']} queries)", f"rsps (2 seeds, {q['rsps']} queries)"}
    assert len(by_q.lines) == len(by_t.lines) == 4 and not by_q.collections  # a line per seed, no 95% band
    assert by_t.get_xlabel() != "simulated time (h)" and "seed mean" not in by_q.get_ylabel()
    pareto = plot_pareto(runs, tmp_path / "p.png")
    assert sorted(ax.get_xlabel().split()[0] for ax in pareto.axes) == ["flops", "params"]


def test_supernet_runs_in_spawned_workers_load_the_cached_checkpoint_and_match_one_process(supernet_grid, tmp_path):
    from nas_gym.experiments.executors import worker_start_method

    assert worker_start_method() == "spawn"  # torch is loaded here: a fork would break its thread pool
    folder = Path(os.environ["NAS_GYM_CACHE"]) / "supernets"
    stamp = lambda: {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.pt")}  # noqa: E731
    before = stamp()
    paths = run_grid(
        "NB201Supernet-Cont-v0", ["rs"], 2, "0.2ep+6", tmp_path, env_kwargs=TINY, workers=2, progress=False
    )
    assert stamp() == before  # no worker pretrained again or rewrote the checkpoint
    for p in paths:
        mine, one_process = read_run(p), read_run(supernet_grid / "runs" / p.name)
        assert mine["status"] == "ok", mine.get("error")
        assert mine["log"] == one_process["log"]  # the same frozen weights, the same queries, the same numbers


def test_five_seeds_or_more_get_the_mean_and_its_interval(tmp_path):
    from nas_gym.experiments.plots import plot_anytime

    paths = run_grid(ENV, ["rs"], 5, 10, tmp_path, progress=False)
    fig = plot_anytime(load_runs(tmp_path, paths), tmp_path / "a.png")
    by_q = fig.axes[0]
    assert [ln.get_label() for ln in by_q.lines if ln.get_label() != "optimum"] == ["rs (5 seeds, 10 queries)"]
    assert len(by_q.collections) == 1 and "95%" in fig.get_suptitle()


def test_pareto_mask_keeps_the_points_nothing_beats_in_both():
    val = np.array([90.0, 80.0, 85.0, 91.0, np.nan])
    cost = np.array([5.0, 1.0, 6.0, 9.0, 0.0])
    assert pareto_mask(val, cost).tolist() == [True, True, False, True, False]


def test_mean_band_ignores_missing_values_and_is_a_t_interval():
    curves = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    mean, lo, hi = mean_band(curves)
    assert mean.tolist() == [2.0, 3.0, 5.0]
    assert hi[0] - mean[0] == pytest.approx(12.706 * np.sqrt(2.0) / np.sqrt(2), rel=1e-3)
    assert lo[2] == hi[2] == 5.0


def test_results_files_are_strict_json(grid):
    out, paths = grid
    text = paths[0].read_text()
    assert "NaN" not in text and json.loads(text)
    assert os.path.basename(run_path(out, "sb3:PPO", 3)) == "sb3-PPO__seed3.json"
