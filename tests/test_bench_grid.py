"""The grid benchmark's arithmetic (CPU-s per 1,000 queries, the grid extrapolated to its seeds) and a real run."""

from __future__ import annotations

import pytest


def test_per_agent_figures_and_the_grid_total(load_script):
    script = load_script("bench_grid")
    cells = {"cifar10/500": [1.0, 3.0], "cifar10/1000": [4.0]}
    # 8 CPU-s over 2,000 queries; the grid runs 10 seeds of each cell: 10 * 2 + 10 * 4
    assert script.per_agent(cells, grid_seeds=10) == pytest.approx((4.0, 60.0))
    text = script.report({"old": {"a": cells}, "new": {"a": {"cifar10/500": [0.5], "cifar10/1000": [1.0]}}}, 10)
    assert "| a | 4.00 | 60.0 | 1.00 | 15.0 |" in text
    assert "old: grid total 60.0 CPU-s = 0.10 x the 600 CPU-s target" in text and "new / old: 0.250" in text


def test_a_real_measurement_prints_every_agent_and_the_total(nb201_c10, capsys, load_script):
    script = load_script("bench_grid")
    assert script.main(["--agents", "rs", "ls", "--datasets", "cifar10", "--budgets", "40", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| rs |" in out and "| ls |" in out and "| **total** |" in out
    assert "measured: grid total" in out
