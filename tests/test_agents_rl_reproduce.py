"""The Table 4.1 reproduction script runs end to end on a tiny grid and writes its table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reproduce_cadam_table41.py"


def load_script():
    spec = importlib.util.spec_from_file_location("reproduce_cadam_table41", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_grid_writes_the_table(tmp_path, nb201_c10, capsys):
    script = load_script()
    # the thesis's 500-query column, with one cheap agent and one seed
    args = ["--agents", "rs", "--datasets", "cifar10", "--budgets", "500", "--seeds", "1", "--workers", "1"]
    assert script.main([*args, "--out", str(tmp_path)]) == 0
    text = (tmp_path / "table41-mean.md").read_text()
    assert "| rs |" in text and "CADAM-500 (thesis)" not in text
    assert script.env_groups(["cadam", "ddpg", "rs", "ppo"]) == [
        ({"reward": "cadam"}, ["cadam"]), ({"obs": "previous"}, ["ddpg"]), ({}, ["rs", "ppo"])
    ]
    rows = {"cadam": {"best_val_mean": 91.30, "best_val_std": 0.1, "failed": 0}}
    notes = script.verdicts({("cifar10", 500): rows}, ["cifar10"], [500])
    assert notes == ["CADAM-500 cifar10: ours 91.30, thesis 91.36 ± 0.19: 0.32 thesis std away (within one std)"]
    assert "CADAM-500 (thesis) | 91.36 ± 0.19" in script.table({("cifar10", 500): rows}, ["cifar10"], [500], ["cadam"])
    capsys.readouterr()
