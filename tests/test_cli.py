"""``nas-gym compare`` and ``nas-gym demo``: argument parsing, the printed table, exit codes."""

from __future__ import annotations

import pytest

from nas_gym.cli import main, parse_agent_kwargs, parse_kwargs
from nas_gym.experiments.results import read_run, run_path


def test_kwargs_are_parsed_as_literals_where_they_parse():
    assert parse_kwargs("noise=mean,budget=100,scale=0.5,flag=True") == {
        "noise": "mean", "budget": 100, "scale": 0.5, "flag": True,
    }
    assert parse_kwargs(None) == {}
    with pytest.raises(ValueError):
        parse_kwargs("novalue")
    assert parse_agent_kwargs(["re:population=20,sample=5", "sb3:PPO:n_steps=64", "re:sample=4"]) == {
        "re": {"population": 20, "sample": 4}, "sb3:PPO": {"n_steps": 64},
    }
    with pytest.raises(ValueError):
        parse_agent_kwargs(["population=20"])


def test_compare_runs_the_grid_and_prints_the_table(tmp_path, capsys):
    args = ["compare", "--env", "NB201-Cont-v0", "--dataset", "cifar10", "--agents", "rs,re", "--seeds", "2",
            "--budget", "20", "--workers", "1", "--out", str(tmp_path), "--no-progress",
            "--agent-kwargs", "re:population=5,sample=2", "--env-kwargs", "noise=mean"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| NasGym/NB201-Cont-v0 | rs | 2 |" in text and "| re |" in text
    run = read_run(run_path(tmp_path, "re", 1))
    assert run["spec"]["agent_kwargs"] == {"population": 5, "sample": 2}
    assert run["spec"]["env_kwargs"] == {"dataset": "cifar10", "noise": "mean"}
    assert (tmp_path / "summary.md").exists() and (tmp_path / "anytime.png").exists()


def test_compare_exits_1_when_a_run_failed_and_2_on_bad_arguments(tmp_path, capsys):
    args = ["compare", "--env", "NB201-Cont-v0", "--agents", "rs,re", "--seeds", "1", "--budget", "5",
            "--workers", "1", "--out", str(tmp_path), "--no-progress", "--agent-kwargs", "re:population=0"]
    assert main(args) == 1
    assert "failed" in capsys.readouterr().err
    assert main(["compare", "--env", "NB201-Cont-v0", "--budget", "lots", "--out", str(tmp_path / "x")]) == 2
    assert main(["compare", "--env", "NB999-Cont-v0", "--out", str(tmp_path / "x")]) == 2
    assert main(["compare", "--env", "NB201-Cont-v0", "--agents", "rs,nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown agents ['nope']" in capsys.readouterr().err


def test_demo_compares_the_baselines(tmp_path, capsys):
    args = ["demo", "--seeds", "1", "--budget", "15", "--workers", "1", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for agent in ("rs", "re", "ls", "bo", "tpe"):
        assert f"| {agent} |" in out


def test_benchmarks_lists_tables_and_says_what_needs_a_path(capsys, monkeypatch):
    import json

    monkeypatch.delenv("NAS_GYM_MACRO_PATH", raising=False)
    assert main(["benchmarks"]) == 0
    out = capsys.readouterr().out
    assert "91.61" in out and "73.49" in out and "46.73" in out
    assert "needs path" in out and "NAS_GYM_MACRO_PATH" in out
    assert main(["benchmarks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {(r["name"], r["dataset"]): r for r in rows}
    assert by[("nb201", "cifar10")]["n_arch"] == 15625
    assert by[("nas-bench-graph", "proteins")]["n_arch"] == 2021
    assert by[("nas-bench-macro", "cifar10")]["status"] == "needs path"


def test_supernet_pretrain_caches_its_checkpoint(capsys):
    args = ["supernet", "pretrain", "--space", "nb201", "--data", "digits", "--size", "tiny", "--epochs", "1",
            "--batch-size", "32", "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "checkpoint:" in first and "trained 22 steps" in first and "one-shot model" in first
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "trained 0 steps" in again  # cached: nothing trains
    assert first.splitlines()[0] == again.splitlines()[0]  # the same checkpoint file


def test_supernet_pretrain_rejects_bad_input(capsys):
    assert main(["supernet", "pretrain", "--data", "svhn", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "svhn" in err and "mnist" in err
