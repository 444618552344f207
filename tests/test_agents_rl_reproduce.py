"""The Table 4.1 reproduction script runs end to end and its table and verdicts come from the runs."""

from __future__ import annotations

from nas_gym.experiments.results import read_run, run_path


def test_table_and_verdict_are_those_of_the_runs(tmp_path, nb201_c10, capsys, load_script):
    script = load_script("reproduce_cadam_table41")
    # the thesis's CIFAR-10 500-query cell with CADAM and random search, two seeds each
    args = ["--agents", "cadam", "rs", "--datasets", "cifar10", "--budgets", "500", "--seeds", "2", "--workers", "1"]
    assert script.main([*args, "--out", str(tmp_path)]) == 0
    text = (tmp_path / "table41-mean.md").read_text()
    folder = tmp_path / "mean" / "cifar10-500"
    runs = {a: [read_run(run_path(folder, a, s)) for s in (1, 2)] for a in ("cadam", "rs")}
    assert runs["cadam"][0]["spec"]["env_kwargs"]["reward"] == "cadam"  # the thesis's reward, per agent
    assert "reward" not in runs["rs"][0]["spec"]["env_kwargs"]
    scores = {a: [r["result"]["best_val"] for r in rs] for a, rs in runs.items()}
    for agent, (a, b) in scores.items():
        mean, std = (a + b) / 2, abs(a - b) / 2**0.5  # sample std of two values
        assert f"| {agent} | {mean:.2f} ± {std:.2f} |" in text
    assert "| CADAM-500 (thesis) | 91.36 ± 0.19 |" in text
    dist = abs(sum(scores["cadam"]) / 2 - 91.36) / 0.19
    assert f"{dist:.2f} thesis std away ({'within' if dist <= 1 else 'outside'} one std)" in text
    capsys.readouterr()


def test_the_summary_leaves_out_runs_of_other_seeds_in_the_folder(tmp_path, nb201_c10, capsys, load_script):
    script = load_script("reproduce_cadam_table41")
    args = ["--agents", "rs", "--datasets", "cifar10", "--budgets", "500", "--workers", "1", "--out", str(tmp_path)]
    assert script.main([*args, "--seeds", "3"]) == 0
    assert script.main([*args, "--seeds", "1"]) == 0  # seeds 2 and 3 stay in the folder, not in this table
    run = read_run(run_path(tmp_path / "mean" / "cifar10-500", "rs", 1))
    assert f"| rs | {run['result']['best_val']:.2f} ± 0.00 |" in (tmp_path / "table41-mean.md").read_text()
    capsys.readouterr()
