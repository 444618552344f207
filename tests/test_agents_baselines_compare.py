"""On NAS-Bench-201 CIFAR-10, 500 queries x 10 seeds: evolution, BO and TPE beat random search.

The score is the seed-mean validation of the architecture each search returns. Runs through
the comparison grid with two worker processes, which also exercises the runner end to end.
"""

from __future__ import annotations

import pytest

from nas_gym.experiments import run_grid, summarise


@pytest.mark.slow
def test_model_based_and_evolutionary_baselines_beat_random_search(tmp_path, nb201_c10):
    run_grid(
        "NB201-Cont-v0",
        ["rs", "re", "bo", "tpe", "ls"],
        10,
        500,
        tmp_path,
        workers=2,
        env_kwargs={"dataset": "cifar10"},
        progress=False,
    )
    rows = {r["agent"]: r for r in summarise(tmp_path, plots=False)}
    assert all(r["runs"] == 10 for r in rows.values())
    rs = rows["rs"]["best_val_mean"]
    table = {a: round(r["best_val_mean"], 3) for a, r in rows.items()}
    for agent in ("re", "bo", "tpe", "ls"):
        assert rows[agent]["best_val_mean"] > rs + 0.1, table
    assert max(r["best_val_mean"] for r in rows.values()) <= nb201_c10.optimum()[1] + 1e-9
